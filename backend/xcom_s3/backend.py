"""S3XComBackend: DataFrames to S3 as Parquet, large values as compressed JSON, everything else as Airflow would.

Written once against ``xcom_compat``'s portable interface; the shims map it onto each release's hooks.
Enable with ``AIRFLOW__CORE__XCOM_BACKEND=xcom_s3.S3XComBackend``.
"""

from __future__ import annotations

import contextlib
import json
import logging
from codecs import escape_decode, escape_encode
from collections.abc import Callable, Iterator
from typing import Any

from xcom_compat import (
    InlineForm,
    PortableXComBackend,
    XComContext,
    default_load,
    default_load_stored,
    default_load_text,
    xcom_pickling_enabled,
)

from xcom_s3 import arrow_tables, codecs, failures, frames, polars_frames, reference, store, transfer
from xcom_s3.errors import IntegrityError, XComS3Error
from xcom_s3.keys import object_key
from xcom_s3.settings import Settings, threshold

log = logging.getLogger(__name__)

#: The field of an escape that holds the default's pickle ([core] enable_xcom_pickling, 2.x) as ASCII, bytes outside
#: printable ASCII written ``\xNN`` (as in a bytes literal): not base64, so the strings inside stay readable and
#: `xcom-s3 gc` sees the keys they mention; no NUL, which 3.0's migration to PostgreSQL JSONB would reject.
PICKLE = "pickle"

#: XComs the scheduler reads straight from the metadata DB (3.x) or without S3 credentials (2.x): always inline.
SCHEDULER_KEYS = frozenset({"skipmixin_key", "past_depends_met"})

#: XComs Airflow's UI, API server or webserver reads without the backend (docs/xcom-direct-reads.md): always inline,
#: on every release (small values; a key Airflow does not read on a release costs nothing there). An entry ending in
#: ``*`` matches every key with that prefix.
UI_KEYS = (
    # Operator extra links (BaseOperatorLink.xcom_key): the 3.x API server's XComOperatorLink.get_link reads the
    # row itself (3.0/3.1: XComModel.deserialize_value, 3.2+: json.loads + stringify): offloaded, the UI's link
    # would be our reference instead of the URL.
    "_link_*",
    # TriggerDagRunLink (2.9-2.11 webserver): XCom.get_value, i.e. the backend in the webserver, which has no S3
    # credentials (README, IAM table).
    "trigger_run_id",
    # TriggerDagRunLink (2.3-2.8 webserver): XCom.get_value -> get_one, which 2.6-2.8 decodes with
    # BaseXCom.deserialize_value: offloaded, the link's base_date would be our reference.
    "trigger_execution_date_iso",
    # The 2.x experimental REST lineage endpoint (get_lineage) returns the ORM rows' .value of these.
    "pipeline_inlets",
    "pipeline_outlets",
)


