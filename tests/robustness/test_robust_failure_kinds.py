"""Answers and failures that neither the test S3 server nor the fault proxy gives, as the backend and gc word them.

Why: test_robust_texts words every failure moto or the fault proxy can provoke. S3-compatible stores, gateways and
KMS answer a few more shapes, and each one picks a different message (failures.translate) or a different retry
(retry._classify): a 404 without a body (its code is then the status, ``404``), a ``NotFound`` code, a KMS code
outside the three the module lists, an ``<Error>`` without a ``<Code>`` or with an empty one. Here the answering
proxy answers every request with one error after a value was pushed, as such a store would, so the backend's real
read meets it: each entry's own botocore parses the answer and the backend's own retry loop meets it.

Failures that are no S3 answer at all (no credentials, a parameter botocore refuses, a refused connection) carry no
S3 code and no status: gc, which looks for a denied code in every failure, must still word them as the backend does.
"""

from __future__ import annotations

import re
import socket
from datetime import timedelta
from typing import Any

import airflow_io
import pytest
from answering_proxy import Answer, AnsweringProxy
from rb_support import json_value, key_of, object_place, push, pushed_key

pytestmark = pytest.mark.usefixtures("fast_backoff")

#: The advice of every missing object.
MISSING = (
    "does not exist. Likely causes: it was purged or deleted (task cleared, `xcom-s3 gc`), a bucket lifecycle rule "
    "expired it, or AIRFLOW__XCOM_S3__BUCKET / AIRFLOW__XCOM_S3__ENDPOINT_URL point at another store than the one "
    "that wrote it."
)
#: The end of every budget spent on transient failures.
BOUNDS = (
    "Check that the endpoint is reachable and healthy from this worker (AIRFLOW__XCOM_S3__ENDPOINT_URL); "
    "AIRFLOW__XCOM_S3__MAX_ATTEMPTS, AIRFLOW__XCOM_S3__CONNECT_TIMEOUT and AIRFLOW__XCOM_S3__READ_TIMEOUT bound the "
    "retries."
)


def _read_answered(backend: Any, answering: AnsweringProxy, i: int, answer: Answer) -> tuple[Exception, str]:
    """Push a value, then read it back with every request answered so: the error raised, and the object's key."""
    stored, ref = push(backend, json_value(i), i)
    answering.answer_every(answer)
    with pytest.raises(Exception) as raised:
        airflow_io.load(backend, stored)
    return raised.value, key_of(ref)


# ---- what a store's answer means ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [Answer(404, body=False), Answer(404, "NotFound"), Answer(404, "NoSuchKey")],
    ids=["404-without-a-body", "NotFound", "NoSuchKey"],
)
def test_every_way_a_store_says_not_found_reads_as_a_missing_object(
    backend: Any, xcom_s3_env: Any, answering: AnsweringProxy, answer: Answer
) -> None:
    """A 404 without a body (a HEAD's, or a gateway's: botocore makes its status the code), a ``NotFound`` code
    (S3-compatible stores) and S3's own ``NoSuchKey``: the same missing object, with every likely cause."""
    from xcom_s3.errors import ObjectMissingError

    error, key = _read_answered(backend, answering, 1, answer)
    assert isinstance(error, ObjectMissingError), repr(error)
    assert str(error) == f"XCom object {object_place(xcom_s3_env, key, answering.endpoint_url)} {MISSING}"


@pytest.mark.parametrize("code", ["KMS.KMSInvalidStateException", "KMS.DisabledException", "KMS.NotFoundException"])
def test_any_kms_code_is_worded_as_a_kms_key_s3_could_not_use(
    backend: Any, xcom_s3_env: Any, answering: AnsweringProxy, code: str
) -> None:
    """The key pending deletion (``KMS.KMSInvalidStateException``) too, not only the codes the module lists."""
    from xcom_s3.errors import StorageError

    error, key = _read_answered(backend, answering, 2, Answer(400, code))
    assert isinstance(error, StorageError), repr(error)
    cause = error.__cause__
    assert f"({code})" in str(cause), repr(cause)
    where = object_place(xcom_s3_env, key, answering.endpoint_url)
    assert str(error) == (
        f"Cannot read {where}: S3 could not use the KMS key ({code}: {cause}). Check "
        "AIRFLOW__XCOM_S3__KMS_KEY_ID and the worker's kms:GenerateDataKey/kms:Decrypt permissions."
    )


#: What S3 answers when KMS refuses the key to the credentials (an SSE-KMS object's read, a write with KMS_KEY_ID).
KMS_DENIED = (
    "User: arn:aws:iam::123456789012:role/worker is not authorized to perform: {action} on resource: "
    "arn:aws:kms:us-east-1:123456789012:key/1234abcd because no identity-based policy allows the {action} action"
)


