"""Deliberately broken backends: each is S3XComBackend with ONE defect a real user backend could have.

Which releases each is wrong on, and which checks must kill it, is the table in ``mutant_table.py``.
Select one with ``XCOM_S3_TEST_BACKEND=gate.mutants.<Name>`` (tests/ is on sys.path).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
from collections.abc import Callable
from typing import Any

from xcom_compat import InlineForm, XComContext, default_load_text
from xcom_s3 import S3XComBackend, codecs, frames, reference, store
from xcom_s3 import backend as backend_module
from xcom_s3.keys import object_key
from xcom_s3.settings import Settings, threshold

_CONTEXT_NAMES = ("key", "task_id", "dag_id", "run_id", "map_index")


class KwargsSerializer(S3XComBackend):
    """The pre-2.3 style signature: Airflow 2.3+'s resolver wraps it in a shim that passes only ``value``."""

    @classmethod
    def serialize_value(cls, value: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        fields: dict[str, Any] = {name: kwargs.get(name) for name in _CONTEXT_NAMES}
        ctx = XComContext(**fields)
        return cls._serialize(value, ctx)


class BytesOn3x(S3XComBackend):
    """Returns JSON bytes on every release: right for 2.x's LargeBinary, unpostable on 3.x."""

    @classmethod
    def _serialize(cls, value: Any, ctx: XComContext) -> Any:
        stored = super()._serialize(value, ctx)
        if isinstance(stored, (bytes, bytearray)):
            return stored
        return json.dumps(stored, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class CsvFrames(S3XComBackend):
    """DataFrames as CSV: dtypes, categories and index classes do not survive."""

    @classmethod
    def _offload_frame(cls, frame: Any, ctx: XComContext, settings: Settings) -> dict[str, Any]:
        data = frame.to_csv().encode("utf-8")
        key = object_key(settings.prefix, ctx, "csv")
        store.put(settings, key, data, "text/csv")
        return reference.make_reference(
            bucket=settings.bucket,
            key=key,
            fmt="csv",
            codec="none",
            size=len(data),
            sha256=store.sha256_hex(data),
            shape=list(frame.shape),
        )

    @classmethod
    def load(cls, stored: dict[str, Any]) -> Any:
        if stored.get("format") != "csv":
            return super().load(stored)
        import pandas as pd

        settings = Settings.from_airflow()
        key = reference.locate(stored, settings.bucket, settings.prefix)
        data = store.get(settings, key, size=int(stored["size"]), sha256=str(stored["sha256"]))
        return pd.read_csv(io.BytesIO(data), index_col=0)


class NoEscape(S3XComBackend):
    """Stores look-alike values as they are, so a marker dict is later taken for one of ours."""

    @classmethod
    def offload(cls, value: Any, ctx: XComContext, inline: Callable[[], InlineForm]) -> dict[str, Any] | None:
        obj = super().offload(value, ctx, inline)
        if obj is not None and obj.get("kind") == reference.KIND_ESCAPED:
            return None
        return obj


class Purge2xOn3x(S3XComBackend):
    """The 2.9+ signature ``purge(xcom, session)`` as a staticmethod; 3.x calls ``purge(xcom)``."""

    @staticmethod
    def purge(xcom: Any, session: Any) -> None:  # type: ignore[override]
        S3XComBackend.purge(xcom, session)  # the right body: only the signature is wrong


class UuidKeys(S3XComBackend):
    """A fresh uuid in every object key: a retry or rerun leaves the previous object orphaned."""

    @classmethod
    def _offload_json(cls, json_text: bytes, ctx: XComContext, settings: Settings) -> dict[str, Any]:
        return super()._offload_json(json_text, dataclasses.replace(ctx, per_write=True), settings)

    @classmethod
    def _offload_frame(cls, frame: Any, ctx: XComContext, settings: Settings) -> dict[str, Any]:
        return super()._offload_frame(frame, dataclasses.replace(ctx, per_write=True), settings)


class ReadOutsidePrefix(S3XComBackend):
    """Reads whatever key a JSON reference names in the bucket, without checking it lies under the prefix."""

    @classmethod
    def load(cls, stored: dict[str, Any]) -> Any:
        if stored.get("kind") != reference.KIND_REF or stored.get("format") != "json":
            return super().load(stored)
        settings = Settings.from_airflow()
        key = str(stored["uri"]).removeprefix(f"s3://{settings.bucket}/")
        data = store.get(settings, key, size=int(stored["size"]), sha256=str(stored["sha256"]))
        return default_load_text(codecs.decompress(data, str(stored["codec"]), int(stored["raw_size"])))


class ThresholdOffByOne(S3XComBackend):
    """Offloads when size > THRESHOLD (a value of exactly THRESHOLD bytes stays inline)."""

    @classmethod
    def offload(cls, value: Any, ctx: XComContext, inline: Callable[[], InlineForm]) -> dict[str, Any] | None:
        current = threshold()
        old = os.environ.get("AIRFLOW__XCOM_S3__THRESHOLD")
        os.environ["AIRFLOW__XCOM_S3__THRESHOLD"] = str(current + 1)
        try:
            return super().offload(value, ctx, inline)
        finally:
            if old is None:
                del os.environ["AIRFLOW__XCOM_S3__THRESHOLD"]
            else:
                os.environ["AIRFLOW__XCOM_S3__THRESHOLD"] = old


class SchedulerKeysOffloaded(S3XComBackend):
    """Offloads skipmixin_key / past_depends_met too, which the scheduler reads straight from the DB."""

    @classmethod
    def offload(cls, value: Any, ctx: XComContext, inline: Callable[[], InlineForm]) -> dict[str, Any] | None:
        if ctx.key in backend_module.SCHEDULER_KEYS and not frames.is_frame(value):
            form = inline()
            if form.json_text is not None and form.size >= threshold():
                return cls._offload_json(form.json_text, ctx, Settings.from_airflow())
        return super().offload(value, ctx, inline)


class LegacyHooksOn34(S3XComBackend):
    """Re-declares serialize_value (e.g. to log): on 3.4 that hook is now closer than store_value, so the
    backend is "legacy" and Dags with loop task groups are refused."""

    @classmethod
    def serialize_value(  # type: ignore[override]
        cls,
        value: Any,
        *,
        key: str | None = None,
        task_id: str | None = None,
        dag_id: str | None = None,
        run_id: str | None = None,
        map_index: int | None = None,
        **kwargs: Any,
    ) -> Any:
        return super().serialize_value(
            value, key=key, task_id=task_id, dag_id=dag_id, run_id=run_id, map_index=map_index, **kwargs
        )
