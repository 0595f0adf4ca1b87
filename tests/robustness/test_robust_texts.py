"""The whole text of every error and warning a user reads, word for word, each provoked as a task meets it.

Why: the other tests check that a message names the object and the setting (test_robust_errors, test_robust_config,
test_robust_integrity) or pin its ending (test_robust_messages); a word dropped, a sentence cut or a case changed in
the rest went unnoticed. Here each text is spelled out in full, including both wordings where a condition picks one
(a denied read or write, a damaged object read once or on every attempt). The failure comes from the real S3
server (a missing object or bucket, an object edited in S3), from the fault proxy (S3's own 403 and 503 answers),
or from a real misconfiguration. Where the parts of a message that are botocore's or Python's own words (an
exception's text) are interpolated, the test takes them from the raised error's cause, never from our module.
"""

from __future__ import annotations

import codecs
import dataclasses
import hashlib
import logging
import pickle
import re
from typing import Any

import airflow_io
import pytest
from fault_proxy import FaultProxy
from rb_support import as_stored, big_frame, context, json_value, key_of, object_place, push, pushed_key, value_for

pytestmark = pytest.mark.usefixtures("fast_backoff")

#: What every refused read adds: S3 answers 403 for a missing key to credentials that may not list the bucket.
READ_DENIED = (
    "The object may not exist: S3 answers 403 instead of 404 for a missing key when the credentials may not list it, "
    "so it may have been purged or deleted (task cleared, `xcom-s3 gc`) or expired by a bucket lifecycle rule; then "
    "re-run the task that produced it. If it exists, grant the worker's credentials"
)
#: The end of every integrity failure.
RERUN = "The object was changed or damaged after it was written; re-run the task that produced it."
#: The end of every budget spent on transient failures.
BOUNDS = (
    "Check that the endpoint is reachable and healthy from this worker (AIRFLOW__XCOM_S3__ENDPOINT_URL); "
    "AIRFLOW__XCOM_S3__MAX_ATTEMPTS, AIRFLOW__XCOM_S3__CONNECT_TIMEOUT and AIRFLOW__XCOM_S3__READ_TIMEOUT bound the "
    "retries."
)


def _objects(env: Any) -> str:
    return f"arn:aws:s3:::{env.endpoint.bucket}/{env.prefix}/*"


def _push(backend: Any, value: Any, i: int) -> Any:
    return airflow_io.store(backend, value, context(i))


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("xcom_s3") and r.levelno >= logging.WARNING]


def _gave_up(action: str, place: str, attempts: int, problem: str) -> re.Pattern[str]:
    """The whole message of a spent budget; only the elapsed time is left open."""
    head = f"Cannot {action} {place}: gave up after {attempts} attempts in "
    return re.compile(re.escape(head) + r"\d+\.\ds" + re.escape(f"; last error: {problem}. {BOUNDS}"))


# ---- failures.translate: what S3 answered ------------------------------------------------------------------------


def test_a_missing_object_names_every_likely_cause_in_full(backend: Any, xcom_s3_env: Any) -> None:
    from xcom_s3.errors import ObjectMissingError

    stored, ref = push(backend, json_value(1), 1)
    xcom_s3_env.client.delete_object(Bucket=xcom_s3_env.endpoint.bucket, Key=key_of(ref))
    with pytest.raises(ObjectMissingError) as raised:
        airflow_io.load(backend, stored)
    assert str(raised.value) == (
        f"XCom object {object_place(xcom_s3_env, key_of(ref))} does not exist. Likely causes: it was purged or deleted "
        "(task cleared, `xcom-s3 gc`), a bucket lifecycle rule expired it, or AIRFLOW__XCOM_S3__BUCKET / "
        "AIRFLOW__XCOM_S3__ENDPOINT_URL point at another store than the one that wrote it."
    )


def test_a_missing_bucket_says_to_create_it_or_fix_the_setting(backend: Any, xcom_s3_env: Any) -> None:
    from xcom_s3.errors import StorageError

    missing = f"{xcom_s3_env.endpoint.bucket}-missing-{xcom_s3_env.prefix}"
    xcom_s3_env.set("bucket", missing)
    with pytest.raises(StorageError) as raised:
        _push(backend, json_value(2), 2)
    place = f"s3://{missing}/{pushed_key(xcom_s3_env, 2)} (endpoint {xcom_s3_env.endpoint.endpoint_url})"
    assert str(raised.value) == (
        f"Cannot write {place}: bucket {missing!r} does not exist. Create it or fix AIRFLOW__XCOM_S3__BUCKET."
    )


