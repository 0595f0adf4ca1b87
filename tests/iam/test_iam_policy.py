"""The README's least-privilege IAM policy, checked by a real policy evaluator instead of copied.

The policy is read from README.md (readme_policy.py), so the two cannot drift. moto's server runs with IAM
enforcement on (iam_moto.py), an IAM user gets exactly that policy, and the backend, as Airflow resolves it, works
under that user's credentials (iam_worker.py): push, pull and purge of a small frame, a multipart frame and a JSON
value past THRESHOLD; a multipart push S3 refuses to complete, aborted; ``python -m xcom_s3 gc`` dry and real.
Writes, reads and deletes outside the prefix or in another bucket must be refused, naming the permission. Then each
action is removed from the policy in turn: the run must fail with a message of the backend's that names it.

What moto's evaluator cannot check, so neither can this test (the README says so too):

* Conditions. moto ignores every ``Condition`` of an identity policy on S3 requests: the ListBucket statement's
  ``StringLike`` on ``s3:prefix`` is not checked (a listing outside the prefix is allowed here, refused on AWS).
* DeleteObjects per key. moto authorizes the request against the bucket's ARN, AWS checks s3:DeleteObject on each
  key; the user also gets s3:DeleteObject on the bucket ARN, derived from the policy's own DeleteObject grant
  (conftest.moto_policy), so gc's batch delete passes here only while the README grants s3:DeleteObject.
* 403 for a missing key. AWS answers 403 instead of 404 when the caller may not list the key; moto answers 404. The
  message for a refused read is checked with a caller moto refuses (no s3:GetObject), which gets the same 403.
* KMS. moto's S3 never checks kms:GenerateDataKey / kms:Decrypt, so the README's SSE-KMS sentence is not checked.
* CopyObject sources: the backend never copies an object.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from iam_moto import Keys
from iam_worker import Refused, Worker, json_value, multipart_frame, small_frame
from readme_policy import ReadmePolicy, read

#: Where objects outside the policy's prefix are put (by the admin) and asked for (by the worker).
OUTSIDE = "elsewhere/xcom"


def exercise(w: Worker, xcom_rows: Callable[[Any], None]) -> None:
    """Every operation a deployment performs, in a deployment's order; raises :class:`Refused` at the first that
    does not do what it should."""
    from xcom_s3.errors import ObjectMissingError

    values = {"small": small_frame(), "multipart": multipart_frame(), "json": json_value()}
    small = w.push("push a small frame", values["small"], "small")
    multi = w.push("push a frame past the multipart threshold", values["multipart"], "multipart")
    calls = w.steps[-1].calls
    assert "CreateMultipartUpload 200" in calls and calls.count("UploadPart 200") >= 2, f"not multipart: {calls}"
    big = w.push("push a JSON value past THRESHOLD", values["json"], "json")
    w.pull("pull the small frame", small, values["small"])
    w.pull("pull the multipart frame (ranged GETs)", multi, values["multipart"])
    w.pull("pull the JSON value", big, values["json"])
    w.failed_multipart_push("a multipart push S3 refuses to complete, aborted", values["multipart"], "failed")
    for referenced in (multi, big):  # the small frame's row is gone: its object is an orphan
        xcom_rows(referenced)
    kept = [w.key(multi), w.key(big)]
    w.gc("gc --dry-run", dry_run=True, orphan=w.key(small), kept=kept)
    w.gc("gc", dry_run=False, orphan=w.key(small), kept=kept)
    w.purge("purge the multipart frame", multi)
    w.purge("purge the JSON value", big)
    w.pull_refused("pull the purged JSON value", big, ObjectMissingError)


def test_the_readme_policy_allows_every_operation(
    worker_for: Callable[[dict[str, Any]], Worker], policy: ReadmePolicy, xcom_rows: Callable[[Any], None]
) -> None:
    """The README's policy, verbatim, is enough for everything a worker and gc do (the table: ``pytest -rP``)."""
    w = worker_for(policy.document)
    try:
        exercise(w, xcom_rows)
    finally:
        print(w.table())
    assert not w.uploads(), "an incomplete multipart upload was left"


@pytest.mark.parametrize("action", read().actions())
def test_each_action_is_needed_and_named_when_missing(
    worker_for: Callable[[dict[str, Any]], Worker],
    policy: ReadmePolicy,
    xcom_rows: Callable[[Any], None],
    action: str,
) -> None:
    """Without ``action`` the run fails, and the backend's own message names that action and the resource to
    grant it on: every action in the README is used, and a refusal says what to grant."""
    w = worker_for(policy.without(action))
    with pytest.raises(Refused) as refused:
        exercise(w, xcom_rows)
    print(refused.value)
    assert f"{action} on arn:aws:s3:::{policy.bucket}" in str(refused.value), str(refused.value)


