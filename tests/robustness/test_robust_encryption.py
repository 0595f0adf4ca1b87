"""Server-side encryption: SSE-S3 and SSE-KMS (with and without a key id), asserted on the stored objects."""

from __future__ import annotations

from typing import Any

import airflow_io
import pytest
from rb_support import json_value, key_of, push, same, value_for


@pytest.fixture(scope="module")
def kms_key(s3_server: Any) -> str:
    """A KMS key on the test endpoint (moto serves KMS on the S3 port); skip where the endpoint has no KMS."""
    import boto3

    kms = boto3.client(
        "kms",
        endpoint_url=s3_server.endpoint_url,
        region_name=s3_server.region,
        aws_access_key_id=s3_server.access_key,
        aws_secret_access_key=s3_server.secret_key,
    )
    try:
        return str(kms.create_key(Description="xcom-s3 robustness tests")["KeyMetadata"]["KeyId"])
    except Exception as exc:  # MinIO, real S3 without kms:CreateKey, ...
        pytest.skip(f"the test endpoint cannot create a KMS key: {exc}")


def _pushed_objects(backend: Any, xcom_s3_env: Any) -> list[tuple[str, Any, Any]]:
    """Push a JSON value and a frame; (key, value, stored) of each, after checking they read back exactly."""
    pushed = []
    for i, value in ((1, json_value(1)), (0, value_for(0))):
        stored, ref = push(backend, value, i)
        assert same(value, airflow_io.load(backend, stored))
        pushed.append((key_of(ref), value, stored))
    return pushed


def test_sse_s3(backend: Any, xcom_s3_env: Any) -> None:
    xcom_s3_env.set("sse", "AES256")
    for key, _, _ in _pushed_objects(backend, xcom_s3_env):
        head = xcom_s3_env.client.head_object(Bucket=xcom_s3_env.endpoint.bucket, Key=key)
        assert head["ServerSideEncryption"] == "AES256"


@pytest.mark.parametrize("with_key_id", [True, False])
def test_sse_kms(backend: Any, xcom_s3_env: Any, kms_key: str, with_key_id: bool) -> None:
    xcom_s3_env.set("sse", "aws:kms")
    if with_key_id:
        xcom_s3_env.set("kms_key_id", kms_key)
    for key, _, _ in _pushed_objects(backend, xcom_s3_env):
        head = xcom_s3_env.client.head_object(Bucket=xcom_s3_env.endpoint.bucket, Key=key)
        assert head["ServerSideEncryption"] == "aws:kms"
        if with_key_id:
            assert str(head.get("SSEKMSKeyId", "")).endswith(kms_key)


def test_unencrypted_by_default(backend: Any, xcom_s3_env: Any) -> None:
    """No SSE setting sends no SSE header: the bucket's default encryption applies (nothing forced)."""
    for key, _, _ in _pushed_objects(backend, xcom_s3_env):
        head = xcom_s3_env.client.head_object(Bucket=xcom_s3_env.endpoint.bucket, Key=key)
        assert head.get("ServerSideEncryption") in (None, "AES256")  # AWS encrypts new objects with SSE-S3 anyway
