"""PortableS3XComBackend: a team's own S3 XCom backend, built on the vendored ``xcom_compat``.

The four portable methods are all it implements; ``PortableXComBackend`` gives every Airflow release from 2.3 to
3.4 its hooks with their exact signatures (keyword context, bytes on 2.x and JSON on 3.x, purge, store_value).

- DataFrames go to S3 as Parquet through the vendored ``xcom_s3.frames`` codec (dtypes, index and names exact).
- Other values whose default serialized form is at least ``PORTABLE_XCOM_THRESHOLD`` bytes go to S3 as that
  same JSON, so they come back exactly as Airflow's default backend returns them; smaller ones stay inline.
- The metadata DB keeps a small reference object; a user dict that looks like one is stored escaped.
- Keys are ``<prefix>/<dag_id>/<run_id>/<task_id>/<map_index>/<key>``, one per XCom whatever its format: a retry
  or rerun overwrites its object (also where Airflow never purges: before 2.9, mapped tasks on 3.0.x), and
  ``purge`` (called by Airflow when it clears a task's XComs) deletes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from codecs import escape_decode, escape_encode
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from portable_xcom.xcom_compat import (
    InlineForm,
    PortableXComBackend,
    XComContext,
    default_load,
    default_load_stored,
    default_load_text,
    xcom_pickling_enabled,
)
from portable_xcom.xcom_s3 import frames

#: Marks the objects this backend keeps in the metadata DB (references and escapes).
MARKER = "__portable_xcom__"
#: XComs the scheduler reads itself (branching, depends_on_past): never offloaded.
SCHEDULER_KEYS = frozenset({"skipmixin_key", "past_depends_met"})
#: Operator extra links (``_link_<name>``): Airflow 3's API server reads the row itself to render the UI's link,
#: so an offloaded one would show our reference instead of the URL: never offloaded either.
LINK_KEY_PREFIX = "_link_"
DEFAULT_PREFIX = "xcom"
DEFAULT_THRESHOLD = 65536


class PortableXComError(Exception):
    """A setting is missing, or a reference cannot be read; the message says what to fix."""


def _setting(name: str, default: str | None = None) -> str:
    value = os.environ.get(name) or default
    if value is None:
        raise PortableXComError(f"{name} is not set: the bucket that holds offloaded XCom values")
    return value


def _read_by_airflow(key: str | None) -> bool:
    """Keys Airflow's scheduler or UI read straight from the metadata DB: they must stay as the default stores them."""
    return key is not None and (key in SCHEDULER_KEYS or key.startswith(LINK_KEY_PREFIX))


def _bucket() -> str:
    return _setting("PORTABLE_XCOM_BUCKET")


def _prefix() -> str:
    return _setting("PORTABLE_XCOM_PREFIX", DEFAULT_PREFIX).strip("/")


def _threshold() -> int:
    raw = _setting("PORTABLE_XCOM_THRESHOLD", str(DEFAULT_THRESHOLD))
    if not raw.isdigit():
        raise PortableXComError(f"PORTABLE_XCOM_THRESHOLD={raw!r}: expected a whole number of bytes >= 0")
    return int(raw)


def _client() -> Any:
    # boto3 >= 1.28 reads AWS_ENDPOINT_URL(_S3) itself; read here too so older boto3 goes to the same place.
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
    return _cached_client(endpoint, os.getpid())


@lru_cache(maxsize=4)
def _cached_client(endpoint: str | None, pid: int) -> Any:
    """One client per endpoint and process (boto3 clients must not cross the fork of a task process)."""
    import boto3

    return boto3.client("s3", endpoint_url=endpoint)


def _quote(part: str) -> str:
    """One reversible key segment per id: ``/`` and a leading ``.`` quoted, so no segment is ``.`` or ``..``."""
    quoted = quote(part, safe="")
    return "%2E" + quoted[1:] if quoted.startswith(".") else quoted


def object_key(prefix: str, ctx: XComContext) -> str:
    """Where the value of ``ctx`` lives: the same place for every retry and rerun of the task instance, whatever
    the value's format (no extension), so a rerun that returns a dict where it returned a frame overwrites too."""
    if not ctx.is_complete or ctx.per_write:
        # No run to scope by (a direct call), or 3.4's writes for another task instance: each its own object.
        return f"{prefix}/_unscoped/{uuid.uuid4().hex}"
    assert ctx.dag_id is not None and ctx.run_id is not None and ctx.task_id is not None and ctx.key is not None
    instance = (
        f"ti-{_quote(ctx.ti_id)}" if ctx.ti_id is not None else str(-1 if ctx.map_index is None else ctx.map_index)
    )
    dag, run, task, key = (_quote(p) for p in (ctx.dag_id, ctx.run_id, ctx.task_id, ctx.key))
    return f"{prefix}/{dag}/{run}/{task}/{instance}/{key}"


