"""``python -m xcom_s3 gc`` as an operator runs it: every failure is our message (bucket, key, setting, what to do)
with a non-zero exit, never a traceback; throttling is retried like the backend's own requests.

S3's refusals come from s3_answers.S3Answers, a proxy in front of moto that answers chosen requests with S3's own
error bodies (moto never refuses). The command runs in this process through the package's ``__main__``, reading
this session's own metadata DB (a throwaway SQLite file under the session's AIRFLOW_HOME that no other test
uses), given the XCom tables of a release's layout for the test; only what needs a fresh Airflow import runs as a
process.
"""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import airflow_io
import pytest
from s3_answers import S3Answers
from xcom_compat import XComContext
from xcom_layouts import LAYOUTS, add_value, create

DB_SETTING = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"


@dataclass
class Ran:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """``cli(*args)``: run ``python -m xcom_s3 <args>`` in this process; its exit status and output."""

    def run(*args: str) -> Ran:
        monkeypatch.setattr(sys, "argv", ["python -m xcom_s3", *args])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            runpy.run_module("xcom_s3", run_name="__main__")
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return Ran(int(exited.value.code or 0), out, err)

    return run


@pytest.fixture
def metadata_db(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The XCom tables of a layout (xcom_layouts; indirect parameter, default ``up-to-3.3``) in this session's
    Airflow metadata DB for the test (dropped after); ``add(stored)`` writes a row holding a stored value the way
    the release's column holds it."""
    from airflow import settings
    from sqlalchemy import text

    if settings.engine.dialect.name != "sqlite":
        pytest.skip(f"n/a: the session's own metadata DB is {settings.engine.dialect.name}, not a scratch SQLite file")
    layout = getattr(request, "param", "up-to-3.3")
    with settings.engine.begin() as conn:
        create(conn, LAYOUTS[layout])

    def add(stored: Any) -> None:
        with settings.engine.begin() as conn:
            add_value(conn, layout, stored if isinstance(stored, bytes) else json.dumps(stored))

    yield add
    with settings.engine.begin() as conn:
        for table in LAYOUTS[layout]:
            conn.execute(text(f"DROP TABLE {table}"))


@pytest.fixture
def answers(xcom_s3_env: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Answers]:
    """gc pointed at the proxy; the retry backoff shortened (what is retried is checked, not how long it waits)."""
    from xcom_s3 import retry

    monkeypatch.setattr(retry, "THROTTLE_BASE", 0.01)
    with S3Answers(xcom_s3_env.endpoint.endpoint_url) as proxy:
        yield proxy


@dataclass
class Bucket:
    """What the DB references and what it does not, under the test's prefix."""

    kept: str
    orphans: list[str]


@pytest.fixture
def bucket(xcom_s3_env: Any, metadata_db: Any, answers: S3Answers) -> Bucket:
    """One referenced object (its row in the DB) and two orphans; gc then talks to S3 through the proxy."""
    from xcom_s3 import S3XComBackend

    xcom_s3_env.set("threshold", 64)
    keys = {}
    for task_id in ("kept", "orphan_a", "orphan_b"):
        ctx = XComContext(key="return_value", task_id=task_id, dag_id="gc_cli", run_id="r", map_index=-1)
        stored = airflow_io.through_db(airflow_io.store(S3XComBackend, {"rows": list(range(64))}, ctx))
        keys[task_id] = (stored if isinstance(stored, dict) else json.loads(stored))["uri"].split("/", 3)[3]
        if task_id == "kept":
            metadata_db(stored)
    xcom_s3_env.set("endpoint_url", answers.endpoint_url)
    return Bucket(keys["kept"], sorted([keys["orphan_a"], keys["orphan_b"]]))


def _s3(xcom_s3_env: Any, key: str) -> str:
    return f"s3://{xcom_s3_env.endpoint.bucket}/{key}"


@pytest.mark.parametrize("metadata_db", sorted(LAYOUTS), indirect=True)
def test_referenced_objects_are_kept_and_orphans_deleted(cli: Any, bucket: Bucket, xcom_s3_env: Any) -> None:
    """Whichever tables the release keeps XComs in (3.4: xcom_v1 and xcom_v2, no ``xcom``)."""
    ran = cli("gc", "--older-than", "0s")
    assert ran.code == 0, ran
    deleted = sorted(line for line in ran.out.splitlines() if line.startswith("deleted "))  # 2.x logs to stdout too
    assert deleted == [f"deleted {_s3(xcom_s3_env, key)}" for key in bucket.orphans]
    assert "1 referenced" in ran.out and "deleted 2, 0 failed" in ran.out
    assert xcom_s3_env.keys() == [bucket.kept]


def test_a_key_s3_declines_to_delete_is_reported_and_fails_the_run(
    cli: Any, bucket: Bucket, answers: S3Answers, xcom_s3_env: Any
) -> None:
    declined, deleted = bucket.orphans
    answers.decline(declined)
    ran = cli("gc", "--older-than", "0s")
    assert ran.code == 1, ran
    assert f"deleted {_s3(xcom_s3_env, deleted)}" in ran.out.splitlines()
    assert _s3(xcom_s3_env, declined) not in ran.out
    assert f"could not delete {_s3(xcom_s3_env, declined)}: AccessDenied: Access Denied" in ran.err
    assert "deleted 1, 1 failed" in ran.out
    assert "declined to delete 1 of 2" in ran.err and "s3:DeleteObject" in ran.err
    assert sorted(xcom_s3_env.keys()) == sorted([bucket.kept, declined])


def test_a_denied_delete_request_names_the_permission(
    cli: Any, bucket: Bucket, answers: S3Answers, xcom_s3_env: Any
) -> None:
    answers.refuse("POST", "delete", 403, "AccessDenied", "Access Denied", times=None)
    ran = cli("gc", "--older-than", "0s")
    assert ran.code == 1, ran
    assert ran.err.startswith("error: Cannot delete objects under ")
    bucket_name, prefix = xcom_s3_env.endpoint.bucket, xcom_s3_env.prefix
    assert f"s3:DeleteObject on arn:aws:s3:::{bucket_name}/{prefix}/*" in ran.err
    assert len(xcom_s3_env.keys()) == 3


def test_a_denied_listing_names_the_permission(cli: Any, bucket: Bucket, answers: S3Answers, xcom_s3_env: Any) -> None:
    answers.refuse("GET", "list-type=2", 403, "AccessDenied", "Access Denied", times=None)
    ran = cli("gc", "--older-than", "0s", "--dry-run")
    assert ran.code == 1, ran
    bucket_name, prefix = xcom_s3_env.endpoint.bucket, xcom_s3_env.prefix
    assert ran.err.startswith(f"error: Cannot list s3://{bucket_name}/{prefix}/ ")
    grant = f"Grant the credentials gc runs with s3:ListBucket on arn:aws:s3:::{bucket_name}"
    assert f"access denied (AccessDenied). {grant}" in ran.err
    assert len(xcom_s3_env.keys()) == 3


def test_a_throttled_listing_is_retried(cli: Any, bucket: Bucket, answers: S3Answers, xcom_s3_env: Any) -> None:
    answers.refuse("GET", "list-type=2", 503, "SlowDown", "Please reduce your request rate.", times=1)
    ran = cli("gc", "--older-than", "0s")
    assert ran.code == 0, ran
    lists = [what for method, path, what in answers.seen if method == "GET" and "list-type=2" in path]
    assert lists == ["refused SlowDown", "passed"]
    assert xcom_s3_env.keys() == [bucket.kept]
    assert "deleted 2, 0 failed" in ran.out


def test_a_db_without_xcom_tables_names_the_setting(cli: Any, xcom_s3_env: Any) -> None:
    """The session's DB was never migrated: no XCom table, so no row can be read (nothing may be deleted)."""
    from airflow import settings
    from sqlalchemy import inspect

    present = [table for table in LAYOUTS["3.4"] | LAYOUTS["up-to-3.3"] if inspect(settings.engine).has_table(table)]
    if present:
        pytest.skip(f"not reached: this session's metadata DB has {present} (a test migrated it)")
    xcom_s3_env.client.put_object(Bucket=xcom_s3_env.endpoint.bucket, Key=f"{xcom_s3_env.prefix}/x.json", Body=b"1")
    ran = cli("gc", "--older-than", "0s")
    assert ran.code == 1, ran
    assert ran.err.startswith("error: Cannot read the XCom tables of Airflow's metadata DB: NoXComTable: ")
    assert DB_SETTING in ran.err and "airflow db check" in ran.err
    assert len(xcom_s3_env.keys()) == 1


def test_a_missing_bucket_setting_is_named(cli: Any, xcom_s3_env: Any) -> None:
    xcom_s3_env.set("bucket", None)
    ran = cli("gc", "--dry-run")
    assert ran.code == 1 and "AIRFLOW__XCOM_S3__BUCKET" in ran.err, ran


def test_a_bad_age_is_a_usage_error(cli: Any) -> None:
    ran = cli("gc", "--older-than", "soon")
    assert ran.code == 2 and "--older-than" in ran.err and "7d" in ran.err, ran


def test_the_command_explains_itself_and_an_unusable_db_setting(tmp_path: Any) -> None:
    """As processes: ``--help`` (no Airflow import: cheap) and a DB setting Airflow cannot even start with
    (importing Airflow reads it, so only a fresh process shows it)."""
    shown = subprocess.run([sys.executable, "-m", "xcom_s3", "gc", "--help"], capture_output=True, text=True)
    assert shown.returncode == 0 and "--dry-run" in shown.stdout and "--older-than" in shown.stdout, shown
    assert "Exit status: 0 done; 1" in " ".join(shown.stdout.split())
    env = dict(os.environ, **{DB_SETTING: "not-a-database-url"})
    ran = subprocess.run(
        [sys.executable, "-m", "xcom_s3", "gc", "--dry-run"], capture_output=True, text=True, env=env, timeout=300
    )
    assert ran.returncode == 1 and "Traceback" not in ran.stderr, ran.stderr
    assert ran.stderr.startswith("error: Cannot read the XCom tables of Airflow's metadata DB: Airflow could not")
    assert DB_SETTING in ran.stderr and "airflow db check" in ran.stderr
