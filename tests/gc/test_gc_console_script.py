"""The ``xcom-s3`` console script (pyproject's ``[project.scripts]``: ``xcom_s3.__main__:main``) as an operator runs
it: ``main(argv)`` called by name, as the installed script calls it, where test_gc_cli runs ``python -m xcom_s3``.

Each outcome is pinned exactly: the exit status (0 done, 1 gc could not finish or S3 declined, 2 bad arguments),
which stream says what, and what is still in the bucket. The fixtures (a referenced object and two orphans, S3's
refusals through the answering proxy) are test_gc_cli's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import test_gc_cli
from s3_answers import S3Answers
from test_gc_cli import Bucket

#: test_gc_cli's fixtures, taken by name.
answers, bucket, metadata_db = test_gc_cli.answers, test_gc_cli.bucket, test_gc_cli.metadata_db


#: How each line the command prints starts (Airflow's and boto's log lines may land on either stream, per release).
OUT_LINES = ("deleted ", "would delete ", "scanned ")
ERR_LINES = ("could not delete ", "not known whether deleted ", "error: ")


@dataclass
class Ran:
    code: int
    #: The command's own lines on stdout and stderr.
    out: list[str]
    err: list[str]


@pytest.fixture
def script(capsys: pytest.CaptureFixture[str]) -> Any:
    """``script(*argv)``: the console script's ``main(argv)``; its return value (the exit status) and output."""
    from xcom_s3.__main__ import main

    def run(*argv: str) -> Ran:
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return Ran(code, _ours(out, OUT_LINES), _ours(err, ERR_LINES))

    return run


def _ours(text: str, starts: tuple[str, ...]) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(starts)]


def _uri(env: Any, key: str) -> str:
    return f"s3://{env.endpoint.bucket}/{key}"


def _summary(lines: list[str]) -> str:
    return next(line for line in lines if line.startswith("scanned "))


def test_a_run_deletes_exactly_the_orphans_and_says_so(script: Any, bucket: Bucket, xcom_s3_env: Any) -> None:
    sizes = [
        xcom_s3_env.client.head_object(Bucket=xcom_s3_env.endpoint.bucket, Key=k)["ContentLength"]
        for k in bucket.orphans
    ]
    ran = script("gc", "--older-than", "0s")
    assert ran.code == 0 and ran.err == [], ran
    assert sorted(x for x in ran.out if x.startswith("deleted ")) == [
        f"deleted {_uri(xcom_s3_env, key)}" for key in bucket.orphans
    ]
    assert _summary(ran.out) == (
        "scanned 3 objects: 1 referenced, 0 named by other stored values (kept), 0 too young to judge, "
        f"2 orphaned ({sum(sizes)} bytes); deleted 2, 0 failed"
    )
    assert xcom_s3_env.keys() == [bucket.kept]


def test_a_dry_run_lists_the_orphans_and_deletes_nothing(script: Any, bucket: Bucket, xcom_s3_env: Any) -> None:
    ran = script("gc", "--older-than", "0s", "--dry-run")
    assert ran.code == 0 and ran.err == [], ran
    assert sorted(x for x in ran.out if x.startswith("would delete ")) == [
        f"would delete {_uri(xcom_s3_env, key)}" for key in bucket.orphans
    ]
    assert not any(x.startswith("deleted ") for x in ran.out)
    assert _summary(ran.out).endswith("; would delete 2")
    assert len(xcom_s3_env.keys()) == 3


def test_the_default_age_keeps_objects_written_just_now(script: Any, bucket: Bucket, xcom_s3_env: Any) -> None:
    """Without --older-than only objects older than 7 days go: the three just written are all too young."""
    ran = script("gc")
    assert ran.code == 0, ran
    assert "1 referenced, 0 named by other stored values (kept), 2 too young to judge, 0 orphaned" in _summary(ran.out)
    assert len(xcom_s3_env.keys()) == 3


def test_a_declined_key_is_listed_on_stderr_and_fails_the_run(
    script: Any, bucket: Bucket, answers: S3Answers, xcom_s3_env: Any
) -> None:
    declined, deleted = bucket.orphans
    answers.decline(declined)
    ran = script("gc", "--older-than", "0s")
    assert ran.code == 1, ran
    assert f"deleted {_uri(xcom_s3_env, deleted)}" in ran.out
    assert _summary(ran.out).endswith("; deleted 1, 1 failed")
    first, second = ran.err
    assert first == f"could not delete {_uri(xcom_s3_env, declined)}: AccessDenied: Access Denied"
    head = (
        f"error: S3 declined to delete 1 of 2 orphaned objects in bucket {xcom_s3_env.endpoint.bucket!r} (AccessDenied)"
    )
    assert second.startswith(f"{head}; they are still there. Grant the credentials gc runs with s3:DeleteObject on ")
    assert second.endswith(", then run gc again."), second