def test_outside_the_prefix_and_the_bucket_is_refused(
    worker_for: Callable[[dict[str, Any]], Worker], policy: ReadmePolicy, other_bucket: str
) -> None:
    """The policy confines the worker: with the backend pointed at another prefix or another bucket, a push, a pull
    and a purge are refused, each naming the one permission it would need there; raw requests there fail too."""
    from xcom_s3.errors import StorageError

    w = worker_for(policy.document)
    admin = w.moto.admin
    places = {"outside the prefix": (policy.bucket, OUTSIDE), "in another bucket": (other_bucket, policy.prefix)}
    for where, (bucket, prefix) in places.items():
        w.configure(keys=admin, bucket=bucket, prefix=prefix)
        theirs = w.push(f"(admin) push {where}", json_value(), "theirs")
        w.configure(bucket=bucket, prefix=prefix)
        objects = f"on arn:aws:s3:::{bucket}/{prefix}/*"
        pushed = w.push_refused(f"push {where}", json_value(), "mine")
        assert f"Cannot write s3://{bucket}/{prefix}/" in pushed and f"s3:PutObject {objects}" in pushed, pushed
        assert "purged" not in pushed, pushed
        pulled = w.pull_refused(f"pull {where}", theirs, StorageError)
        assert f"Cannot read s3://{bucket}/{prefix}/" in pulled and f"s3:GetObject {objects}" in pulled, pulled
        logged = w.purge_refused(f"purge {where}", theirs)
        assert f"Cannot delete s3://{bucket}/{prefix}/" in logged and f"s3:DeleteObject {objects}" in logged, logged
    w.configure()
    w.raw("ListObjectsV2 of another bucket", lambda s3: s3.list_objects_v2(Bucket=other_bucket))
    w.raw(
        "CreateMultipartUpload outside the prefix",
        lambda s3: s3.create_multipart_upload(Bucket=policy.bucket, Key=f"{OUTSIDE}/k"),
    )
    print(w.table())


def test_a_read_refused_with_403_says_the_object_may_be_gone(
    worker_for: Callable[[dict[str, Any]], Worker], policy: ReadmePolicy
) -> None:
    """AWS answers 403, not 404, for a missing key the caller may not list: a pull of a purged or expired object
    then gets 403. moto answers 404 to the README's user, so a user without s3:GetObject stands in for that caller
    (moto refuses it with the same 403 AccessDenied); the message must say the object may be gone, and what to grant
    if it is there."""
    from xcom_s3.errors import ObjectMissingError, StorageError

    w = worker_for(policy.document)
    stored = w.push("push a JSON value", json_value(), "gone")
    w.purge("purge it", stored)
    missing = w.pull_refused("pull it (moto: 404)", stored, ObjectMissingError)
    assert "does not exist" in missing, missing
    w.configure(keys=w.moto.user("no-get", policy.without("s3:GetObject")))
    hidden = w.pull_refused("pull it as a caller S3 answers 403", stored, StorageError)
    assert "access denied (AccessDenied)" in hidden, hidden
    assert "may have been purged" in hidden and "expired by a bucket lifecycle rule" in hidden, hidden
    assert f"s3:GetObject on arn:aws:s3:::{policy.bucket}/{policy.prefix}/*" in hidden, hidden


def test_the_readme_lifecycle_rule_aborts_incomplete_uploads_under_the_prefix(
    worker_for: Callable[[dict[str, Any]], Worker], policy: ReadmePolicy
) -> None:
    """The README's lifecycle JSON is a configuration S3 takes as it is, and its AbortIncompleteMultipartUpload rule
    covers the policy's prefix."""
    admin = worker_for(policy.document).admin()
    admin.put_bucket_lifecycle_configuration(Bucket=policy.bucket, LifecycleConfiguration=policy.lifecycle)
    rules = admin.get_bucket_lifecycle_configuration(Bucket=policy.bucket)["Rules"]
    aborting = [r for r in rules if "AbortIncompleteMultipartUpload" in r and r["Status"] == "Enabled"]
    assert [r.get("Filter", {}).get("Prefix") for r in aborting] == [f"{policy.prefix}/"], rules


#: Functions that take the operation as ``action``, and its position among their arguments.
_ACTION_ARGUMENT = {"attempts": 2, "chained": 3, "translate": 3, "_s3": 1}


def _actions_passed(package: Path) -> dict[str, str]:
    """Every literal ``action`` the package passes to the retry loop and the error translation -> where."""
    found = {}
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            at = _ACTION_ARGUMENT.get(name)
            action = node.args[at] if at is not None and len(node.args) > at else None
            if isinstance(action, ast.Constant):
                found[str(action.value)] = f"{path.name}:{node.lineno}"
    return found


def test_every_operation_names_one_permission() -> None:
    """Each ``action`` a caller passes (store, transfer, gc) maps to one permission in failures.PERMISSIONS, and
    every permission there has a caller; the refusals themselves are checked against the evaluator above."""
    import xcom_s3
    from xcom_s3 import failures

    passed = _actions_passed(Path(xcom_s3.__file__).parent)
    unknown = {action: at for action, at in passed.items() if action.split(" ", 1)[0] not in failures.PERMISSIONS}
    assert not unknown, f"actions with no permission in failures.PERMISSIONS: {unknown}"
    unused = set(failures.PERMISSIONS) - {action.split(" ", 1)[0] for action in passed}
    assert not unused, f"failures.PERMISSIONS entries no caller passes: {sorted(unused)}"


def test_an_unknown_access_key_is_not_reported_as_a_missing_permission(
    worker_for: Callable[[dict[str, Any]], Worker], policy: ReadmePolicy
) -> None:
    """An access key S3 does not know (InvalidAccessKeyId; a wrong secret, SignatureDoesNotMatch, takes the same
    branch) is no permission problem: the message says to check the credentials, and names no permission."""
    w = worker_for(policy.document)
    w.configure(keys=Keys(w.keys.user, "AKIA" + "X" * 16, w.keys.secret_key))
    message = w.push_refused("push with an unknown access key", json_value(), "t")
    assert "does not accept the worker's credentials (InvalidAccessKeyId)" in message, message
    assert "AWS_ACCESS_KEY_ID" in message and "Grant" not in message and "s3:GetObject" not in message, message
