"""The vendored copy (tools/vendor.py) works on its own: imports only itself, round-trips through the real hooks,
and passes a property file when selected as the backend under test."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from airflow_io import load, round_trip, store, through_db
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
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})
    stored = through_db(store(vendored_backend, frame, CTX))
    assert reference(stored) is not None and reference(stored)["format"] == "parquet"
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


def test_a_property_file_passes_against_the_vendored_backend(vendored_project):
    """The look-alike properties, with XCOM_S3_TEST_BACKEND naming the vendored class (resolved by Airflow)."""
    env = dict(os.environ)
    env["XCOM_S3_TEST_BACKEND"] = f"{PACKAGE}.xcom_s3.S3XComBackend"
    env["PYTHONPATH"] = os.pathsep.join([str(vendored_project), str(ROOT / "compat"), str(ROOT / "backend")])
    env["HYPOTHESIS_PROFILE"] = "dev"
    env["XCOM_S3_HYPOTHESIS_DB"] = str(vendored_project / "hypothesis")
    env.pop("XCOM_S3_FINDINGS_FILE", None)  # this session's findings file is the outer run's, not this one's
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/properties/test_lookalikes.py", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert f"xcom backend={PACKAGE}.xcom_s3.S3XComBackend" in proc.stdout