def test_a_denied_delete_fails_with_one_error_line(
    script: Any, bucket: Bucket, answers: S3Answers, xcom_s3_env: Any
) -> None:
    answers.refuse("POST", "delete", 403, "AccessDenied", "Access Denied", times=None)
    ran = script("gc", "--older-than", "0s")
    assert ran.code == 1, ran
    assert ran.out == [] and len(ran.err) == 1 and ran.err[0].startswith("error: Cannot delete objects under "), ran
    assert len(xcom_s3_env.keys()) == 3


def test_a_failed_dry_run_lists_nothing(script: Any, bucket: Bucket, answers: S3Answers, xcom_s3_env: Any) -> None:
    answers.refuse("GET", "list-type=2", 403, "AccessDenied", "Access Denied", times=None)
    ran = script("gc", "--older-than", "0s", "--dry-run")
    assert ran.code == 1 and ran.out == [], ran
    assert len(ran.err) == 1 and ran.err[0].startswith("error: Cannot list s3://"), ran


def test_a_bad_age_is_a_usage_error(script: Any) -> None:
    ran = script("gc", "--older-than", "soon")
    assert (ran.code, ran.out) == (2, []), ran
    assert ran.err == ["error: --older-than: 'soon' is not an age: use e.g. 7d, 12h, 30m or 45s"]


def test_a_missing_bucket_is_named_and_fails(script: Any, xcom_s3_env: Any) -> None:
    xcom_s3_env.set("bucket", None)
    ran = script("gc", "--dry-run")
    assert (ran.code, ran.out) == (1, []), ran
    assert len(ran.err) == 1 and ran.err[0].startswith(
        "error: No S3 bucket configured for XCom: set AIRFLOW__XCOM_S3__BUCKET "
    )


def test_the_arguments_are_the_documented_ones(capsys: pytest.CaptureFixture[str]) -> None:
    """``gc`` is required (usage error, 2); ``gc --help`` exits 0 naming both options and the exit statuses."""
    from xcom_s3.__main__ import main

    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2 and "python -m xcom_s3" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["gc", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert exited.value.code == 0
    assert shown.startswith("usage: python -m xcom_s3 gc [-h] [--older-than AGE] [--dry-run]")
    assert "default: 7d" in shown and "Exit status: 0 done; 1 gc could not finish" in shown


def test_orphans_are_deleted_batch_by_batch(
    script: Any, bucket: Bucket, xcom_s3_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DeleteObjects takes 1000 keys: more orphans go in several requests, and the report adds them all up."""
    from xcom_s3 import gc

    monkeypatch.setattr(gc, "DELETE_BATCH", 1)  # test-sized batches: two orphans, two requests
    ran = script("gc", "--older-than", "0s")
    assert ran.code == 0, ran
    assert len([x for x in ran.out if x.startswith("deleted ")]) == 2
    assert _summary(ran.out).endswith("; deleted 2, 0 failed")
    assert xcom_s3_env.keys() == [bucket.kept]


def test_an_empty_prefix_is_scanned_and_nothing_happens(script: Any, metadata_db: Any, xcom_s3_env: Any) -> None:
    """A listing with no objects has no Contents at all: gc reports zero, it does not fail."""
    ran = script("gc", "--older-than", "0s")
    assert (ran.code, ran.err) == (0, []), ran
    assert _summary(ran.out) == (
        "scanned 0 objects: 0 referenced, 0 named by other stored values (kept), 0 too young to judge, "
        "0 orphaned (0 bytes); deleted 0, 0 failed"
    )


def test_an_airflow_that_cannot_start_is_one_error_line(script: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Airflow's import fails before gc does anything (a configured XCom backend that does not import, a broken
    config file): one line names the exception's first line and where gc must run, exit 1, no traceback. The seam
    faked is the import itself: in this process Airflow is imported already."""
    from xcom_s3 import __main__ as console

    def broken() -> None:
        raise ImportError("No module named 'company_xcom'\n  (more lines a driver adds)")

    monkeypatch.setattr(console, "_import_airflow_xcom", broken)
    ran = script("gc", "--dry-run")
    assert (ran.code, ran.out, len(ran.err)) == (1, [], 1), ran
    assert ran.err[0].startswith(
        "error: Cannot read the XCom tables of Airflow's metadata DB: Airflow could not start with this "
        "configuration (ImportError: No module named 'company_xcom'). They are read from the DB Airflow is "
        "configured with ("
    ), ran
