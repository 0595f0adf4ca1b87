"""gc deletes orphans in ``DeleteObjects`` batches (S3 takes 1000 keys a request): every orphan goes in exactly one
batch, a last batch may be partial, and what each batch did adds up in the report and in what is printed per key
(``deleted`` on stdout in listing order, ``could not delete`` on stderr), even when S3 declines a key in the
middle of a batch or refuses a later batch outright.

Batches are made test-sized (``gc.DELETE_BATCH``) and a third orphan is written beside test_gc_cli's bucket fixture
(a referenced object and two orphans), so three orphans cut into batches of 1, 2 and 3 keys. S3's answers come
from s3_answers.S3Answers; the command runs as the console script's ``main(argv)`` (test_gc_console_script).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
import test_gc_cli
from s3_answers import S3Answers
from test_gc_cli import Bucket
from test_gc_console_script import _summary, _uri, script

#: test_gc_cli's and test_gc_console_script's fixtures, taken by name.
answers, bucket, metadata_db = test_gc_cli.answers, test_gc_cli.bucket, test_gc_cli.metadata_db
__all__ = ["answers", "bucket", "metadata_db", "script"]


@pytest.fixture
def orphans(bucket: Bucket, xcom_s3_env: Any) -> list[str]:
    """The bucket fixture's two orphans and a third no stored value names, in listing order."""
    third = f"{xcom_s3_env.prefix}/zz_left_by_db_clean/return_value.json"
    xcom_s3_env.client.put_object(Bucket=xcom_s3_env.endpoint.bucket, Key=third, Body=b'{"rows": [1, 2, 3]}')
    return sorted([*bucket.orphans, third])


def _batch_size(monkeypatch: pytest.MonkeyPatch, keys: int) -> None:
    from xcom_s3 import gc

    monkeypatch.setattr(gc, "DELETE_BATCH", keys)


def _delete_requests(answers: S3Answers) -> list[str]:
    return [
        path for method, path, _ in answers.seen if method == "POST" and "delete" in urlsplit(path).query.split("&")
    ]


def _bytes(xcom_s3_env: Any, keys: list[str]) -> int:
    client, name = xcom_s3_env.client, xcom_s3_env.endpoint.bucket
    return sum(client.head_object(Bucket=name, Key=key)["ContentLength"] for key in keys)


@pytest.mark.parametrize(("batch", "requests"), [(1, 3), (2, 2), (3, 1)])
def test_every_orphan_is_deleted_once_whatever_the_batch_size(
    script: Any,
    bucket: Bucket,
    orphans: list[str],
    answers: S3Answers,
    xcom_s3_env: Any,
    monkeypatch: pytest.MonkeyPatch,
    batch: int,
    requests: int,
) -> None:
    """Three orphans take ceil(3 / batch) requests (the last one partial at 2); each is printed once, in listing
    order, and the summary counts all three and their bytes."""
    _batch_size(monkeypatch, batch)
    size = _bytes(xcom_s3_env, orphans)
    ran = script("gc", "--older-than", "0s")
    assert ran.code == 0 and ran.err == [], ran
    assert ran.out == [
        *(f"deleted {_uri(xcom_s3_env, key)}" for key in orphans),
        "scanned 4 objects: 1 referenced, 0 named by other stored values (kept), 0 too young to judge, "
        f"3 orphaned ({size} bytes); deleted 3, 0 failed",
    ]
    assert len(_delete_requests(answers)) == requests
    assert xcom_s3_env.keys() == [bucket.kept]


def test_a_key_declined_mid_batch_leaves_the_rest_of_its_batch_deleted(
    script: Any,
    bucket: Bucket,
    orphans: list[str],
    answers: S3Answers,
    xcom_s3_env: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Batches of two: S3 declines the second key of the first batch; the first key of that batch and the one of
    the second batch are deleted and printed, the declined one is printed on stderr only and counted of all three."""
    _batch_size(monkeypatch, 2)
    first, declined, last = orphans
    answers.decline(declined, "AccessDenied", "Access Denied")
    size = _bytes(xcom_s3_env, orphans)
    ran = script("gc", "--older-than", "0s")
    assert ran.code == 1, ran
    assert ran.out[:-1] == [f"deleted {_uri(xcom_s3_env, first)}", f"deleted {_uri(xcom_s3_env, last)}"]
    assert _summary(ran.out).endswith(f", 3 orphaned ({size} bytes); deleted 2, 1 failed")
    assert ran.err[0] == f"could not delete {_uri(xcom_s3_env, declined)}: AccessDenied: Access Denied"
    assert ran.err[1].startswith(
        f"error: S3 declined to delete 1 of 3 orphaned objects in bucket {xcom_s3_env.endpoint.bucket!r} "
        "(AccessDenied); they are still there. Grant the credentials gc runs with s3:DeleteObject on "
    )
    assert len(ran.err) == 2 and len(_delete_requests(answers)) == 2
    assert xcom_s3_env.keys() == sorted([bucket.kept, declined])


def test_a_run_stopped_by_a_later_batch_reports_what_the_earlier_batches_did(
    script: Any,
    bucket: Bucket,
    orphans: list[str],
    answers: S3Answers,
    xcom_s3_env: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One key a batch: S3 declines the first, deletes the second, refuses the third request. The operator is told
    of both earlier outcomes (deleted on stdout, declined on stderr), then the error; no summary follows."""
    _batch_size(monkeypatch, 1)
    declined, gone, left = orphans
    answers.decline(declined, "AccessDenied", "Access Denied")
    answers.refuse("POST", "delete", 403, "AccessDenied", "Access Denied", times=None, after=2)
    ran = script("gc", "--older-than", "0s")
    assert ran.code == 1, ran
    assert ran.out == [f"deleted {_uri(xcom_s3_env, gone)}"]
    assert ran.err[0] == f"could not delete {_uri(xcom_s3_env, declined)}: AccessDenied: Access Denied"
    assert len(ran.err) == 2 and ran.err[1].startswith("error: Cannot delete objects under "), ran
    assert xcom_s3_env.keys() == sorted([bucket.kept, declined, left])
