"""Deterministic, run-scoped object keys: a retry or rerun overwrites its object instead of leaking a new one."""

from __future__ import annotations

import uuid
from urllib.parse import quote, unquote

from xcom_compat import XComContext

#: Object extensions, longest first so "json.zst" is not read as "zst".
EXTENSIONS = ("json.zst", "json.gz", "parquet", "json")

#: Where values go when a caller passes no run context (direct ``serialize_value`` calls): nothing to scope by.
UNSCOPED = "_unscoped"


def quote_part(part: str) -> str:
    """Percent-quote one id so any dag/run/task/key id is a single, reversible key segment.

    ``/`` and every other reserved character are quoted; a leading ``.`` too, so no segment is ``.`` or ``..``.
    """
    quoted = quote(part, safe="")
    return "%2E" + quoted[1:] if quoted.startswith(".") else quoted


def instance_segment(ctx: XComContext) -> str:
    """Which task instance of the task: its map index, or on 3.4+ its id (loop iterations share map indexes)."""
    if ctx.per_write:
        return f"write-{uuid.uuid4().hex}"
    if ctx.ti_id is not None:
        return f"ti-{quote_part(ctx.ti_id)}"
    return str(-1 if ctx.map_index is None else int(ctx.map_index))


def object_key(prefix: str, ctx: XComContext, ext: str) -> str:
    """``<prefix>/<dag_id>/<run_id>/<task_id>/<map_index>/<key>.<ext>``, or a unique unscoped key without context."""
    if not ctx.is_complete:
        return f"{prefix}/{UNSCOPED}/{uuid.uuid4().hex}.{ext}"
    assert ctx.dag_id is not None and ctx.run_id is not None and ctx.task_id is not None and ctx.key is not None
    parts = [quote_part(ctx.dag_id), quote_part(ctx.run_id), quote_part(ctx.task_id), instance_segment(ctx)]
    return f"{prefix}/{'/'.join(parts)}/{quote_part(ctx.key)}.{ext}"


def parse_object_key(key: str, prefix: str) -> tuple[XComContext, str]:
    """Invert :func:`object_key`: the context and extension a scoped key was built from."""
    if not key.startswith(prefix + "/"):
        raise ValueError(f"{key!r} is not under the prefix {prefix!r}")
    parts = key[len(prefix) + 1 :].split("/")
    if len(parts) != 5:
        raise ValueError(f"{key!r} is not a run-scoped XCom key (<dag>/<run>/<task>/<map_index>/<key>.<ext>)")
    dag_id, run_id, task_id, instance, leaf = parts
    ext = next((e for e in EXTENSIONS if leaf.endswith("." + e)), None)
    if ext is None:
        raise ValueError(f"{key!r} has none of the extensions {EXTENSIONS}")
    name = leaf[: -len(ext) - 1]
    ctx = XComContext(
        key=unquote(name),
        task_id=unquote(task_id),
        dag_id=unquote(dag_id),
        run_id=unquote(run_id),
        map_index=None if instance.startswith(("ti-", "write-")) else int(instance),
        ti_id=unquote(instance[3:]) if instance.startswith("ti-") else None,
        per_write=instance.startswith("write-"),
    )
    return ctx, ext
