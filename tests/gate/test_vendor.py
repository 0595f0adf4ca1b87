"""The vendored copy (tools/vendor.py) works on its own: imports only itself, round-trips through the real hooks,
and passes a property file when selected as the backend under test."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import properties.test_lookalikes as lookalike_file  # the module, never its tests: they would be collected here
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


def _parametrizations(test: Any) -> list[tuple[str, dict[str, Any]]]:
    """Each parametrization of ``test`` as pytest would run it (its ``parametrize`` marks crossed): id, arguments."""
    combos: list[tuple[str, dict[str, Any]]] = [("", {})]
    for mark in getattr(test, "pytestmark", []):
        if mark.name != "parametrize":
            continue
        names = mark.args[0].split(",") if isinstance(mark.args[0], str) else list(mark.args[0])
        names = [name.strip() for name in names]
        rows = [row.values if type(row).__name__ == "ParameterSet" else row for row in mark.args[1]]  # pytest.param
        rows = [tuple(row) if len(names) > 1 else (row,) for row in rows]
        given_ids = mark.kwargs.get("ids")
        ids = list(given_ids) if isinstance(given_ids, (list, tuple)) else [str(n) for n in range(len(rows))]
        combos = [
            ("-".join(filter(None, [combo_id, str(ids[n])])), {**args, **dict(zip(names, row, strict=True))})
            for combo_id, args in combos
            for n, row in enumerate(rows)
        ]
    return combos


def _property_cases() -> list[Any]:
    """Every test of tests/properties/test_lookalikes.py, once per parametrization: what a pytest run of that file
    runs."""
    return [
        pytest.param(test, args, id="-".join(filter(None, [name.removeprefix("test_"), suffix])))
        for name, test in vars(lookalike_file).items()
        if name.startswith("test_") and callable(test)
        for suffix, args in _parametrizations(test)
    ]


@pytest.fixture
def resolved_vendored(vendored_project: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The vendored class as Airflow's own resolver hands it to ``XCom`` (what XCOM_S3_TEST_BACKEND selects)."""
    monkeypatch.syspath_prepend(str(vendored_project))
    backend, _ = resolve_backend_reporting(f"{PACKAGE}.xcom_s3.S3XComBackend")  # 2.x's SQLAlchemy note is dropped
    assert backend.__module__ == f"{PACKAGE}.xcom_s3.backend" and is_ours(backend), backend
    return backend


@pytest.mark.parametrize(("test", "args"), _property_cases())
def test_a_property_file_passes_against_the_vendored_backend(
    resolved_vendored: Any, xcom_s3_env: Any, test: Any, args: dict[str, Any]
) -> None:
    """The look-alike properties against the vendored class, in this process: each test of the file is called
    with the fixtures pytest would give it with the vendored class selected (``storage``: this test's S3 prefix,
    as for any backend that is ours or derives from it)."""
    fixtures = {"backend": resolved_vendored, "xcom_s3_env": xcom_s3_env, "storage": xcom_s3_env}
    wanted = [name for name in inspect.signature(test).parameters if name not in args]
    assert set(wanted) <= set(fixtures), f"{test.__name__} asks for fixtures this test does not provide: {wanted}"
    test(**{name: fixtures[name] for name in wanted}, **args)
