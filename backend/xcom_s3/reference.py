"""The small JSON object the metadata DB keeps in place of an offloaded value, and the escape for look-alikes."""

from __future__ import annotations

from typing import Any

from xcom_s3.errors import ForeignReferenceError, XComS3Error

#: The key that marks our objects. No serde-reserved name (``__classname__``), so every release's JSON and
#: ORM decoders pass the object through as a plain dict.
MARKER = "__xcom_s3__"
#: Format version of the objects below; bumped only with a reader for the old one.
FORMAT_VERSION = 1
KIND_REF = "ref"
KIND_ESCAPED = "escaped"
#: String values starting with these are escaped, so no reader of ours or of a seed-style backend misreads them.
LOOKALIKE_PREFIXES = ("s3://", "xcom_s3://")
#: The key of a Parquet reference naming the type its value is read back as (``pyarrow.Table``,
#: ``polars.DataFrame``); without it (as in references written before it was recorded), a pandas DataFrame.
RETURNS = "returns"


def make_reference(
    *, bucket: str, key: str, fmt: str, codec: str, size: int, sha256: str, **extra: Any
) -> dict[str, Any]:
    """A reference to ``s3://bucket/key``; ``extra`` carries format details (frame shape, raw JSON size)."""
    ref: dict[str, Any] = {
        MARKER: FORMAT_VERSION,
        "kind": KIND_REF,
        "uri": f"s3://{bucket}/{key}",
        "format": fmt,
        "codec": codec,
        "size": size,
        "sha256": sha256,
    }
    ref.update(extra)
    return ref


def make_escape(stored_json: Any) -> dict[str, Any]:
    """Wrap a value's default stored form so it is read back as itself, never as a reference."""
    return {MARKER: FORMAT_VERSION, "kind": KIND_ESCAPED, "value": stored_json}


def is_ours(stored: Any) -> bool:
    """Whether a decoded stored value is a reference or an escape (user dicts with the marker are escaped)."""
    return isinstance(stored, dict) and MARKER in stored


def is_lookalike(value: Any) -> bool:
    """A user value that a reader could mistake for a reference, so it must be escaped."""
    if isinstance(value, str):
        return value.startswith(LOOKALIKE_PREFIXES)
    return isinstance(value, dict) and MARKER in value


def check_version(stored: dict[str, Any]) -> None:
    version = stored.get(MARKER)
    if version != FORMAT_VERSION:
        raise XComS3Error(
            f"XCom value was written by xcom-s3 format version {version!r}; this backend reads version "
            f"{FORMAT_VERSION}. Upgrade xcom-s3-compat on this worker to read it."
        )


def locate(ref: dict[str, Any], bucket: str, prefix: str) -> str:
    """The object key a reference points at, refused unless it lies inside ``bucket`` under ``prefix``."""
    uri = ref.get("uri")
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        raise ForeignReferenceError(f"XCom reference has no s3:// uri: {ref!r}")
    ref_bucket, _, key = uri[len("s3://") :].partition("/")
    segments = key.split("/")
    if ref_bucket != bucket or not key.startswith(prefix + "/") or any(s in ("", ".", "..") for s in segments):
        raise ForeignReferenceError(
            f"Refusing to read XCom reference {uri!r}: it points outside the configured location "
            f"s3://{bucket}/{prefix}/. If the value was written under another bucket or prefix, set "
            "AIRFLOW__XCOM_S3__BUCKET / AIRFLOW__XCOM_S3__PREFIX to that location to read it."
        )
    return key