def test_a_refused_write_names_the_put_permission(backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any) -> None:
    from xcom_s3.errors import StorageError

    via_proxy.inject("denied", method="PUT")
    with pytest.raises(StorageError) as raised:
        _push(backend, json_value(3), 3)
    place = object_place(xcom_s3_env, pushed_key(xcom_s3_env, 3), via_proxy.endpoint_url)
    assert str(raised.value) == (
        f"Cannot write {place}: access denied (AccessDenied). Grant the worker's credentials s3:PutObject on "
        f"{_objects(xcom_s3_env)}."
    )


def test_a_refused_read_says_the_object_may_be_gone_and_names_the_get_permission(
    backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any
) -> None:
    from xcom_s3.errors import StorageError

    stored, ref = push(backend, json_value(4), 4)
    via_proxy.inject("denied", method="GET")
    with pytest.raises(StorageError) as raised:
        airflow_io.load(backend, stored)
    place = object_place(xcom_s3_env, key_of(ref), via_proxy.endpoint_url)
    assert str(raised.value) == (
        f"Cannot read {place}: access denied (AccessDenied). {READ_DENIED} s3:GetObject on {_objects(xcom_s3_env)}."
    )


def test_a_refused_purge_logs_that_the_object_stays_and_the_delete_permission(
    backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any, caplog: pytest.LogCaptureFixture
) -> None:
    stored, ref = push(backend, json_value(5), 5)
    via_proxy.inject("denied", method="DELETE")
    caplog.set_level(logging.WARNING, logger="xcom_s3")
    airflow_io.purge(backend, stored, context(5))
    uri = f"s3://{xcom_s3_env.endpoint.bucket}/{key_of(ref)}"
    place = object_place(xcom_s3_env, key_of(ref), via_proxy.endpoint_url)
    assert _warnings(caplog) == [
        f"Could not purge XCom object {uri}: Cannot delete {place}: access denied (AccessDenied). Grant the worker's "
        f"credentials s3:DeleteObject on {_objects(xcom_s3_env)}."
    ]


