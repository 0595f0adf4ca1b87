"""The harness's own report code (tools/matrix/), tested with fabricated results: stdlib and pytest only.

These checks never touch the backend, so for another backend than ours they say so ("n/a") instead of
adding a green column to its table. tools/ is imported from the repo root, which `python -m pytest` run
from there puts on the path already and a bare `pytest` does not.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    # Appended: a site-packages ``tools`` namespace (cron-descriptor ships one) loses to our regular package.
    sys.path.append(_ROOT)

_OURS = "xcom_s3.S3XComBackend"


@pytest.fixture(autouse=True)
def _harness_only_for_ours(request: pytest.FixtureRequest) -> None:
    selected = request.config.getoption("--backend", default=None) or os.environ.get("XCOM_S3_TEST_BACKEND")
    if selected and selected != _OURS:
        pytest.skip("n/a: tests the harness's report code, not the selected backend")
