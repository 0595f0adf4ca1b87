"""Offloaded JSON values under every ``[xcom_s3] compression``: each comes back, and its object holds what the
setting says.

Why: every other JSON value the tests offload is written with the default compression (zstd), so a read that took
gzip or uncompressed objects for something else (xcom_s3.codecs.decompress) went unnoticed; only frames were tried
under every setting (test_frames, test_parquet_layout). Here the object is decoded independently (the standard
library's gzip, pyarrow's zstd, nothing for ``none``) and must be exactly the default backend's JSON text, and the
value must come back as the default backend returns it. A value is read by the codec its reference records, so it
is read back after the setting has changed to another codec, as after an operator changes it.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from airflow_io import IS_3X, default_round_trip, load, store, through_db
from hypothesis import example, given
from strategies import contexts, ids, sized_values
from xcom_compat import BaseXCom, XComContext

from properties.budget import share
from properties.same_value import assert_same_value
from properties.stored import object_key, reference

pytestmark = pytest.mark.ours_only  # the compression setting and the object's layout are xcom_s3's own

CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)
#: ``[xcom_s3] compression`` -> the codec a JSON object is written with (snappy has no stream codec for JSON:
#: zstd serves it) and the key's extension.
WRITTEN = {
    "zstd": ("zstd", "json.zst"),
    "snappy": ("zstd", "json.zst"),
    "gzip": ("gzip", "json.gz"),
    "none": ("none", "json"),
}
#: The setting in force when the value is read back: another codec than the one it was written with.
READ_UNDER = {"zstd": "gzip", "snappy": "none", "gzip": "none", "none": "zstd"}
#: The first bytes of a zstd frame and of a gzip member.
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
GZIP_MAGIC = b"\x1f\x8b"
#: Keys the scheduler reads from the DB: never offloaded, so not tried here.
SCHEDULER_KEYS = ("skipmixin_key", "past_depends_met")


def default_text(value: Any, ctx: XComContext) -> bytes:
    """The JSON text the default backend stores for ``value`` (the bytes on 2.x, compact UTF-8 JSON on 3.x)."""
    stored = store(BaseXCom, value, ctx)
    if not IS_3X:
        return bytes(stored)
    return json.dumps(stored, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def plain(body: bytes, codec: str, raw_size: int) -> bytes:
    """``body`` decompressed by ``codec``, independently of xcom_s3 (checking the codec's own magic first)."""
    if codec == "zstd":
        import pyarrow as pa

        assert body[:4] == ZSTD_MAGIC, f"not a zstd frame: {body[:8]!r}"
        return bytes(pa.decompress(body, decompressed_size=raw_size, codec="zstd", asbytes=True))
    if codec == "gzip":
        assert body[:2] == GZIP_MAGIC, f"not a gzip member: {body[:8]!r}"
        return gzip.decompress(body)
    assert codec == "none", codec
    return body


@pytest.mark.parametrize("compression", sorted(WRITTEN))
@share(0.2)
@given(value=sized_values(), ctx=contexts(key=ids().filter(lambda k: k not in SCHEDULER_KEYS)))
@example(value={"data": None, "pad": ""}, ctx=CTX)
@example(value={"data": {"é": [1.5, True]}, "pad": "x" * 2000}, ctx=CTX)
def test_an_offloaded_json_value_comes_back_under_every_compression(
    backend: Any, xcom_s3_env: Any, compression: str, value: Any, ctx: XComContext
) -> None:
    """One object, keyed by the codec's extension, holding exactly the default's JSON text in that codec; read back
    as the default returns it, under another setting than the one it was written with."""
    xcom_s3_env.new_prefix()
    xcom_s3_env.set("compression", compression)
    xcom_s3_env.set("threshold", 0)
    stored = through_db(store(backend, value, ctx))
    ref = reference(stored)
    assert ref is not None, f"a JSON value stayed inline at THRESHOLD=0: {stored!r:.200}"
    codec, extension = WRITTEN[compression]
    key = object_key(ref, xcom_s3_env.endpoint.bucket)
    assert xcom_s3_env.keys() == [key] and key.endswith(f".{extension}"), (key, xcom_s3_env.keys())
    text = default_text(value, ctx)
    assert (ref["format"], ref["codec"], ref["raw_size"]) == ("json", codec, len(text))
    assert plain(xcom_s3_env.get(key), codec, len(text)) == text

    xcom_s3_env.set("compression", READ_UNDER[compression])
    assert_same_value(load(backend, stored, ctx), default_round_trip(value, ctx))