def test_no_credentials_anywhere_names_boto3s_chain_and_the_default_endpoint(
    backend: Any, xcom_s3_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No endpoint set (real AWS) and no credentials: botocore fails before it sends anything."""
    from xcom_s3 import S3XComBackend
    from xcom_s3.errors import StorageError

    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        monkeypatch.setenv(name, "/nonexistent/xcom-s3-test")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    xcom_s3_env.set("endpoint_url", None)
    S3XComBackend.reset_client()
    with pytest.raises(StorageError) as raised:
        _push(backend, json_value(6), 6)
    place = f"s3://{xcom_s3_env.endpoint.bucket}/{pushed_key(xcom_s3_env, 6)} (endpoint the default AWS S3 endpoint)"
    assert str(raised.value) == (
        f"Cannot write {place}: no AWS credentials found. Provide them through boto3's standard chain "
        "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance or pod role)."
    )


@pytest.mark.parametrize(
    ("variable", "value", "cause"),
    [
        (
            "AWS_SECRET_ACCESS_KEY",
            None,
            "PartialCredentialsError: Partial credentials found in env, missing: AWS_SECRET_ACCESS_KEY",
        ),
        ("AWS_PROFILE", "no-such-profile", "ProfileNotFound: The config profile (no-such-profile) could not be found"),
    ],
    ids=["half-a-key-pair", "missing-profile"],
)
def test_aws_settings_boto3_cannot_use_are_named_with_the_bucket(
    backend: Any, xcom_s3_env: Any, monkeypatch: pytest.MonkeyPatch, variable: str, value: str | None, cause: str
) -> None:
    """botocore refuses to create a client (an access key without its secret, a profile no config file has)
    before any request: the refusal names the bucket, botocore's reason and the settings to fix, never botocore's
    bare exception."""
    from xcom_s3 import S3XComBackend
    from xcom_s3.errors import ConfigError

    with monkeypatch.context() as aws:  # this test's own client (the bucket's listing below) needs them back
        if value is None:
            aws.delenv(variable)
        else:
            aws.setenv(variable, value)
        S3XComBackend.reset_client()
        with pytest.raises(ConfigError) as raised:
            _push(backend, json_value(6), 6)
    S3XComBackend.reset_client()
    assert str(raised.value) == (
        f"boto3 cannot create the S3 client for bucket {xcom_s3_env.endpoint.bucket!r} ({cause}). Fix the AWS "
        "settings boto3 reads on this worker (AWS_ACCESS_KEY_ID with AWS_SECRET_ACCESS_KEY, AWS_PROFILE, "
        "AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE)."
    )
    assert xcom_s3_env.keys() == []


def test_a_request_botocore_refuses_to_send_names_the_bucket_and_prefix(backend: Any, xcom_s3_env: Any) -> None:
    """A request botocore refuses to send (here: a bucket name it rejects) is about the settings, not the network."""
    from xcom_s3.errors import StorageError

    xcom_s3_env.set("bucket", "bad bucket!")
    with pytest.raises(StorageError) as raised:
        _push(backend, json_value(7), 7)
    place = f"s3://bad bucket!/{pushed_key(xcom_s3_env, 7)} (endpoint {xcom_s3_env.endpoint.endpoint_url})"
    cause = raised.value.__cause__
    assert type(cause).__name__ == "ParamValidationError", repr(cause)
    assert str(raised.value) == (
        f"Cannot write {place}: botocore refused the request before sending it ({cause}). Check the bucket name "
        "(AIRFLOW__XCOM_S3__BUCKET) and the key prefix (AIRFLOW__XCOM_S3__PREFIX)."
    )


def test_an_answer_with_no_advice_of_ours_is_quoted_with_its_code(
    backend: Any, xcom_s3_env: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """S3 refuses to complete a multipart upload of parts under its 5 MiB minimum (EntityTooSmall): the code and
    S3's words; the upload is aborted, so nothing is logged."""
    from xcom_s3 import transfer
    from xcom_s3.errors import StorageError

    monkeypatch.setattr(transfer, "PART_SIZE", 64 * 2**10)
    monkeypatch.setattr(transfer, "MULTIPART_THRESHOLD", 0)
    caplog.set_level(logging.WARNING, logger="xcom_s3")
    with pytest.raises(StorageError) as raised:
        _push(backend, big_frame(8, rows=20_000), 8)
    place = object_place(xcom_s3_env, pushed_key(xcom_s3_env, 8, "parquet"))
    cause = raised.value.__cause__
    assert "(EntityTooSmall)" in str(cause), repr(cause)
    assert str(raised.value) == f"Cannot write {place}: S3 answered EntityTooSmall: {cause}"
    assert _warnings(caplog) == []


def test_a_refusal_is_worded_for_the_operation_refused(via_proxy: FaultProxy, xcom_s3_env: Any) -> None:
    """The permission each operation needs, from one real 403 (an S3 GET the proxy refused) and one body-less 403
    (a HEAD's, whose code is the status): the action's first word picks the permission and the wording."""
    from botocore.exceptions import ClientError
    from xcom_s3 import failures
    from xcom_s3.settings import Settings

    bucket, prefix = xcom_s3_env.endpoint.bucket, xcom_s3_env.prefix
    settings = Settings(bucket=bucket, prefix=prefix, endpoint_url=via_proxy.endpoint_url)
    client = dataclasses.replace(xcom_s3_env.endpoint, endpoint_url=via_proxy.endpoint_url).client()
    key = f"{prefix}/some/key.json"
    refused: dict[str, ClientError] = {}
    for method, call in {"GET": client.get_object, "HEAD": client.head_object}.items():
        via_proxy.inject("denied", method=method)
        with pytest.raises(ClientError) as raised:
            call(Bucket=bucket, Key=key)
        refused[method] = raised.value
    place = f"s3://{bucket}/{key} (endpoint {via_proxy.endpoint_url})"
    objects = f"arn:aws:s3:::{bucket}/{prefix}/*"
    expected = {
        ("GET", "read"): f"Cannot read {place}: access denied (AccessDenied). {READ_DENIED} s3:GetObject on {objects}.",
        ("HEAD", "read"): f"Cannot read {place}: access denied (403). {READ_DENIED} s3:GetObject on {objects}.",
        ("GET", "read back"): (
            f"Cannot read back {place}: access denied (AccessDenied). {READ_DENIED} s3:GetObject on {objects}."
        ),
        ("GET", "write"): (
            f"Cannot write {place}: access denied (AccessDenied). Grant the worker's credentials s3:PutObject on "
            f"{objects}."
        ),
        ("GET", "delete objects under"): (
            f"Cannot delete objects under {place}: access denied (AccessDenied). Grant the worker's credentials "
            f"s3:DeleteObject on {objects}."
        ),
        ("GET", "list"): (
            f"Cannot list {place}: access denied (AccessDenied). Grant the worker's credentials s3:ListBucket on "
            f"arn:aws:s3:::{bucket} (for keys under {prefix}/)."
        ),
        ("GET", "abort the multipart upload of"): (
            f"Cannot abort the multipart upload of {place}: access denied (AccessDenied). Grant the worker's "
            f"credentials s3:AbortMultipartUpload on {objects}."
        ),
        ("GET", "frobnicate"): (
            f"Cannot frobnicate {place}: access denied (AccessDenied). Grant the worker's credentials the S3 "
            f"permission to frobnicate objects on {objects}."
        ),
    }
    got = {
        (method, action): str(failures.translate(refused[method], settings, key, action)) for method, action in expected
    }
    assert got == expected


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (
            "InvalidAccessKeyId",
            "S3 does not accept the worker's credentials (InvalidAccessKeyId). Check the access key and secret "
            "boto3's chain finds (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance or pod role) and "
            "that they belong to the account of this endpoint.",
        ),
        (
            "SignatureDoesNotMatch",
            "S3 does not accept the worker's credentials (SignatureDoesNotMatch). Check the access key and secret "
            "boto3's chain finds (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance or pod role) and "
            "that they belong to the account of this endpoint.",
        ),
        (
            "KMS.NotFoundException",
            "S3 could not use the KMS key (KMS.NotFoundException: {exc}). Check AIRFLOW__XCOM_S3__KMS_KEY_ID and the "
            "worker's kms:GenerateDataKey/kms:Decrypt permissions.",
        ),
        (
            "KMS.DisabledException",
            "S3 could not use the KMS key (KMS.DisabledException: {exc}). Check AIRFLOW__XCOM_S3__KMS_KEY_ID and the "
            "worker's kms:GenerateDataKey/kms:Decrypt permissions.",
        ),
        (
            "KMSInvalidKeyUsage",
            "S3 could not use the KMS key (KMSInvalidKeyUsage: {exc}). Check AIRFLOW__XCOM_S3__KMS_KEY_ID and the "
            "worker's kms:GenerateDataKey/kms:Decrypt permissions.",
        ),
        ("InvalidArgument", "S3 answered InvalidArgument: {exc}"),
    ],
)
def test_answers_the_test_server_never_gives_are_worded_in_full(code: str, says: str) -> None:
    """Codes moto does not answer (it checks no credentials and no KMS key): botocore's ClientError as it builds it
    from S3's XML error, translated directly."""
    from botocore.exceptions import ClientError
    from xcom_s3 import failures
    from xcom_s3.settings import Settings

    exc = ClientError(
        {"Error": {"Code": code, "Message": "S3's own words"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "PutObject"
    )
    settings = Settings(bucket="b", prefix="team/xcom", endpoint_url="https://s3.eu-west-1.amazonaws.com")
    place = "s3://b/team/xcom/d/r/t/-1/k.json.zst (endpoint https://s3.eu-west-1.amazonaws.com)"
    translated = failures.translate(exc, settings, "team/xcom/d/r/t/-1/k.json.zst", "write")
    assert str(translated) == f"Cannot write {place}: " + says.format(exc=exc)


def test_an_object_named_without_an_endpoint_is_on_the_default_aws_endpoint() -> None:
    from xcom_s3 import failures
    from xcom_s3.settings import Settings

    assert failures.where(Settings(bucket="b"), "xcom/k") == "s3://b/xcom/k (endpoint the default AWS S3 endpoint)"


# ---- transfer.abort_failed: a multipart upload left behind ----------------------------------------------------------


def test_an_upload_that_could_not_be_aborted_logs_how_to_remove_it(
    backend: Any,
    via_proxy: FaultProxy,
    xcom_s3_env: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """S3 refuses the CompleteMultipartUpload and then the AbortMultipartUpload: the task sees the write's refusal;
    the log says the parts stay, and the exact command that removes them."""
    from xcom_s3 import transfer
    from xcom_s3.errors import StorageError

    monkeypatch.setattr(transfer, "PART_SIZE", 64 * 2**10)
    monkeypatch.setattr(transfer, "MULTIPART_THRESHOLD", 0)
    via_proxy.inject(None, "denied", method="POST")  # create the upload, then refuse to complete it
    via_proxy.inject("denied", method="DELETE")  # and refuse to abort it
    caplog.set_level(logging.WARNING, logger="xcom_s3")
    bucket, key = xcom_s3_env.endpoint.bucket, pushed_key(xcom_s3_env, 9, "parquet")
    with pytest.raises(StorageError) as raised:
        _push(backend, big_frame(9, rows=20_000), 9)
    uploads = xcom_s3_env.client.list_multipart_uploads(Bucket=bucket, Prefix=key).get("Uploads", [])
    try:
        assert [u["Key"] for u in uploads] == [key], "the refused abort left no upload behind: nothing to check"
        upload_id = uploads[0]["UploadId"]
        place = object_place(xcom_s3_env, key, via_proxy.endpoint_url)
        assert str(raised.value) == (
            f"Cannot write {place}: access denied (AccessDenied). Grant the worker's credentials s3:PutObject on "
            f"{_objects(xcom_s3_env)}."
        )
        assert _warnings(caplog) == [
            f"Multipart upload {upload_id} of s3://{bucket}/{key} was not aborted: Cannot abort the multipart upload "
            f"of {place}: access denied (AccessDenied). Grant the worker's credentials s3:AbortMultipartUpload on "
            f"{_objects(xcom_s3_env)}. Until it is, S3 keeps its parts (billed, invisible to ListObjects and to "
            "`xcom-s3 gc`). A bucket lifecycle rule with AbortIncompleteMultipartUpload on the prefix removes them, "
            f"or by hand: aws s3api abort-multipart-upload --bucket {bucket} --key {key} --upload-id {upload_id}"
        ]
    finally:
        for upload in uploads:
            xcom_s3_env.client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])


# ---- retry / failures.gave_up: a budget spent on transient answers -------------------------------------------------


def test_a_write_throttled_to_the_end_gives_up_in_full_and_logs_each_retry(
    backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from xcom_s3.errors import StorageError

    xcom_s3_env.set("max_attempts", 2)
    via_proxy.inject("slowdown", "slowdown", method="PUT")
    caplog.set_level(logging.INFO, logger="xcom_s3")
    with pytest.raises(StorageError) as raised:
        _push(backend, json_value(10), 10)
    key = pushed_key(xcom_s3_env, 10)
    problem = "S3 asked to slow down (SlowDown, HTTP 503)"
    place = object_place(xcom_s3_env, key, via_proxy.endpoint_url)
    assert _gave_up("write", place, 2, problem).fullmatch(str(raised.value)), str(raised.value)
    retried = [r.getMessage() for r in caplog.records if r.name == "xcom_s3.retry"]
    assert retried == [f"XCom S3 write of {key} failed (attempt 1/2), retrying: {problem}"]


def test_a_read_failing_on_the_server_to_the_end_gives_up_in_full(
    backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any
) -> None:
    from xcom_s3.errors import StorageError

    stored, ref = push(backend, json_value(11), 11)
    xcom_s3_env.set("max_attempts", 2)
    via_proxy.inject("internal", "internal", method="GET")
    with pytest.raises(StorageError) as raised:
        airflow_io.load(backend, stored)
    place = object_place(xcom_s3_env, key_of(ref), via_proxy.endpoint_url)
    problem = "S3 answered InternalError (HTTP 500)"
    assert _gave_up("read", place, 2, problem).fullmatch(str(raised.value)), str(raised.value)


def test_a_ranged_read_throttled_to_the_end_gives_up_as_a_read(
    backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A frame read in concurrent ranges: each range is a read under the budget, and says so."""
    from xcom_s3 import transfer
    from xcom_s3.errors import StorageError

    monkeypatch.setattr(transfer, "SINGLE_GET_MAX", 0)
    monkeypatch.setattr(transfer, "RANGE_SIZE", 1024)
    stored, ref = push(backend, value_for(0), 12)
    xcom_s3_env.set("max_attempts", 2)
    via_proxy.set_plan(1.0, {"slowdown": 1.0})
    with pytest.raises(StorageError) as raised:
        airflow_io.load(backend, stored)
    place = object_place(xcom_s3_env, key_of(ref), via_proxy.endpoint_url)
    problem = "S3 asked to slow down (SlowDown, HTTP 503)"
    assert _gave_up("read", place, 2, problem).fullmatch(str(raised.value)), str(raised.value)


# ---- failures.damaged / integrity: bytes that are not what the reference records ------------------------------------


def _replace(env: Any, key: str, data: bytes) -> None:
    env.client.put_object(Bucket=env.endpoint.bucket, Key=key, Body=data)


def test_the_same_wrong_bytes_twice_fail_the_integrity_check_naming_both_checksums(
    backend: Any, xcom_s3_env: Any
) -> None:
    """Read once more (the wire may have damaged them), then the stored bytes are wrong: no count of reads."""
    from xcom_s3.errors import IntegrityError

    stored, ref = push(backend, json_value(13), 13)
    data = bytearray(xcom_s3_env.get(key_of(ref)))
    data[len(data) // 2] ^= 0x01
    _replace(xcom_s3_env, key_of(ref), bytes(data))
    with pytest.raises(IntegrityError) as raised:
        airflow_io.load(backend, stored)
    actual = hashlib.sha256(bytes(data)).hexdigest()
    assert str(raised.value) == (
        f"XCom object {object_place(xcom_s3_env, key_of(ref))} failed its integrity check: checksum mismatch: sha256 "
        f"{actual} does not match the reference's {ref['sha256']}. {RERUN}"
    )


def test_a_shortened_object_fails_the_integrity_check_naming_both_sizes(backend: Any, xcom_s3_env: Any) -> None:
    from xcom_s3.errors import IntegrityError

    stored, ref = push(backend, json_value(14), 14)
    _replace(xcom_s3_env, key_of(ref), xcom_s3_env.get(key_of(ref))[:-3])
    with pytest.raises(IntegrityError) as raised:
        airflow_io.load(backend, stored)
    assert str(raised.value) == (
        f"XCom object {object_place(xcom_s3_env, key_of(ref))} failed its integrity check: size mismatch: got "
        f"{ref['size'] - 3} bytes, the reference records {ref['size']}. {RERUN}"
    )


def test_a_frame_object_of_another_size_fails_on_every_read_and_counts_them(backend: Any, xcom_s3_env: Any) -> None:
    """A streamed download sees the size in the answer's headers, before any byte: every attempt of the budget
    fails the same way, and the message counts them."""
    from xcom_s3.errors import IntegrityError

    stored, ref = push(backend, value_for(0), 15)
    _replace(xcom_s3_env, key_of(ref), xcom_s3_env.get(key_of(ref)) + b"tail")
    xcom_s3_env.set("max_attempts", 3)
    with pytest.raises(IntegrityError) as raised:
        airflow_io.load(backend, stored)
    assert str(raised.value) == (
        f"XCom object {object_place(xcom_s3_env, key_of(ref))} failed its integrity check on 3 reads: size mismatch: "
        f"the object holds {ref['size'] + 4} bytes, the reference records {ref['size']}. {RERUN}"
    )


def test_a_frame_object_of_another_size_read_once_does_not_claim_the_object_is_damaged(
    backend: Any, xcom_s3_env: Any
) -> None:
    """MAX_ATTEMPTS=1: one read cannot tell damage on the way from damage in S3; the message says so, names the
    setting that allows a second read, and counts no "1 reads"."""
    from xcom_s3.errors import IntegrityError

    stored, ref = push(backend, value_for(0), 16)
    _replace(xcom_s3_env, key_of(ref), xcom_s3_env.get(key_of(ref)) + b"tail")
    xcom_s3_env.set("max_attempts", 1)
    with pytest.raises(IntegrityError) as raised:
        airflow_io.load(backend, stored)
    assert str(raised.value) == (
        f"XCom object {object_place(xcom_s3_env, key_of(ref))} failed its integrity check on its only read "
        f"(AIRFLOW__XCOM_S3__MAX_ATTEMPTS=1): size mismatch: the object holds {ref['size'] + 4} bytes, the reference "
        f"records {ref['size']}. One read cannot tell damage on the way from an object changed or damaged in S3: "
        "allow more attempts to read it again, or re-run the task that produced it."
    )


# ---- backend: values it cannot read back ----------------------------------------------------------------------------


def _escaped_pickle(pickled: str) -> dict[str, Any]:
    return {"__xcom_s3__": 1, "kind": "escaped", "pickle": pickled}


def test_a_pickled_value_where_pickling_is_off_says_how_to_read_it(
    backend: Any, xcom_s3_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2.x with [core] enable_xcom_pickling off, and every 3.x (a row left from 2.x): the same words."""
    from xcom_s3.errors import XComS3Error

    monkeypatch.setenv("AIRFLOW__CORE__ENABLE_XCOM_PICKLING", "False")
    row = _escaped_pickle(codecs.escape_encode(pickle.dumps({"a": 1}))[0].decode("ascii"))
    with pytest.raises(XComS3Error) as raised:
        airflow_io.load(backend, as_stored(row))
    assert str(raised.value) == (
        "This XCom value was pushed as a pickle (Airflow 2 with [core] enable_xcom_pickling = True) and pickling is "
        "off here. On Airflow 2 set AIRFLOW__CORE__ENABLE_XCOM_PICKLING=True to read it; Airflow 3 reads no pickled "
        "XComs (its 3.0 migration archives the default backend's too): re-run the task that pushed it."
    )


def test_a_malformed_escaped_pickle_is_refused_as_not_ours(
    backend: Any, xcom_s3_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xcom_s3.errors import XComS3Error

    if airflow_io.IS_3X:
        pytest.skip("n/a: Airflow 3 reads no pickles, so it never decodes one (the test above)")
    monkeypatch.setenv("AIRFLOW__CORE__ENABLE_XCOM_PICKLING", "True")
    with pytest.raises(XComS3Error) as raised:
        airflow_io.load(backend, as_stored(_escaped_pickle("é")))
    assert str(raised.value) == (
        "XCom value holds a malformed escaped pickle ('ascii' codec can't encode character '\\xe9' in position 0: "
        "ordinal not in range(128)); it was not written by xcom-s3."
    )


def test_a_reference_of_an_unknown_format_is_named(backend: Any, xcom_s3_env: Any) -> None:
    from xcom_s3.errors import XComS3Error

    _, ref = push(backend, json_value(16), 16)
    ref["format"] = "csv"
    with pytest.raises(XComS3Error) as raised:
        airflow_io.load(backend, as_stored(ref))
    assert str(raised.value) == f"XCom reference {ref['uri']!r} has unknown format 'csv'."


def test_a_frame_of_a_type_this_version_cannot_build_says_to_upgrade(backend: Any, xcom_s3_env: Any) -> None:
    from xcom_s3.errors import XComS3Error

    _, ref = push(backend, value_for(0), 17)
    ref["returns"] = "numpy.ndarray"
    with pytest.raises(XComS3Error) as raised:
        airflow_io.load(backend, as_stored(ref))
    assert str(raised.value) == (
        f"XCom reference {ref['uri']!r} holds a 'numpy.ndarray', which this version of xcom-s3 cannot read back. "
        "Upgrade xcom-s3-compat on this worker to read it."
    )


@pytest.mark.parametrize(("kind", "fmt"), [("json", "JSON"), ("frame", "Parquet")])
def test_bytes_that_match_their_reference_but_do_not_decode_were_not_written_by_us(
    backend: Any, xcom_s3_env: Any, kind: str, fmt: str
) -> None:
    """An object and its reference edited together (size and checksum match): the decoder's words in ours."""
    from xcom_s3.errors import IntegrityError

    _, ref = push(backend, json_value(18) if kind == "json" else value_for(0), 18)
    forged = b"these bytes are neither zstd nor Parquet" * 3
    _replace(xcom_s3_env, key_of(ref), forged)
    ref.update(size=len(forged), sha256=hashlib.sha256(forged).hexdigest())
    with pytest.raises(IntegrityError) as raised:
        airflow_io.load(backend, as_stored(ref))
    cause = raised.value.__cause__
    assert cause is not None
    assert str(raised.value) == (
        f"XCom object {object_place(xcom_s3_env, key_of(ref))} is not valid {fmt} ({type(cause).__name__}: {cause}), "
        "although it matches the size and checksum its reference records: xcom-s3 did not write it (the object or "
        "the reference was edited). Re-run the task that produced it."
    )


# ---- reference: references this backend refuses to follow -----------------------------------------------------------


def test_a_reference_of_a_newer_format_says_to_upgrade(backend: Any, xcom_s3_env: Any) -> None:
    from xcom_s3.errors import XComS3Error

    _, ref = push(backend, json_value(19), 19)
    ref["__xcom_s3__"] = 2
    with pytest.raises(XComS3Error) as raised:
        airflow_io.load(backend, as_stored(ref))
    assert str(raised.value) == (
        "XCom value was written by xcom-s3 format version 2; this backend reads version 1. Upgrade xcom-s3-compat on "
        "this worker to read it."
    )


def test_a_reference_without_a_uri_is_quoted(backend: Any, xcom_s3_env: Any) -> None:
    from xcom_s3.errors import ForeignReferenceError

    _, ref = push(backend, json_value(20), 20)
    ref["uri"] = f"https://{xcom_s3_env.endpoint.bucket}.s3.amazonaws.com/{key_of(ref)}"
    with pytest.raises(ForeignReferenceError) as raised:
        airflow_io.load(backend, as_stored(ref))
    assert str(raised.value) == f"XCom reference has no s3:// uri: {ref!r}"


def test_a_reference_outside_the_location_names_both_settings(backend: Any, xcom_s3_env: Any) -> None:
    from xcom_s3.errors import ForeignReferenceError

    _, ref = push(backend, json_value(21), 21)
    bucket = xcom_s3_env.endpoint.bucket
    ref["uri"] = uri = f"s3://other-{bucket}/{key_of(ref)}"
    with pytest.raises(ForeignReferenceError) as raised:
        airflow_io.load(backend, as_stored(ref))
    assert str(raised.value) == (
        f"Refusing to read XCom reference {uri!r}: it points outside the configured location "
        f"s3://{bucket}/{xcom_s3_env.prefix}/. If the value was written under another bucket or prefix, set "
        "AIRFLOW__XCOM_S3__BUCKET / AIRFLOW__XCOM_S3__PREFIX to that location to read it."
    )


# ---- settings, store, keys: configuration ---------------------------------------------------------------------------

#: (setting, raw value, the whole ConfigError the first offloading push raises).
BAD_SETTINGS = [
    (
        "bucket",
        None,
        "No S3 bucket configured for XCom: set AIRFLOW__XCOM_S3__BUCKET (or [xcom_s3] bucket in airflow.cfg) to the "
        "bucket that should hold offloaded XCom values.",
    ),
    (
        "compression",
        "LZ4",
        "AIRFLOW__XCOM_S3__COMPRESSION='lz4' is not supported: use one of zstd, snappy, gzip, none.",
    ),
    ("sse", "rot13", "AIRFLOW__XCOM_S3__SSE='rot13' is not supported: use one of AES256, aws:kms."),
    ("kms_key_id", "alias/xcom", "AIRFLOW__XCOM_S3__KMS_KEY_ID is set, so also set AIRFLOW__XCOM_S3__SSE=aws:kms."),
    ("prefix", "a/../b", "AIRFLOW__XCOM_S3__PREFIX='a/../b' must be a non-empty key prefix without '..'."),
    ("prefix", "/", "AIRFLOW__XCOM_S3__PREFIX='' must be a non-empty key prefix without '..'."),
    (
        "threshold",
        "lots",
        "AIRFLOW__XCOM_S3__THRESHOLD='lots' is not valid: expected a whole number of bytes, 0 to offload all.",
    ),
    (
        "threshold",
        "-1",
        "AIRFLOW__XCOM_S3__THRESHOLD='-1' is not valid: expected a whole number of bytes, 0 to offload all (>= 0).",
    ),
    (
        "max_attempts",
        "many",
        "AIRFLOW__XCOM_S3__MAX_ATTEMPTS='many' is not valid: expected a whole number of attempts.",
    ),
    (
        "max_attempts",
        "0",
        "AIRFLOW__XCOM_S3__MAX_ATTEMPTS='0' is not valid: expected a whole number of attempts (>= 1).",
    ),
    ("connect_timeout", "soon", "AIRFLOW__XCOM_S3__CONNECT_TIMEOUT='soon' is not valid: expected seconds."),
    ("read_timeout", "-3", "AIRFLOW__XCOM_S3__READ_TIMEOUT='-3' is not valid: expected seconds (>= 0)."),
]


@pytest.mark.parametrize(("name", "raw", "message"), BAD_SETTINGS, ids=[f"{n}={r}" for n, r, _ in BAD_SETTINGS])
def test_a_bad_setting_is_named_with_what_it_takes(
    backend: Any, xcom_s3_env: Any, name: str, raw: str | None, message: str
) -> None:
    from xcom_s3.errors import ConfigError

    xcom_s3_env.set(name, raw)
    with pytest.raises(ConfigError) as raised:
        _push(backend, json_value(22), 22)
    assert str(raised.value) == message


@pytest.mark.parametrize(("name", "raw"), [("endpoint_url", "not a url"), ("region", "not a region!")])
def test_a_client_botocore_cannot_make_names_the_setting(backend: Any, xcom_s3_env: Any, name: str, raw: str) -> None:
    from xcom_s3 import S3XComBackend
    from xcom_s3.errors import ConfigError

    xcom_s3_env.set(name, raw)
    S3XComBackend.reset_client()
    with pytest.raises(ConfigError) as raised:
        _push(backend, json_value(23), 23)
    cause = raised.value.__cause__
    assert cause is not None
    assert (
        str(raised.value)
        == {
            "endpoint_url": (
                f"AIRFLOW__XCOM_S3__ENDPOINT_URL='not a url' is not a valid endpoint URL ({cause}); expected e.g. "
                "http://127.0.0.1:9000 or https://s3.eu-west-1.amazonaws.com."
            ),
            "region": f"AIRFLOW__XCOM_S3__REGION='not a region!' is not a valid AWS region name: {cause}",
        }[name]
    )


def test_a_prefix_too_long_for_any_key_says_so(backend: Any, xcom_s3_env: Any) -> None:
    prefix = "p" * 1100
    xcom_s3_env.set("prefix", prefix)
    with pytest.raises(ValueError) as raised:
        _push(backend, json_value(24), 24)
    assert str(raised.value) == f"the prefix {prefix!r} is too long for any XCom key to fit S3's 1024 bytes"
