"""The harness's own report code (tools/matrix/), tested with fabricated results: stdlib and pytest only.

These checks never touch the backend: for another backend than ours they say so ("n/a", tests/conftest.py's
OURS_GROUPS). tools/ is imported from the repo root, which `python -m pytest` run from there puts on the path
already and a bare `pytest` does not.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    # Appended: a site-packages ``tools`` namespace (cron-descriptor ships one) loses to our regular package.
    sys.path.append(_ROOT)
