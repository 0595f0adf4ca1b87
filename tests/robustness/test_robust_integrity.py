"""Damaged, truncated, missing and tampered objects: a clear error naming the key, never wrong data."""

from __future__ import annotations

from typing import Any

import airflow_io
import pytest
from fault_proxy import FaultProxy
from rb_support import as_stored, json_value, key_of, push, value_for

pytestmark = pytest.mark.usefixtures("fast_backoff")


@pytest.mark.parametrize("kind", ["json", "frame"])
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_one_flipped_byte_is_an_integrity_error(
    backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any, kind: str, where: str
) -> None:
    from xcom_s3.errors import IntegrityError

    stored, ref = push(backend, json_value(3) if kind == "json" else value_for(0), 3)
    key = key_of(ref)
    data = bytearray(xcom_s3_env.get(key))
    at = {"first": 0, "middle": len(data) // 2, "last": len(data) - 1}[where]
    data[at] ^= 0x01
    xcom_s3_env.client.put_object(Bucket=xcom_s3_env.endpoint.bucket, Key=key, Body=bytes(data))

    mark = via_proxy.mark()
    with pytest.raises(IntegrityError) as raised:
        airflow_io.load(backend, stored)
    assert key in str(raised.value)
    assert "checksum mismatch" in str(raised.value)
    assert ref["sha256"] in str(raised.value)
    gets = [s for s in via_proxy.since(mark) if s.method == "GET"]
    assert len(gets) == 2, "read once more (the wire may have damaged it), then stop: the stored bytes are wrong"


def test_a_shortened_object_is_an_integrity_error(backend: Any, xcom_s3_env: Any) -> None:
    from xcom_s3.errors import IntegrityError

    stored, ref = push(backend, json_value(4), 4)
    key = key_of(ref)
    xcom_s3_env.client.put_object(Bucket=xcom_s3_env.endpoint.bucket, Key=key, Body=xcom_s3_env.get(key)[:-1])
    with pytest.raises(IntegrityError, match="size mismatch") as raised:
        airflow_io.load(backend, stored)
    assert key in str(raised.value)


def test_a_reference_with_a_tampered_checksum_is_refused(backend: Any, xcom_s3_env: Any) -> None:
    from xcom_s3.errors import IntegrityError

    _, ref = push(backend, json_value(5), 5)
    ref["sha256"] = "0" * 64
    with pytest.raises(IntegrityError, match="checksum mismatch"):
        airflow_io.load(backend, as_stored(ref))


def test_a_missing_object_names_the_key_and_the_likely_causes(
    backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any
) -> None:
    from xcom_s3.errors import ObjectMissingError

    stored, ref = push(backend, value_for(6), 6)
    xcom_s3_env.client.delete_object(Bucket=xcom_s3_env.endpoint.bucket, Key=key_of(ref))
    mark = via_proxy.mark()
    with pytest.raises(ObjectMissingError) as raised:
        airflow_io.load(backend, stored)
    message = str(raised.value)
    assert key_of(ref) in message and xcom_s3_env.endpoint.bucket in message
    for cause in ("purged", "lifecycle", "expired", "AIRFLOW__XCOM_S3__BUCKET"):
        assert cause in message
    assert len(via_proxy.since(mark)) == 1, "a 404 is an answer, not a fault: no retries"