def always_inline(key: str | None) -> bool:
    """Whether Airflow reads this key without the backend (SCHEDULER_KEYS, UI_KEYS): never offloaded, whatever
    its size; a look-alike value is still escaped, so the backend reads every inline row back the same way."""
    if key is None:
        return False
    if key in SCHEDULER_KEYS:
        return True
    return any(key.startswith(entry[:-1]) if entry.endswith("*") else key == entry for entry in UI_KEYS)


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
        if arrow_tables.is_table(value):
            return cls._offload_parquet(
                value, ctx, Settings.from_airflow(), arrow_tables.write_table, returns=arrow_tables.KIND
            )
        if polars_frames.is_polars_frame(value):
            return cls._offload_parquet(
                value, ctx, Settings.from_airflow(), polars_frames.write_polars, returns=polars_frames.KIND
            )
        form = inline()  # raises what the default backend raises for values it cannot store
        if form.json_text is None:
            # [core] enable_xcom_pickling (2.x): the default's pickle stays in the DB whatever its size (THRESHOLD
            # measures JSON, and nothing in S3 is ever unpickled). No reader of ours takes a pickle for a
            # reference, but purge sees rows unpickled by Airflow, so a value that reads as ours is wrapped.
            return _escape_pickle(form.stored) if reference.is_ours(value) or _text_of_ours(value) else None
        if not always_inline(ctx.key) and form.size >= threshold():
            return cls._offload_json(form.json_text, ctx, Settings.from_airflow())
        misread = reference.is_lookalike(value) or _text_of_ours(value)
        if misread or reference.MARKER.encode() in form.json_text:
            stored_json = json.loads(form.json_text)
            if misread or reference.is_ours(stored_json):
                return reference.make_escape(stored_json)
        return None

    @classmethod
    def _offload_frame(cls, frame: Any, ctx: XComContext, settings: Settings) -> dict[str, Any]:
        return cls._offload_parquet(frame, ctx, settings, frames.write_parquet, returns=None)

    @classmethod
    def _offload_parquet(
        cls,
        value: Any,
        ctx: XComContext,
        settings: Settings,
        write: Callable[[Any, Any, str], None],
        returns: str | None,
    ) -> dict[str, Any]:
        # Streamed: row groups are encoded into a multipart upload as they are produced, hashed on the way out;
        # the reference exists only once S3 has the whole object (a failed upload is aborted). ``returns`` names
        # the type to read back (a pyarrow Table, a polars frame); a pandas frame's reference has none, as before.
        key = object_key(settings.prefix, ctx, "parquet")
        with transfer.UploadSink(settings, key, "application/vnd.apache.parquet") as sink:
            write(value, sink, settings.compression)
        return reference.make_reference(
            bucket=settings.bucket,
            key=key,
            fmt="parquet",
            codec=settings.compression,
            size=sink.size,
            sha256=sink.sha256,
            shape=list(value.shape),
            **({reference.RETURNS: returns} if returns else {}),
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
            return _unescape_pickle(stored) if PICKLE in stored else default_load(stored["value"])
        settings = Settings.from_airflow()
        key = reference.locate(stored, settings.bucket, settings.prefix)
        if stored.get("format") == "parquet":
            # Large objects in concurrent ranges; the sha256 is checked before a byte is decoded into a frame.
            # Passed straight in, so the decoder can free the downloaded file before the frame is built.
            decode = _parquet_reader(stored)
            with _decoding(settings, key, "Parquet"):
                return decode(transfer.download(settings, key, size=int(stored["size"]), sha256=str(stored["sha256"])))
        data = store.get(settings, key, size=int(stored["size"]), sha256=str(stored["sha256"]))
        if stored.get("format") == "json":
            with _decoding(settings, key, "JSON"):
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


def _parquet_reader(stored: dict[str, Any]) -> Callable[[Any], Any]:
    """The decoder for what a Parquet reference says its value is: a pandas DataFrame unless it says otherwise."""
    returns = stored.get(reference.RETURNS)
    if returns is None:
        return frames.parquet_to_frame
    if returns == arrow_tables.KIND:
        return arrow_tables.parquet_to_table
    if returns == polars_frames.KIND:
        return polars_frames.parquet_to_polars  # imports polars, which wrote it
    raise XComS3Error(
        f"XCom reference {stored.get('uri')!r} holds a {returns!r}, which this version of xcom-s3 cannot read back. "
        "Upgrade xcom-s3-compat on this worker to read it."
    )


@contextlib.contextmanager
def _decoding(settings: Settings, key: str, fmt: str) -> Iterator[None]:
    """Bytes that match their reference's size and checksum but do not decode as its format were not written there
    by xcom-s3 (the object or the reference was edited, or forged): our IntegrityError naming the object, never
    the decoder's traceback, and never anything but the JSON or Parquet decoder runs on them."""
    try:
        yield
    except XComS3Error:
        raise
    except (ValueError, OSError) as exc:  # JSON/UTF-8/Arrow (ArrowInvalid), gzip/zstd (OSError, ArrowIOError)
        raise IntegrityError(
            f"XCom object {failures.where(settings, key)} is not valid {fmt} ({type(exc).__name__}: {exc}), although "
            "it matches the size and checksum its reference records: xcom-s3 did not write it (the object or the "
            "reference was edited). Re-run the task that produced it."
        ) from exc


def _text_of_ours(value: Any) -> bool:
    """A string holding the JSON text of one of our objects: compat reads such text where a stored value is
    expected (3.x rows the REST API wrote, 2.x rows Airflow decoded before purge), so it must be escaped."""
    if not (isinstance(value, str) and value[:1] == "{"):
        return False
    try:
        return reference.is_ours(json.loads(value))
    except (ValueError, RecursionError):  # what compat's reader fails on too: it reads the string as a string
        return False


def _escape_pickle(pickled: bytes) -> dict[str, Any]:
    """An escape holding the default's pickle of a value: read back by unpickling, as the default reads it."""
    return {
        reference.MARKER: reference.FORMAT_VERSION,
        "kind": reference.KIND_ESCAPED,
        PICKLE: escape_encode(pickled)[0].decode("ascii"),
    }


def _unescape_pickle(stored: dict[str, Any]) -> Any:
    """The value of an escaped pickle, unpickled only where the default would unpickle it."""
    if not xcom_pickling_enabled():
        raise XComS3Error(
            "This XCom value was pushed as a pickle (Airflow 2 with [core] enable_xcom_pickling = True) and pickling "
            "is off here. On Airflow 2 set AIRFLOW__CORE__ENABLE_XCOM_PICKLING=True to read it; Airflow 3 reads no "
            "pickled XComs (its 3.0 migration archives the default backend's too): re-run the task that pushed it."
        )
    try:
        pickled = escape_decode(str(stored[PICKLE]).encode("ascii"))[0]
    except ValueError as exc:  # UnicodeEncodeError too
        raise XComS3Error(
            f"XCom value holds a malformed escaped pickle ({exc}); it was not written by xcom-s3."
        ) from exc
    return default_load_stored(pickled)
