"""Deterministic, run-scoped object keys: a retry or rerun overwrites its object instead of leaking a new one."""

from __future__ import annotations

import hashlib
import uuid
from urllib.parse import quote, unquote

from xcom_compat import XComContext

#: Object extensions, longest first so "json.zst" is not read as "zst".
EXTENSIONS = ("json.zst", "json.gz", "parquet", "json")

#: S3's limit on a key's UTF-8 length.
MAX_KEY_BYTES = 1024
#: Marks a segment replaced by its id's digest; ``~`` itself is always quoted in ids, so nothing else starts so.
DIGEST_MARK = "~"

#: Where values go when a caller passes no run context (direct ``serialize_value`` calls): nothing to scope by.
UNSCOPED = "_unscoped"


def quote_part(part: str) -> str:
    """Percent-quote one id so any dag/run/task/key id is a single, reversible key segment.

    ``/`` and every other reserved character are quoted; a leading ``.`` too, so no segment is ``.`` or ``..``.
    """
    quoted = quote(part, safe="").replace("~", "%7E")
    return "%2E" + quoted[1:] if quoted.startswith(".") else quoted


def _digest(part: str) -> str:
    return DIGEST_MARK + hashlib.sha256(part.encode("utf-8")).hexdigest()


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
    ids = [ctx.dag_id, ctx.run_id, ctx.task_id, ctx.key]
    quoted = [quote_part(part) for part in ids]
    instance = instance_segment(ctx)

    def build() -> str:
        dag, run, task, name = quoted
        return f"{prefix}/{dag}/{run}/{task}/{instance}/{name}.{ext}"

    key = build()
    # Airflow allows 250-character ids and 512-character keys, and quoting can triple them: past S3's limit,
    # replace the longest segments by their ids' sha256 (distinct still, no longer reversible) until it fits.
    while len(key.encode("utf-8")) > MAX_KEY_BYTES:
        longest = max(range(4), key=lambda i: len(quoted[i]) if not quoted[i].startswith(DIGEST_MARK) else -1)
        if quoted[longest].startswith(DIGEST_MARK):
            raise ValueError(f"the prefix {prefix!r} is too long for any XCom key to fit S3's {MAX_KEY_BYTES} bytes")
        quoted[longest] = _digest(ids[longest])
        key = build()
    return key


def parse_object_key(key: str, prefix: str) -> tuple[XComContext, str]:
    """Invert :func:`object_key`: the context and extension a scoped key was built from.

    A segment that had to be replaced by its digest (ids too long for S3) comes back as that ``~<sha256>``.
    """
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
