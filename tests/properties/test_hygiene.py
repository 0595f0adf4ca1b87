"""(7) What hand-written backends get wrong besides the values (any backend): files left on the worker's disk
after a push and a pull, and the warnings Airflow itself emits about the backend."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import findings
import pandas as pd
import pytest
from airflow_io import IS_3X, backend_warnings, is_ours, load, store, through_db
from findings import describe
from xcom_compat import XComContext

from properties.stored import attempt

CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="manual__2024-01-01T00:00:00+00:00", map_index=-1)
#: A frame of a few dtypes and a ~200 KB JSON value: what a blog-post backend writes through a temp file.
FRAME = pd.DataFrame({"i": [1, 2, 3], "f": [0.5, 1.5, None], "s": ["a", "b", "c"]})
LARGE = {"rows": [{"n": i, "text": "x" * 190} for i in range(1000)]}


def _push_and_pull(backend, value, ctx):
    return load(backend, through_db(store(backend, value, ctx)), ctx)


def _left(directory: Path) -> list[str]:
    """What is in ``directory`` now (it started empty): top-level names, directories marked with a slash."""
    return sorted(p.name + ("/" if p.is_dir() else "") for p in directory.iterdir())


def _listed(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def test_push_and_pull_leave_no_files(backend, xcom_s3_env, tmp_path, monkeypatch):
    """Any backend: a push and a pull of a DataFrame and of a large dict leave nothing in the working directory
    or the temp dir (a worker runs thousands of tasks: whatever a push leaves, fills its disk)."""
    cwd, temp = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    temp.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    errors: list[BaseException] = []
    for i, value in enumerate((FRAME, LARGE)):
        ctx = XComContext(key=f"v{i}", task_id=CTX.task_id, dag_id=CTX.dag_id, run_id=CTX.run_id, map_index=-1)
        outcome = attempt(_push_and_pull, backend, value, ctx)
        if outcome.error is not None:
            errors.append(outcome.error)
    litter = [
        f"the backend left {len(names)} files in the {where}: {_listed(names)}"
        for names, where in ((_left(cwd), "working directory"), (_left(temp), "temp dir"))
        if names
    ]
    assert not litter, "; ".join(litter)
    if len(errors) == 2:
        pytest.skip(f"not reached: every push and pull raises {describe(errors[0])}")


def test_airflow_does_not_warn_about_the_backend(backend, resolution_warnings, xcom_s3_env):
    """Any backend: the warnings Airflow emits about the backend when it resolves it and at a push and a pull
    (2.x: the outdated-serializer shim; 3.x: deprecations raised from the backend's module) are findings
    (warnings: the check passes); ours must cause none."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        attempt(_push_and_pull, backend, {"a": 1}, CTX)
    about = backend_warnings(backend, [*resolution_warnings, *caught])
    seen: set[str] = set()
    for warning in about:
        text = f"{warning.category.__name__}: {warning.message}"
        if text in seen:
            continue
        seen.add(text)
        cause, _, _ = findings.classify(text)
        where = "Airflow 3" if IS_3X else "Airflow 2"
        findings.note(cause, f"{where} warns: {' '.join(text.split())}", example=f"{warning.filename}:{warning.lineno}")
    if is_ours(backend):
        assert not seen, f"Airflow warns about xcom_s3: {sorted(seen)}"
