"""Fixtures of the IAM tests: the README's policy, one IAM-enforcing moto server per module, a worker per test.

The helpers here are importable by name (iam_moto, iam_worker, readme_policy), as tests/e2e's are: this folder is
on sys.path by pyproject's pytest `pythonpath`.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from iam_moto import S3SERVER_VENV, IamMoto, moto_command
from iam_worker import Worker, multipart_sizes
from readme_policy import ReadmePolicy, read

#: Set by the matrix for every entry (tools/matrix/rehearsals.py ENTRY_VAR): there, a missing server is a failure.
ENTRY_VAR = "XCOM_S3_MATRIX_ENTRY"


@pytest.fixture(scope="session")
def policy() -> ReadmePolicy:
    """The README's policy, lifecycle rule, bucket and prefix."""
    return read()


@pytest.fixture(scope="session")
def other_bucket(policy: ReadmePolicy) -> str:
    """A bucket the policy does not name."""
    return f"{policy.bucket}-other"


@pytest.fixture(scope="module")
def iam_moto(policy: ReadmePolicy, other_bucket: str) -> Iterator[IamMoto]:
    """moto's server with IAM enforcement on, holding the README's bucket and another one.

    Without a moto to run: outside the matrix a declared n/a; in a matrix entry a failure, since the matrix builds
    the S3 server's venv before any entry's tests."""
    command = moto_command()
    if command is None:
        missing = (
            f"no moto server to enforce IAM: {S3SERVER_VENV} (built from locks/s3-server.txt by `nox -s matrix` and "
            f"`nox -s tests`) is missing and moto is not importable in {sys.executable}"
        )
        if os.environ.get(ENTRY_VAR):
            pytest.fail(
                f"{missing}; the matrix builds it before entry {os.environ[ENTRY_VAR]}'s tests unless "
                "XCOM_S3_TEST_ENDPOINT is set from outside: run the matrix once without it",
                pytrace=False,
            )
        pytest.skip(f"n/a: {missing}")
    server = IamMoto(command, [policy.bucket, other_bucket])
    try:
        yield server
    finally:
        server.stop()


def moto_policy(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` as moto can evaluate it: moto authorizes DeleteObjects against the bucket's ARN, where AWS checks
    s3:DeleteObject on each key, so a grant of s3:DeleteObject on a bucket's objects also gets it on that bucket
    (a statement AWS would never apply to an object action). Removing the grant removes this stand-in too."""
    added = []
    for statement in document["Statement"]:
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        resources = [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
        if statement.get("Effect") == "Allow" and "s3:DeleteObject" in actions:
            buckets = sorted({r.split("/", 1)[0] for r in resources if "/" in r})
            added += [{"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": bucket} for bucket in buckets]
    return {**document, "Statement": [*document["Statement"], *added]}


@pytest.fixture
def xcom_rows() -> Iterator[Callable[[Any], None]]:
    """``add(stored)``: a row of an ``xcom`` table in this session's scratch metadata DB holding ``stored``, for gc to
    read (it reads only the values); the table is dropped after the test."""
    from airflow import settings
    from sqlalchemy import inspect, text

    engine = settings.engine
    if inspect(engine).has_table("xcom"):
        pytest.skip(f"not reached: the session's metadata DB ({engine.url}) already has an xcom table")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE xcom (value TEXT)"))

    def add(stored: Any) -> None:
        value = stored.decode("utf-8") if isinstance(stored, bytes) else json.dumps(stored)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO xcom (value) VALUES (:value)"), {"value": value})

    try:
        yield add
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE xcom"))


@pytest.fixture
def worker_for(
    backend: Any,
    xcom_s3_env: Any,
    iam_moto: IamMoto,
    policy: ReadmePolicy,
    other_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> Callable[[dict[str, Any]], Worker]:
    """``worker_for(policy_document)``: the backend (Airflow's resolved class) as a worker runs it, with the
    credentials of a new IAM user holding that policy, on the README's bucket and prefix (both buckets emptied)."""
    multipart_sizes(monkeypatch)

    def make(document: dict[str, Any]) -> Worker:
        for bucket in (policy.bucket, other_bucket):
            iam_moto.empty(bucket)
        return Worker(
            backend=backend,
            env=xcom_s3_env,
            moto=iam_moto,
            keys=iam_moto.user("worker", moto_policy(document)),
            bucket=policy.bucket,
            prefix=policy.prefix,
            dag=f"iam_{uuid.uuid4().hex[:8]}",
            monkeypatch=monkeypatch,
            caplog=caplog,
            capsys=capsys,
        )

    return make