class PortableS3XComBackend(PortableXComBackend):
    """``AIRFLOW__CORE__XCOM_BACKEND=portable_xcom.PortableS3XComBackend``; settings in ``PORTABLE_XCOM_*``."""

    @classmethod
    def offload(cls, value: Any, ctx: XComContext, inline: Callable[[], InlineForm]) -> dict[str, Any] | None:
        if frames.is_frame(value):
            body = frames.frame_to_parquet(value, "zstd").to_pybytes()
            return cls._put(body, ctx, "parquet")
        form = inline()  # raises what the default backend raises for values it cannot store
        if form.json_text is None:
            # 2.x with enable_xcom_pickling: the pickle stays in the DB. Airflow unpickles rows before purge, so a
            # value that would then read as ours is kept as an escape holding the pickle, never discarded.
            if not cls._reads_as_ours(value):
                return None
            return {MARKER: 1, "kind": "escaped", "pickle": escape_encode(form.stored)[0].decode("ascii")}
        if not _read_by_airflow(ctx.key) and form.size >= _threshold():
            return cls._put(form.json_text, ctx, "json")
        stored = json.loads(form.json_text)
        if cls.claims(stored):  # a user value that would read back as a reference: keep it, escaped
            return {MARKER: 1, "kind": "escaped", "value": stored}
        return None

    @classmethod
    def _reads_as_ours(cls, value: Any) -> bool:
        """``value`` as a purge sees it once Airflow has unpickled it: compat also parses JSON text there."""
        if isinstance(value, str) and value[:1] == "{":
            try:
                value = json.loads(value)
            except ValueError:
                return False
        return cls.claims(value)

    @classmethod
    def claims(cls, stored: Any) -> bool:
        return isinstance(stored, dict) and MARKER in stored

    @classmethod
    def load(cls, stored: dict[str, Any]) -> Any:
        if stored.get("kind") == "escaped" and "pickle" in stored:
            if not xcom_pickling_enabled():
                raise PortableXComError("XCom pushed as a pickle: set AIRFLOW__CORE__ENABLE_XCOM_PICKLING=True")
            return default_load_stored(escape_decode(str(stored["pickle"]).encode("ascii"))[0])
        if stored.get("kind") == "escaped":
            return default_load(stored["value"])
        key = cls._locate(stored)
        body = _client().get_object(Bucket=stored["bucket"], Key=key)["Body"].read()
        if hashlib.sha256(body).hexdigest() != stored.get("sha256"):
            raise PortableXComError(f"s3://{stored['bucket']}/{key} does not match the checksum its reference holds")
        if stored.get("format") == "parquet":
            return frames.parquet_to_frame(body)
        return default_load_text(body)

    @classmethod
    def discard(cls, stored: dict[str, Any]) -> None:
        if stored.get("kind") == "ref":
            _client().delete_object(Bucket=stored["bucket"], Key=cls._locate(stored))

    # ---- helpers --------------------------------------------------------------------------------------------

    @classmethod
    def _put(cls, body: bytes, ctx: XComContext, fmt: str) -> dict[str, Any]:
        bucket = _bucket()
        key = object_key(_prefix(), ctx)
        _client().put_object(Bucket=bucket, Key=key, Body=body)
        sha256 = hashlib.sha256(body).hexdigest()
        return {MARKER: 1, "kind": "ref", "bucket": bucket, "key": key, "format": fmt, "sha256": sha256}

    @staticmethod
    def _locate(ref: dict[str, Any]) -> str:
        """The reference's key, refused unless it lies in the configured bucket, under the prefix."""
        key, bucket, prefix = ref.get("key"), _bucket(), _prefix()
        if ref.get("bucket") != bucket or not isinstance(key, str) or not key.startswith(prefix + "/"):
            raise PortableXComError(
                f"refusing the XCom reference s3://{ref.get('bucket')}/{key}: it lies outside s3://{bucket}/{prefix}/ "
                "(PORTABLE_XCOM_BUCKET / PORTABLE_XCOM_PREFIX)"
            )
        return key
