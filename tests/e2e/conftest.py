"""Make the e2e fixtures visible to the tests here (they live in e2e_fixtures.py, an importable name)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from e2e_fixtures import e2e_main, e2e_reads, e2e_rerun, e2e_scenario, e2e_unreachable, postgres  # noqa: F401
