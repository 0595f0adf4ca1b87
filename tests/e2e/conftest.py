"""Make the e2e fixtures visible to the tests here (they live in e2e_fixtures.py, importable by name: this folder
is on sys.path by pyproject's pytest `pythonpath`)."""

from __future__ import annotations

from e2e_fixtures import e2e_main, e2e_reads, e2e_rerun, e2e_scenario, e2e_unreachable, postgres  # noqa: F401
