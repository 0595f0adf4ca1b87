"""Answers and failures that neither the test S3 server nor the fault proxy gives, as the backend and gc word them.

Why: test_robust_texts words every failure moto or the fault proxy can provoke. S3-compatible stores, gateways and
KMS answer a few more shapes, and each one picks a different message (failures.translate) or a different retry
(retry._classify): a 404 without a body (its code is then the status, ``404``), a ``NotFound`` code, a KMS code
outside the three the module lists, an ``<Error>`` without a ``<Code>``. Here a stand-in store (a small HTTP server
in this file that answers every request with one error, as such a store would) answers the backend's real read of
a pushed value, so each entry's own botocore parses the answer and the backend's own retry loop meets it.

Failures that are no S3 answer at all (no credentials, a parameter botocore refuses, a refused connection) carry no
S3 code and no status: gc, which looks for a denied code in every failure, must still word them as the backend does.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import airflow_io
import pytest
from rb_support import json_value, key_of, push

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


def _error(code: str | None, message: str = "the store's own words") -> bytes:
    """An S3 ``<Error>`` body; a None ``code`` leaves ``<Code>`` out, as some S3-compatible stores do."""
    coded = "" if code is None else f"<Code>{code}</Code>"
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{coded}<Message>{message}</Message></Error>'.encode()


class _Answer(BaseHTTPRequestHandler):
    """Every request (its body read first) gets the server's one answer: a status and a body (none to a HEAD)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Silent: pytest's output is for the tests."""

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, body = self.server.answer  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _answer


class StandIn:
    """A store answering every request with one error; :meth:`serve` points the backend at it."""

    def __init__(self, env: Any) -> None:
        self.env = env
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
        self.server.daemon_threads = True
        self.server.answer = (500, b"")  # type: ignore[attr-defined]
        self.endpoint_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def serve(self, status: int, body: bytes) -> None:
        """From now on the backend's requests go here and get ``status`` and ``body``."""
        from xcom_s3 import S3XComBackend

        self.server.answer = (status, body)  # type: ignore[attr-defined]
        self.env.set("endpoint_url", self.endpoint_url)
        S3XComBackend.reset_client()

    def place(self, key: str) -> str:
        """The object as our messages name it (spelled out here, not by xcom_s3.failures.where)."""
        return f"s3://{self.env.endpoint.bucket}/{key} (endpoint {self.endpoint_url})"


@pytest.fixture
def stand_in(xcom_s3_env: Any) -> Iterator[StandIn]:
    store = StandIn(xcom_s3_env)
    thread = Thread(target=store.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield store
    finally:
        store.server.shutdown()
        store.server.server_close()
        thread.join(timeout=10)


def _read_answered(backend: Any, stand_in: StandIn, i: int, status: int, body: bytes) -> tuple[Exception, str]:
    """Push a value (to the test S3), then read it back from the stand-in: the error raised, and the object's key."""
    stored, ref = push(backend, json_value(i), i)
    stand_in.serve(status, body)
    with pytest.raises(Exception) as raised:
        airflow_io.load(backend, stored)
    return raised.value, key_of(ref)


# ---- what a store's answer means ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body"),
    [(404, b""), (404, _error("NotFound", "Not Found")), (404, _error("NoSuchKey", "The key does not exist"))],
    ids=["404-without-a-body", "NotFound", "NoSuchKey"],
)
def test_every_way_a_store_says_not_found_reads_as_a_missing_object(
    backend: Any, xcom_s3_env: Any, stand_in: StandIn, status: int, body: bytes
) -> None:
    """A 404 without a body (a HEAD's, or a gateway's: botocore makes its status the code), a ``NotFound`` code
    (S3-compatible stores) and S3's own ``NoSuchKey``: the same missing object, with every likely cause."""
    from xcom_s3.errors import ObjectMissingError

    error, key = _read_answered(backend, stand_in, 1, status, body)
    assert isinstance(error, ObjectMissingError), repr(error)
    assert str(error) == f"XCom object {stand_in.place(key)} {MISSING}"


@pytest.mark.parametrize("code", ["KMS.KMSInvalidStateException", "KMS.DisabledException", "KMS.NotFoundException"])
def test_any_kms_code_is_worded_as_a_kms_key_s3_could_not_use(
    backend: Any, xcom_s3_env: Any, stand_in: StandIn, code: str
) -> None:
    """The key pending deletion (``KMS.KMSInvalidStateException``) too, not only the codes the module lists."""
    from xcom_s3.errors import StorageError

    error, key = _read_answered(backend, stand_in, 2, 400, _error(code, "KMS refused the key"))
    assert isinstance(error, StorageError), repr(error)
    cause = error.__cause__
    assert f"({code})" in str(cause), repr(cause)
    assert str(error) == (
        f"Cannot read {stand_in.place(key)}: S3 could not use the KMS key ({code}: {cause}). Check "
        "AIRFLOW__XCOM_S3__KMS_KEY_ID and the worker's kms:GenerateDataKey/kms:Decrypt permissions."
    )


def test_an_error_without_a_code_is_quoted_with_its_http_status(
    backend: Any, xcom_s3_env: Any, stand_in: StandIn
) -> None:
    """An ``<Error>`` without ``<Code>``: the status stands in for the code the store left out."""
    from botocore.exceptions import ClientError
    from xcom_s3.errors import StorageError

    error, key = _read_answered(backend, stand_in, 3, 400, _error(None))
    assert isinstance(error, StorageError), repr(error)
    cause = error.__cause__
    assert isinstance(cause, ClientError), repr(cause)
    assert str(error) == f"Cannot read {stand_in.place(key)}: S3 answered 400: {cause}"


def test_a_server_error_without_a_code_is_retried_and_named_by_its_status(
    backend: Any, xcom_s3_env: Any, stand_in: StandIn
) -> None:
    """A 500 whose ``<Error>`` has no ``<Code>`` is transient like any 5xx; the budget's end names it by status."""
    from xcom_s3.errors import StorageError

    xcom_s3_env.set("max_attempts", 2)
    error, key = _read_answered(backend, stand_in, 4, 500, _error(None))
    assert isinstance(error, StorageError), repr(error)
    head = f"Cannot read {stand_in.place(key)}: gave up after 2 attempts in "
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
