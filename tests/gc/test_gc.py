"""`xcom-s3 gc`: unreferenced objects older than the cut-off go; referenced and young ones stay."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import airflow_io
import pytest
from xcom_compat import XComContext


def _ctx(task_id: str) -> XComContext:
    return XComContext(key="return_value", task_id=task_id, dag_id="gc_dag", run_id="manual__1", map_index=-1)


def _offload(backend: Any, task_id: str) -> Any:
    """Push a value big enough to go to S3; return what the DB would hold for it."""
    return airflow_io.through_db(airflow_io.store(backend, {"rows": list(range(64))}, _ctx(task_id)))


@pytest.fixture
def backend(xcom_s3_env: Any) -> Any:
    from xcom_s3 import S3XComBackend

    xcom_s3_env.set("threshold", 64)
    return S3XComBackend


def _settings() -> Any:
    from xcom_s3.settings import Settings

    return Settings.from_airflow()


def _as_db_column(stored: Any) -> Any:
    """What a raw ``SELECT value FROM xcom`` returns: bytes (2.x), JSON text (3.x SQLite) or a dict (3.x Postgres)."""
    return stored if isinstance(stored, bytes) else json.dumps(stored)


def test_orphans_are_deleted_and_referenced_objects_kept(backend: Any, xcom_s3_env: Any) -> None:
    from xcom_s3 import gc

    kept, orphaned = _offload(backend, "kept"), _offload(backend, "orphaned")
    inline_row = airflow_io.through_db(airflow_io.store(backend, 1, _ctx("small")))
    assert len(xcom_s3_env.keys()) == 2
    rows = [_as_db_column(kept), _as_db_column(inline_row)]  # the orphan's row was removed by e.g. db clean
    later = datetime.now(timezone.utc) + timedelta(days=8)

    dry = gc.collect(_settings(), rows, older_than=timedelta(days=7), dry_run=True, now=later)
    assert (dry.scanned, dry.referenced, dry.deleted) == (2, 1, 0)
    assert [k.split("/")[-3] for k in dry.orphans] == ["orphaned"]
    assert len(xcom_s3_env.keys()) == 2, "a dry run deletes nothing"

    done = gc.collect(_settings(), rows, older_than=timedelta(days=7), dry_run=False, now=later)
    assert done.deleted == 1
    remaining = xcom_s3_env.keys()
    assert [k.split("/")[-3] for k in remaining] == ["kept"]
    assert airflow_io.load(backend, kept) == {"rows": list(range(64))}
    del orphaned


def test_young_objects_are_never_taken(backend: Any, xcom_s3_env: Any) -> None:
    from xcom_s3 import gc

    _offload(backend, "just_written")
    report = gc.collect(_settings(), [], older_than=timedelta(hours=1), dry_run=False)
    assert (report.too_young, report.deleted) == (1, 0)
    assert len(xcom_s3_env.keys()) == 1


def test_references_are_read_from_every_column_type(backend: Any) -> None:
    from xcom_s3 import gc

    stored = _offload(backend, "t")
    ref = stored if isinstance(stored, dict) else json.loads(stored)
    key = ref["uri"].split("/", 3)[3]
    bucket = _settings().bucket
    for column in (json.dumps(ref).encode(), json.dumps(ref), ref):
        assert gc.referenced_keys([column], bucket) == {key}
    other_bucket = dict(ref, uri=ref["uri"].replace(f"s3://{bucket}/", "s3://elsewhere/"))
    escaped = {"__xcom_s3__": 1, "kind": "escaped", "value": ref["uri"]}
    assert gc.referenced_keys([other_bucket, escaped, b"\x80pickle", "not json", None, 3], bucket) == set()


@pytest.mark.parametrize(
    ("text", "expected"), [("7d", timedelta(days=7)), ("12h", timedelta(hours=12)), ("90", timedelta(seconds=90))]
)
def test_ages_parse(text: str, expected: timedelta) -> None:
    from xcom_s3.gc import parse_age

    assert parse_age(text) == expected


def test_cli_rejects_a_bad_age_and_explains_itself(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    """A bad age exits 2 naming the option and an example; ``--help`` exits 0 listing the options.

    ``--help`` runs as the real command in a process of its own (``python -m xcom_s3`` runs at all, its exit status);
    the bad age in this process, through the package's own ``__main__`` (``sys.exit(main())``), which a process
    would only add an Airflow import to (the command imports Airflow before it reads ``--older-than``)."""
    monkeypatch.setattr(sys, "argv", ["python -m xcom_s3", "gc", "--older-than", "soon"])
    with pytest.raises(SystemExit) as bad:
        runpy.run_module("xcom_s3", run_name="__main__")
    assert bad.value.code == 2
    stderr = capsys.readouterr().err
    assert "--older-than" in stderr and "7d" in stderr
    shown = subprocess.run(
        [sys.executable, "-m", "xcom_s3", "gc", "--help"], capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == 0 and "--dry-run" in shown.stdout and "--older-than" in shown.stdout
