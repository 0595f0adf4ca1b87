"""A multipart upload ends as the object a single PUT would have made: the same content type, the same server-side
encryption, exactly the bytes written; and any number of parts streams through the sink's bounded slots.

(test_robust_encryption checks SSE on single PUTs; test_robust_large checks large round trips under faults.)
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import airflow_io
import pytest
from rb_support import as_ref, context, key_of, same

MIB = 2**20


@pytest.fixture(autouse=True)
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Multipart from S3's smallest part size (5 MiB) up, as test_robust_large does."""
    from xcom_s3 import transfer

    monkeypatch.setattr(transfer, "PART_SIZE", 5 * MIB)
    monkeypatch.setattr(transfer, "MULTIPART_THRESHOLD", 0, raising=False)


def _big_frame() -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    return pd.DataFrame({"a": rng.random(480_000), "b": rng.integers(-(2**62), 2**62, 480_000)})


def _head(xcom_s3_env: Any, key: str) -> dict[str, Any]:
    return dict(xcom_s3_env.client.head_object(Bucket=xcom_s3_env.endpoint.bucket, Key=key))


@pytest.mark.parametrize("sse", ["AES256", "aws:kms"])
def test_a_multipart_frame_is_typed_and_encrypted_as_a_single_put(backend: Any, xcom_s3_env: Any, sse: str) -> None:
    xcom_s3_env.set("sse", sse)
    frame = _big_frame()
    stored = airflow_io.through_db(airflow_io.store(backend, frame, context(0, task="multipart")))
    head = _head(xcom_s3_env, key_of(as_ref(stored)))
    assert str(head["ETag"]).strip('"').endswith("-2"), "not a two-part upload: the test would prove nothing"
    assert head["ContentType"] == "application/vnd.apache.parquet"
    assert head["ServerSideEncryption"] == sse
    assert same(frame, airflow_io.load(backend, stored))


@pytest.mark.parametrize("concurrency", [1, 2])
def test_more_parts_than_slots_stream_through_and_arrive_in_order(xcom_s3_env: Any, concurrency: int) -> None:
    """Each finished part frees its slot: more parts than slots, no hang, the bytes as written."""
    from xcom_s3 import transfer
    from xcom_s3.settings import Settings

    settings = Settings.from_airflow()
    key = f"{xcom_s3_env.prefix}/sink/{concurrency}.bin"
    data = os.urandom(16 * MIB + 123)
    with transfer.UploadSink(settings, key, "application/octet-stream", concurrency=concurrency) as sink:
        for start in range(0, len(data), 3 * MIB):  # writes that do not line up with the parts
            sink.write(data[start : start + 3 * MIB])
    assert (sink.size, sink.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    head = _head(xcom_s3_env, key)
    parts = int(str(head["ETag"]).strip('"').rpartition("-")[2])
    assert parts > concurrency and head["ContentType"] == "application/octet-stream"
    body = xcom_s3_env.client.get_object(Bucket=xcom_s3_env.endpoint.bucket, Key=key)["Body"].read()
    assert body == data