@pytest.mark.parametrize(("doing", "action"), [("read", "kms:Decrypt"), ("write", "kms:GenerateDataKey")])
def test_a_kms_refusal_asks_for_the_kms_permissions_not_s3s(
    backend: Any, xcom_s3_env: Any, answering: AnsweringProxy, doing: str, action: str
) -> None:
    """S3 answers a key KMS refuses with its own AccessDenied: the credentials already have s3:GetObject/PutObject
    (advice to grant those misled), so the KMS permissions are named, with S3's words."""
    from xcom_s3.errors import StorageError

    said = KMS_DENIED.format(action=action)
    if doing == "read":
        error, key = _read_answered(backend, answering, 5, Answer(403, "AccessDenied", message=said))
    else:
        answering.answer_every(Answer(403, "AccessDenied", message=said))
        with pytest.raises(StorageError) as raised:
            push(backend, json_value(6), 6)
        error, key = raised.value, pushed_key(xcom_s3_env, 6)
    assert isinstance(error, StorageError), repr(error)
    where = object_place(xcom_s3_env, key, answering.endpoint_url)
    assert str(error) == (
        f"Cannot {doing} {where}: KMS denied the worker's credentials the use of its "
        f"key (AccessDenied: {said}). Grant them kms:Decrypt (to read) and kms:GenerateDataKey (to write) on the key "
        "AIRFLOW__XCOM_S3__KMS_KEY_ID names, or on the bucket's default key."
    )


@pytest.mark.parametrize("code", [None, ""], ids=["no-code", "empty-code"])
def test_an_error_without_a_code_is_quoted_with_its_http_status(
    backend: Any, xcom_s3_env: Any, answering: AnsweringProxy, code: str | None
) -> None:
    """An ``<Error>`` without ``<Code>``, or with an empty one: the status stands in for the code the store left
    out (an empty code once read as the text "None")."""
    from botocore.exceptions import ClientError
    from xcom_s3.errors import StorageError

    error, key = _read_answered(backend, answering, 3, Answer(400, code))
    assert isinstance(error, StorageError), repr(error)
    cause = error.__cause__
    assert isinstance(cause, ClientError), repr(cause)
    assert (
        str(error) == f"Cannot read {object_place(xcom_s3_env, key, answering.endpoint_url)}: S3 answered 400: {cause}"
    )


@pytest.mark.parametrize("code", [None, ""], ids=["no-code", "empty-code"])
def test_a_server_error_without_a_code_is_retried_and_named_by_its_status(
    backend: Any, xcom_s3_env: Any, answering: AnsweringProxy, code: str | None
) -> None:
    """A 500 whose ``<Error>`` has no ``<Code>`` is transient like any 5xx; the budget's end names it by status."""
    from xcom_s3.errors import StorageError

    xcom_s3_env.set("max_attempts", 2)
    error, key = _read_answered(backend, answering, 4, Answer(500, code))
    assert isinstance(error, StorageError), repr(error)
    head = f"Cannot read {object_place(xcom_s3_env, key, answering.endpoint_url)}: gave up after 2 attempts in "
    tail = f"; last error: S3 answered an error (HTTP 500). {BOUNDS}"
    assert re.fullmatch(re.escape(head) + r"\d+\.\ds" + re.escape(tail), str(error)), str(error)


# ---- failures that are no S3 answer ---------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _raised(call: Any) -> Exception:
    with pytest.raises(Exception) as raised:
        call()
    return raised.value


def test_failures_that_are_no_s3_answer_have_no_code_and_no_status(xcom_s3_env: Any) -> None:
    """What botocore raises before or instead of an answer (a refused parameter and a refused connection raised by
    real clients; no credentials as botocore builds it), and a failure of ours."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError, ParamValidationError
    from xcom_s3 import failures
    from xcom_s3.errors import StorageError

    client = xcom_s3_env.client
    unreachable = boto3.session.Session().client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{_closed_port()}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=2),
    )
    failed = {
        "a parameter botocore refuses": _raised(lambda: client.get_object(Bucket="bad bucket!", Key="k")),
        "a refused connection": _raised(lambda: unreachable.get_object(Bucket="b", Key="k")),
        "no credentials": NoCredentialsError(),
        "ours": StorageError("Cannot read s3://b/k: gave up"),
    }
    assert isinstance(failed["a parameter botocore refuses"], ParamValidationError)
    assert isinstance(failed["a refused connection"], EndpointConnectionError)
    assert {what: failures.error_code(exc) for what, exc in failed.items()} == dict.fromkeys(failed, ("", 0))


def test_gc_words_a_request_botocore_refuses_to_send_as_the_backend_does(xcom_s3_env: Any) -> None:
    """gc looks for a denied code in the cause of every failed request; a cause that is no S3 answer (here: a
    bucket name botocore rejects) has none, so the backend's own message reaches gc's user."""
    from xcom_s3 import gc
    from xcom_s3.errors import StorageError
    from xcom_s3.settings import Settings

    endpoint = xcom_s3_env.endpoint.endpoint_url
    settings = Settings(bucket="bad bucket!", prefix=xcom_s3_env.prefix, endpoint_url=endpoint)
    with pytest.raises(StorageError) as raised:
        gc.collect(settings, [], older_than=timedelta(0), dry_run=True)
    cause = raised.value.__cause__
    assert type(cause).__name__ == "ParamValidationError", repr(cause)
    assert str(raised.value) == (
        f"Cannot list s3://bad bucket!/{xcom_s3_env.prefix}/ (endpoint {endpoint}): botocore refused the request "
        f"before sending it ({cause}). Check the bucket name (AIRFLOW__XCOM_S3__BUCKET) and the key prefix "
        "(AIRFLOW__XCOM_S3__PREFIX)."
    )
