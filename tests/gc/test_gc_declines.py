"""What gc reports when S3 declines some deletes, or stops answering part-way: every declined key from every
``DeleteObjects`` batch, each with whatever S3 said (an ``Errors`` entry may lack its code or message), and, when a
later request fails, the objects already deleted (they are gone: the operator must be told).

S3's answers come from s3_answers.S3Answers; the fixtures (a referenced object and two orphans) are test_gc_cli's,
the console script's runner test_gc_console_script's. Batches are made test-sized (``gc.DELETE_BATCH``), as
test_gc_console_script does.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import test_gc_cli
from s3_answers import S3Answers
from test_gc_cli import Bucket
from test_gc_console_script import _summary, _uri, script

#: test_gc_cli's and test_gc_console_script's fixtures, taken by name.
answers, bucket, metadata_db = test_gc_cli.answers, test_gc_cli.bucket, test_gc_cli.metadata_db
__all__ = ["answers", "bucket", "metadata_db", "script"]


@pytest.fixture
def one_key_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """One key per DeleteObjects request: the two orphans take two batches."""
    from xcom_s3 import gc

    monkeypatch.setattr(gc, "DELETE_BATCH", 1)


def test_keys_declined_in_different_batches_are_all_reported(
    script: Any, bucket: Bucket, answers: S3Answers, xcom_s3_env: Any, one_key_batches: None
) -> None:
    first, second = bucket.orphans
    answers.decline(first, "AccessDenied", "Access Denied")
    answers.decline(second, "InternalError", "We encountered an internal error. Please try again.")
    ran = script("gc", "--older-than", "0s")
    assert ran.code == 1, ran
    assert _summary(ran.out).endswith("; deleted 0, 2 failed")
    assert ran.err[:2] == [
        f"could not delete {_uri(xcom_s3_env, first)}: AccessDenied: Access Denied",
        f"could not delete {_uri(xcom_s3_env, second)}: InternalError: We encountered an internal error. Please "
        "try again.",
    ]
    assert ran.err[2].startswith(
        f"error: S3 declined to delete 2 of 2 orphaned objects in bucket {xcom_s3_env.endpoint.bucket!r} "
        "(AccessDenied, InternalError); they are still there. Grant the credentials gc runs with s3:DeleteObject on "
    )
    assert sorted(xcom_s3_env.keys()) == sorted([bucket.kept, *bucket.orphans])


def test_an_entry_without_a_code_is_shown_without_one(
    script: Any, bucket: Bucket, answers: S3Answers, xcom_s3_env: Any
) -> None:
    """An ``Errors`` entry with a message but no code (an S3-compatible store's): shown empty, never made up."""
    declined, deleted = bucket.orphans
    answers.decline(declined, code=None, message="Object is locked")
    ran = script("gc", "--older-than", "0s")
    assert ran.code == 1, ran
    assert f"deleted {_uri(xcom_s3_env, deleted)}" in ran.out
    assert ran.err == [
        f"could not delete {_uri(xcom_s3_env, declined)}: : Object is locked",
        f"error: S3 declined to delete 1 of 2 orphaned objects in bucket {xcom_s3_env.endpoint.bucket!r} (); they "
        "are still there. Run gc again to retry them.",
    ]


def test_an_entry_without_a_message_is_shown_without_one(
    script: Any, bucket: Bucket, answers: S3Answers, xcom_s3_env: Any
) -> None:
    declined, _ = bucket.orphans
    answers.decline(declined, code="SlowDown", message=None)
    ran = script("gc", "--older-than", "0s")
    assert ran.code == 1, ran
    assert ran.err[0] == f"could not delete {_uri(xcom_s3_env, declined)}: SlowDown: "
    assert sorted(xcom_s3_env.keys()) == sorted([bucket.kept, declined])


def test_an_entry_without_a_key_is_matched_to_the_key_still_there(
    script: Any, bucket: Bucket, answers: S3Answers, xcom_s3_env: Any
) -> None:
    """S3's entry does not say which key it was (some S3-compatible stores): the key still there is reported with
    its code and message, the other one of the batch as deleted (it once was too, and the run printed
    "deleted" for an object still in the bucket)."""
    declined, deleted = bucket.orphans
    answers.decline(declined, named=False)
    ran = script("gc", "--older-than", "0s")
    assert ran.code == 1, ran
    assert ran.out[:-1] == [f"deleted {_uri(xcom_s3_env, deleted)}"]
    assert _summary(ran.out).endswith("; deleted 1, 1 failed")
    assert ran.err[0] == f"could not delete {_uri(xcom_s3_env, declined)}: AccessDenied: Access Denied"
    assert sorted(xcom_s3_env.keys()) == sorted([bucket.kept, declined])


def _lookups(answers: S3Answers, keys: list[str]) -> list[dict[str, list[str]]]:
    """The ListObjectsV2 requests gc made for one of ``keys`` (its prefix), each as its query."""
    queries = [parse_qs(urlsplit(path).query) for method, path, _ in answers.seen if method == "GET"]
    return [q for q in queries if q.get("list-type") == ["2"] and q.get("prefix", [""])[0] in keys]


def test_an_entry_without_a_key_beside_a_named_one_leaves_both_reported(
    script: Any, bucket: Bucket, answers: S3Answers, xcom_s3_env: Any
) -> None:
    """One batch, two entries: one names its key, one does not. Both keys are reported declined (the lookup for
    the unnamed one adds to the named one's report, never replaces it), and each lookup lists one key."""
    named, unnamed = bucket.orphans
    answers.decline(named, "AccessDenied", "Access Denied")
    answers.decline(unnamed, "InternalError", "Please try again.", named=False)
    ran = script("gc", "--older-than", "0s")
    assert ran.code == 1, ran
    assert _summary(ran.out).endswith("; deleted 0, 2 failed")
    assert sorted(ran.err[:2]) == sorted(
        [
            f"could not delete {_uri(xcom_s3_env, named)}: AccessDenied: Access Denied",
            f"could not delete {_uri(xcom_s3_env, unnamed)}: InternalError: Please try again.",
        ]
    )
    assert [(q["prefix"], q.get("max-keys")) for q in _lookups(answers, bucket.orphans)] == [([unnamed], ["1"])]
    assert sorted(xcom_s3_env.keys()) == sorted([bucket.kept, *bucket.orphans])


def test_keys_every_entry_names_are_never_looked_up(
    script: Any, bucket: Bucket, answers: S3Answers, xcom_s3_env: Any
) -> None:
    """When S3 names the key of every entry (as S3 does), gc lists nothing more: a lookup per key of a batch of
    1000 would be 1000 requests for nothing."""
    declined, deleted = bucket.orphans
    answers.decline(declined, "AccessDenied", "Access Denied")
    ran = script("gc", "--older-than", "0s")
    assert ran.code == 1, ran
    assert ran.out[:-1] == [f"deleted {_uri(xcom_s3_env, deleted)}"]
    assert _lookups(answers, bucket.orphans) == []


def test_a_run_that_fails_after_deleting_lists_what_it_deleted(
    script: Any, bucket: Bucket, answers: S3Answers, xcom_s3_env: Any, one_key_batches: None
) -> None:
    """The first batch goes, the second request is refused: the deleted object is named, then the error."""
    gone, left = bucket.orphans
    answers.refuse("POST", "delete", 403, "AccessDenied", "Access Denied", times=None, after=1)
    ran = script("gc", "--older-than", "0s")
    assert ran.code == 1, ran
    assert ran.out == [f"deleted {_uri(xcom_s3_env, gone)}"]
    assert len(ran.err) == 1 and ran.err[0].startswith("error: Cannot delete objects under "), ran
    assert sorted(xcom_s3_env.keys()) == sorted([bucket.kept, left])


def test_a_lookup_s3_refuses_leaves_the_batch_unsettled_and_names_the_permission(
    script: Any, bucket: Bucket, answers: S3Answers, xcom_s3_env: Any
) -> None:
    """The keys of an unnamed entry's batch are looked up with ListObjectsV2. When S3 refuses that request (a
    policy changed since the listing), nobody knows which of them were deleted: each is said to be so, none is
    printed as deleted, and the run stops naming the listing permission."""
    answers.decline(bucket.orphans[0], named=False)
    answers.refuse("GET", "list-type=2", 403, "AccessDenied", "Access Denied", after=1)  # the listing goes through
    ran = script("gc", "--older-than", "0s")
    assert ran.code == 1, ran
    assert ran.out == [], ran
    assert ran.err[:2] == [
        f"not known whether deleted {_uri(xcom_s3_env, key)}: S3 declined a key of its batch without naming it, "
        "and looking the key up failed"
        for key in bucket.orphans
    ]
    assert len(ran.err) == 3 and ran.err[2].startswith("error: Cannot list "), ran
    assert "access denied (AccessDenied). Grant the credentials gc runs with s3:ListBucket on " in ran.err[2], ran
    assert sorted(xcom_s3_env.keys()) == sorted([bucket.kept, bucket.orphans[0]])


def test_a_failed_lookup_keeps_what_earlier_batches_declined(
    script: Any, bucket: Bucket, answers: S3Answers, xcom_s3_env: Any, one_key_batches: None
) -> None:
    """Batch one's key is declined by name; batch two's without one, and its lookup is refused: both are
    reported (the first as declined, the second as unsettled) before the error."""
    first, second = bucket.orphans
    answers.decline(first, "AccessDenied", "Access Denied")
    answers.decline(second, named=False)
    answers.refuse("GET", "list-type=2", 403, "AccessDenied", "Access Denied", after=1)  # the listing goes through
    ran = script("gc", "--older-than", "0s")
    assert ran.code == 1, ran
    assert ran.err[:2] == [
        f"could not delete {_uri(xcom_s3_env, first)}: AccessDenied: Access Denied",
        f"not known whether deleted {_uri(xcom_s3_env, second)}: S3 declined a key of its batch without naming it, "
        "and looking the key up failed",
    ], ran
    assert len(ran.err) == 3 and ran.err[2].startswith("error: Cannot list "), ran
