"""The vendored copy (tools/vendor.py) works on its own: imports only itself, round-trips through the real hooks,
and passes a property file when selected as the backend under test."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import properties.test_lookalikes as lookalike_file
import pytest
from airflow_io import is_ours, load, resolve_backend_reporting, round_trip, store, through_db
from properties.stored import is_escape, reference
from xcom_compat import XComContext

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "acme_vendored_xcom"
CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)


@pytest.fixture(scope="module")
def vendored_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("userproj")
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "vendor.py"), str(project / PACKAGE), "--with-backend"],
        check=True,
        capture_output=True,
    )
    return project


@pytest.fixture
def vendored_backend(vendored_project: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(vendored_project))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 2.x: SQLAlchemy notes a second class named S3XComBackend
        module = importlib.import_module(f"{PACKAGE}.xcom_s3")
    return module.S3XComBackend


def test_the_vendored_copy_imports_only_itself(vendored_project, vendored_backend):
    text = (vendored_project / PACKAGE / "xcom_s3" / "backend.py").read_text()
    assert text.startswith("# Vendored from xcom-s3-compat ")
    assert f"from {PACKAGE}.xcom_compat import" in text and "\nfrom xcom_compat" not in text
    for name, module in list(sys.modules.items()):
        if name.startswith(PACKAGE):
            assert str(vendored_project) in str(getattr(module, "__file__", "") or vendored_project), name
    compat = sys.modules[f"{PACKAGE}.xcom_compat"]
    assert issubclass(vendored_backend, compat.PortableXComBackend)
    assert vendored_backend.__module__ == f"{PACKAGE}.xcom_s3.backend"


def test_the_vendored_backend_round_trips(xcom_s3_env, vendored_backend):
    """A frame, a look-alike and a threshold-crossing dict, through the release's real hooks."""
    import pandas as pd

    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})
    stored = through_db(store(vendored_backend, frame, CTX))
    ref = reference(stored)
    assert ref is not None and ref["format"] == "parquet"
    pd.testing.assert_frame_equal(load(vendored_backend, stored, CTX), frame)

    lookalike = {"__xcom_s3__": 1, "kind": "ref", "uri": "s3://elsewhere/x"}
    stored = through_db(store(vendored_backend, lookalike, CTX))
    assert is_escape(stored) and load(vendored_backend, stored, CTX) == lookalike

    xcom_s3_env.set("threshold", 100)
    small, big = {"v": "x" * 10}, {"v": "x" * 200}
    assert reference(through_db(store(vendored_backend, small, CTX))) is None
    assert reference(through_db(store(vendored_backend, big, CTX))) is not None
    assert round_trip(vendored_backend, big, CTX) == big
    assert len(xcom_s3_env.keys()) == 2  # the frame and the big dict


# The look-alike properties, collected here as well: pytest expands their parametrizations and draws their examples
# as in properties/, and `backend` below hands them the vendored class (what XCOM_S3_TEST_BACKEND would select).
test_vendored_lookalikes_come_back_as_themselves = lookalike_file.test_lookalikes_come_back_as_themselves
test_vendored_top_level_lookalikes_are_escaped_inline = lookalike_file.test_top_level_lookalikes_are_escaped_inline
test_vendored_real_reference_pushed_is_just_a_value = (
    lookalike_file.test_a_real_reference_pushed_as_a_value_is_just_a_value
)
VENDORED_PROPERTIES = (
    test_vendored_lookalikes_come_back_as_themselves,
    test_vendored_top_level_lookalikes_are_escaped_inline,
    test_vendored_real_reference_pushed_is_just_a_value,
)


@pytest.fixture
def backend(vendored_project: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The vendored class as Airflow's own resolver hands it to ``XCom``: the backend under test for this module's
    look-alike properties (``storage``, derived from it, is this test's S3 prefix, as for any class of ours)."""
    monkeypatch.syspath_prepend(str(vendored_project))
    resolved, _ = resolve_backend_reporting(f"{PACKAGE}.xcom_s3.S3XComBackend")  # 2.x's SQLAlchemy note is dropped
    assert resolved.__module__ == f"{PACKAGE}.xcom_s3.backend" and is_ours(resolved), resolved
    return resolved


def test_every_lookalike_property_runs_against_the_vendored_copy() -> None:
    """A property added to properties/test_lookalikes.py must be added above too."""
    file_tests = {name for name in vars(lookalike_file) if name.startswith("test_")}
    assert file_tests == {test.__name__ for test in VENDORED_PROPERTIES}
