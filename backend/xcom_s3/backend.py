"""S3XComBackend: DataFrames to S3 as Parquet, large values as compressed JSON, everything else as Airflow would.

Written once against ``xcom_compat``'s portable interface; the shims map it onto each release's hooks.
Enable with ``AIRFLOW__CORE__XCOM_BACKEND=xcom_s3.S3XComBackend``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from xcom_compat import InlineForm, PortableXComBackend, XComContext, config_value, default_load, default_load_text

from xcom_s3 import codecs, frames, reference, store, transfer
from xcom_s3.errors import ConfigError, XComS3Error
from xcom_s3.keys import object_key
from xcom_s3.settings import DEFAULT_THRESHOLD, SECTION, Settings, env_name

log = logging.getLogger(__name__)

#: XComs the scheduler reads straight from the metadata DB (3.x) or without S3 credentials (2.x): always inline.
SCHEDULER_KEYS = frozenset({"skipmixin_key", "past_depends_met"})


def _threshold() -> int:
    """Only the threshold, so small values never need the bucket setting (2.x schedulers push XComs too)."""
    raw = config_value(SECTION, "threshold")
    if raw is None:
        return DEFAULT_THRESHOLD
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigError(f"{env_name('threshold')}={raw!r} is not valid: expected a whole number of bytes >= 0.")
    return value


class S3XComBackend(PortableXComBackend):
    """The production backend: see the README's "Configuring the backend" for every setting."""

    @classmethod
    def reset_client(cls) -> None:
        """Drop the cached S3 client (tests and long-lived processes whose endpoint changed)."""
        store.reset_clients()

    # ---- writing --------------------------------------------------------------------------------------------

    @classmethod
    def offload(cls, value: Any, ctx: XComContext, inline: Callable[[], InlineForm]) -> dict[str, Any] | None:
        if frames.is_frame(value):
            return cls._offload_frame(value, ctx, Settings.from_airflow())
        form = inline()  # raises what the default backend raises for values it cannot store
        if ctx.key not in SCHEDULER_KEYS and form.json_text is not None and form.size >= _threshold():
            return cls._offload_json(form.json_text, ctx, Settings.from_airflow())
        if reference.is_lookalike(value) or (
            form.json_text is not None and reference.MARKER.encode() in form.json_text
        ):
            stored_json = _stored_json(form)
            if reference.is_lookalike(value) or reference.is_ours(stored_json):
                return reference.make_escape(stored_json)
        return None

    @classmethod
    def _offload_frame(cls, frame: Any, ctx: XComContext, settings: Settings) -> dict[str, Any]:
        # Streamed: row groups are encoded into a multipart upload as they are produced, hashed on the way out;
        # the reference exists only once S3 has the whole object (a failed upload is aborted).
        key = object_key(settings.prefix, ctx, "parquet")
        with transfer.UploadSink(settings, key, "application/vnd.apache.parquet") as sink:
            frames.write_parquet(frame, sink, settings.compression)
        return reference.make_reference(
            bucket=settings.bucket,
            key=key,
            fmt="parquet",
            codec=settings.compression,
            size=sink.size,
            sha256=sink.sha256,
            shape=list(frame.shape),
        )

    @classmethod
    def _offload_json(cls, json_text: bytes, ctx: XComContext, settings: Settings) -> dict[str, Any]:
        codec = settings.json_codec
        data = codecs.compress(json_text, codec)
        key = object_key(settings.prefix, ctx, codecs.EXTENSIONS[codec])
        store.put(settings, key, data, "application/json")
        return reference.make_reference(
            bucket=settings.bucket,
            key=key,
            fmt="json",
            codec=codec,
            size=len(data),
            sha256=store.sha256_hex(data),
            raw_size=len(json_text),
        )

    # ---- reading and purging --------------------------------------------------------------------------------

    @classmethod
    def claims(cls, stored: Any) -> bool:
        return reference.is_ours(stored)

    @classmethod
    def load(cls, stored: dict[str, Any]) -> Any:
        reference.check_version(stored)
        if stored.get("kind") == reference.KIND_ESCAPED:
            return default_load(stored["value"])
        settings = Settings.from_airflow()
        key = reference.locate(stored, settings.bucket, settings.prefix)
        if stored.get("format") == "parquet":
            # Large objects in concurrent ranges; the sha256 is checked before a byte is decoded into a frame.
            # Passed straight in, so the decoder can free the downloaded file before the frame is built.
            return frames.parquet_to_frame(
                transfer.download(settings, key, size=int(stored["size"]), sha256=str(stored["sha256"]))
            )
        data = store.get(settings, key, size=int(stored["size"]), sha256=str(stored["sha256"]))
        if stored.get("format") == "json":
            return default_load_text(codecs.decompress(data, str(stored["codec"]), int(stored["raw_size"])))
        raise XComS3Error(f"XCom reference {stored.get('uri')!r} has unknown format {stored.get('format')!r}.")

    @classmethod
    def discard(cls, stored: dict[str, Any]) -> None:
        if stored.get("kind") != reference.KIND_REF:
            return
        try:
            settings = Settings.from_airflow()
            store.delete(settings, reference.locate(stored, settings.bucket, settings.prefix))
        except XComS3Error as exc:
            # The rerun overwrites the same deterministic key anyway; `xcom-s3 gc` collects what is left.
            log.warning("Could not purge XCom object %s: %s", stored.get("uri"), exc)


def _stored_json(form: InlineForm) -> Any:
    import json

    assert form.json_text is not None
    return json.loads(form.json_text)
