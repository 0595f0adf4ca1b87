"""The harness's own report code (tools/matrix/), tested with fabricated results: stdlib and pytest only.

These checks never touch the backend: for another backend than ours they say so ("n/a", tests/conftest.py's
OURS_GROUPS). tools/ is importable because tests/conftest.py appends the repo root to the path.
"""
