"""Server-side encryption: SSE-S3 and SSE-KMS (with and without a key id), asserted on what each write asked for
and on the stored objects."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import airflow_io
import pytest
from rb_support import json_value, key_of, push, same, value_for

#: The request header that asks S3 to encrypt an object, and the one naming the KMS key.
SSE_HEADER = "x-amz-server-side-encryption"
KMS_KEY_HEADER = "x-amz-server-side-encryption-aws-kms-key-id"


def is_moto(endpoint_url: str) -> bool:
    """Whether the endpoint is moto's server (which serves KMS on the S3 port): its own API answers there."""
    try:
        with urllib.request.urlopen(f"{endpoint_url}/moto-api/config", timeout=5) as answer:
            return isinstance(json.load(answer), dict)
    except (urllib.error.URLError, OSError, ValueError):
        return False


@pytest.fixture(scope="module")
def kms_key(s3_server: Any) -> str:
    """A KMS key on the test endpoint. Moto serves KMS on the S3 port, so there any failure fails the tests; another
    endpoint (MinIO, real S3 without kms:CreateKey) may answer the KMS call with an error: only that is n/a."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    kms = boto3.client(
        "kms",
        endpoint_url=s3_server.endpoint_url,
        region_name=s3_server.region,
        aws_access_key_id=s3_server.access_key,
        aws_secret_access_key=s3_server.secret_key,
    )
    try:
        return str(kms.create_key(Description="xcom-s3 robustness tests")["KeyMetadata"]["KeyId"])
    except (ClientError, BotoCoreError) as exc:
        if is_moto(s3_server.endpoint_url):
            raise
        pytest.skip(f"n/a: the test endpoint {s3_server.endpoint_url} is not moto and cannot create a KMS key: {exc}")


def _pushed_objects(backend: Any) -> list[str]:
    """Push a JSON value and a frame; the key of each, after checking they read back exactly."""
    pushed = []
    for i, value in ((1, json_value(1)), (0, value_for(0))):
        stored, ref = push(backend, value, i)
        assert same(value, airflow_io.load(backend, stored))
        pushed.append(key_of(ref))
    return pushed


def _creates_an_object(method: str, url: str) -> bool:
    """PutObject or CreateMultipartUpload: the requests that carry an object's encryption (parts do not)."""
    query = url.partition("?")[2]
    return (method == "PUT" and "partNumber=" not in query) or (method == "POST" and query.startswith("uploads"))


@pytest.fixture
def writes(xcom_s3_env: Any) -> Iterator[list[dict[str, str]]]:
    """The encryption headers of every object-creating request the backend's S3 client sends from now on.

    Read off the client's own ``before-send`` event, which sees each request as it goes on the wire (on any
    endpoint: what the server then does with a header is asserted on the objects)."""
    from xcom_s3 import store
    from xcom_s3.settings import Settings

    sent: list[dict[str, str]] = []

    def record(request: Any, **_: Any) -> None:
        if _creates_an_object(request.method, request.url):
            headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
            sent.append({k: v for k, v in headers.items() if k.startswith(SSE_HEADER)})

    events = store.client(Settings.from_airflow()).meta.events  # the client the backend's requests go through
    events.register("before-send.s3", record)
    try:
        yield sent
    finally:
        events.unregister("before-send.s3", record)


def _encryption(xcom_s3_env: Any, key: str) -> Any:
    return xcom_s3_env.client.head_object(Bucket=xcom_s3_env.endpoint.bucket, Key=key).get("ServerSideEncryption")


def test_sse_s3(backend: Any, xcom_s3_env: Any, writes: list[dict[str, str]]) -> None:
    xcom_s3_env.set("sse", "AES256")
    keys = _pushed_objects(backend)
    assert writes and all(w.get(SSE_HEADER) == "AES256" for w in writes), writes
    for key in keys:
        assert _encryption(xcom_s3_env, key) == "AES256"


@pytest.mark.parametrize("with_key_id", [True, False])
def test_sse_kms(backend: Any, xcom_s3_env: Any, writes: list[dict[str, str]], kms_key: str, with_key_id: bool) -> None:
    xcom_s3_env.set("sse", "aws:kms")
    if with_key_id:
        xcom_s3_env.set("kms_key_id", kms_key)
    keys = _pushed_objects(backend)
    assert writes, "no write reached S3"
    for write in writes:
        assert write.get(SSE_HEADER) == "aws:kms" and write.get(KMS_KEY_HEADER) == (kms_key if with_key_id else None)
    for key in keys:
        head = xcom_s3_env.client.head_object(Bucket=xcom_s3_env.endpoint.bucket, Key=key)
        assert head["ServerSideEncryption"] == "aws:kms"
        if with_key_id:
            assert str(head.get("SSEKMSKeyId", "")).endswith(kms_key)


def test_unencrypted_by_default(backend: Any, xcom_s3_env: Any, writes: list[dict[str, str]]) -> None:
    """No SSE setting sends no SSE header: the bucket's default encryption applies (nothing forced), so each object
    is encrypted exactly as one the test writes itself without asking (none on moto, SSE-S3 on AWS)."""
    keys = _pushed_objects(backend)
    assert writes and writes == [{}] * len(writes), f"a write asked for encryption: {writes}"
    control = f"{xcom_s3_env.prefix}/control-object"
    xcom_s3_env.client.put_object(Bucket=xcom_s3_env.endpoint.bucket, Key=control, Body=b"{}")
    bucket_default = _encryption(xcom_s3_env, control)
    assert [_encryption(xcom_s3_env, key) for key in keys] == [bucket_default] * len(keys)
