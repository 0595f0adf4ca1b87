"""What ``gc``'s two options do to a run: ``--older-than`` (an age in any unit the help names, or plain seconds)
decides which objects are old enough to judge, and a bad one is a usage error (exit 2, our message) before gc
reads the DB or asks S3 anything; ``--dry-run`` lists the orphans and never sends a delete; argparse refuses what
is not an option of gc.

The bucket (a referenced object and two orphans, just written) and S3's answers are test_gc_cli's fixtures; the
command runs as the console script's ``main(argv)`` (test_gc_console_script).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import test_gc_cli
from s3_answers import S3Answers
from test_gc_cli import Bucket
from test_gc_console_script import _summary, _uri, script
from xcom_s3 import gc

#: test_gc_cli's and test_gc_console_script's fixtures, taken by name.
answers, bucket, metadata_db = test_gc_cli.answers, test_gc_cli.bucket, test_gc_cli.metadata_db
__all__ = ["answers", "bucket", "metadata_db", "script"]

NOT_AN_AGE = "is not an age: use e.g. 7d, 12h, 30m or 45s"


@pytest.mark.parametrize(
    ("age", "orphaned"),
    [("0s", 2), ("0", 2), ("0d", 2), ("1h", 0), ("30m", 0), ("3600", 0), ("1d", 0)],
)
def test_the_age_decides_which_objects_are_old_enough_to_judge(
    script: Any, bucket: Bucket, xcom_s3_env: Any, age: str, orphaned: int
) -> None:
    """The two orphans were written moments ago: any age of zero takes them, any longer one keeps them as too
    young (the referenced object is kept either way)."""
    ran = script("gc", "--older-than", age, "--dry-run")
    assert ran.code == 0 and ran.err == [], ran
    assert ran.out[:-1] == [f"would delete {_uri(xcom_s3_env, key)}" for key in bucket.orphans][:orphaned]
    assert _summary(ran.out).startswith(
        f"scanned 3 objects: 1 referenced, 0 named by other stored values (kept), {2 - orphaned} too young to judge, "
        f"{orphaned} orphaned "
    )
    assert len(xcom_s3_env.keys()) == 3


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("90", timedelta(seconds=90)),
        ("45S", timedelta(seconds=45)),
        ("0.5d", timedelta(hours=12)),
        ("12h", timedelta(hours=12)),
    ],
)
def test_plain_numbers_are_seconds_and_units_any_case(text: str, age: timedelta) -> None:
    assert gc.parse_age(text) == age


@pytest.mark.parametrize(
    ("age", "problem"),
    [
        ("-1d", "'-1d' is negative"),
        ("7w", f"'7w' {NOT_AN_AGE}"),
        ("d", f"'d' {NOT_AN_AGE}"),
        ("", f"'' {NOT_AN_AGE}"),
        ("nan", f"'nan' {NOT_AN_AGE}"),
        ("inf", "'inf' is longer than the longest age Python counts (999999999d)"),
        ("1e10d", "'1e10d' is longer than the longest age Python counts (999999999d)"),
    ],
)
def test_a_bad_age_is_refused_before_s3_is_asked_anything(
    script: Any, bucket: Bucket, answers: S3Answers, xcom_s3_env: Any, age: str, problem: str
) -> None:
    """Given as ``--older-than=AGE``: argparse would take a separate ``-1d`` for an option of its own."""
    ran = script("gc", f"--older-than={age}")
    assert (ran.code, ran.out, ran.err) == (2, [], [f"error: --older-than: {problem}"]), ran
    assert answers.seen == []
    assert len(xcom_s3_env.keys()) == 3


def test_a_dry_run_sends_no_delete_request(script: Any, bucket: Bucket, answers: S3Answers, xcom_s3_env: Any) -> None:
    """S3 would decline one orphan, but a dry run never asks: both are listed, nothing is declined or deleted."""
    answers.decline(bucket.orphans[0])
    ran = script("gc", "--older-than", "0s", "--dry-run")
    assert ran.code == 0 and ran.err == [], ran
    assert ran.out[:-1] == [f"would delete {_uri(xcom_s3_env, key)}" for key in bucket.orphans]
    assert _summary(ran.out).endswith("; would delete 2")
    assert [method for method, _, _ in answers.seen] == ["GET"]
    assert len(xcom_s3_env.keys()) == 3


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["gc", "--force"], "error: unrecognized arguments: --force"),
        (["gc", "--older-than"], "error: argument --older-than: expected one argument"),
        (["purge"], "error: argument command: invalid choice: 'purge'"),
    ],
)
def test_what_is_not_an_option_of_gc_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], argv: list[str], problem: str
) -> None:
    from xcom_s3.__main__ import main

    with pytest.raises(SystemExit) as exited:
        main(argv)
    out, err = capsys.readouterr()
    assert (exited.value.code, out) == (2, "")
    assert problem in err and err.startswith("usage: python -m xcom_s3"), err
