"""Collect orphans: objects under the prefix that no XCom row references any more.

Airflow calls ``purge`` only when a task clears its own XComs before a run. ``airflow db clean``, deleting a
Dag run, the UI/REST delete and (3.x) server-side overwrites remove rows without telling the backend, so their
objects stay in S3. Deterministic keys already stop retries from leaking; this finds the rest by comparing
the bucket with the metadata DB. Objects younger than ``older_than`` are never touched, so a value whose row is
being written right now is safe.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from xcom_s3 import reference, store
from xcom_s3.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class GcReport:
    """What a collection saw and did; ``orphans`` lists keys (deleted unless it was a dry run)."""

    scanned: int = 0
    referenced: int = 0
    too_young: int = 0
    orphans: list[str] = field(default_factory=list)
    orphan_bytes: int = 0
    deleted: int = 0

    def summary(self, dry_run: bool) -> str:
        verb = "would delete" if dry_run else "deleted"
        count = len(self.orphans) if dry_run else self.deleted
        return (
            f"scanned {self.scanned} objects: {self.referenced} referenced, {self.too_young} too young to judge, "
            f"{len(self.orphans)} orphaned ({self.orphan_bytes} bytes); {verb} {count}"
        )


def _decode(raw: Any) -> Any:
    if isinstance(raw, (bytes, bytearray, memoryview)):
        raw = bytes(raw).decode("utf-8", errors="replace")
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return None
    return raw


def referenced_keys(stored_values: Iterable[Any], bucket: str) -> set[str]:
    """Keys in ``bucket`` that the given stored XCom values (raw DB column values) point at."""
    keys: set[str] = set()
    for raw in stored_values:
        obj = _decode(raw)
        if reference.is_ours(obj) and obj.get("kind") == reference.KIND_REF:
            uri = str(obj.get("uri", ""))
            ref_bucket, _, key = uri.removeprefix("s3://").partition("/")
            if ref_bucket == bucket:
                keys.add(key)
    return keys


def stored_values_from_metadata_db() -> Iterator[Any]:
    """Every value in Airflow's ``xcom`` table (bytes on 2.x, JSON on 3.x), streamed."""
    from airflow.utils.session import create_session
    from sqlalchemy import text

    with create_session() as session:
        result = session.execute(text("SELECT value FROM xcom")).yield_per(1000)
        for (value,) in result:
            yield value


def collect(
    settings: Settings,
    stored_values: Iterable[Any],
    *,
    older_than: timedelta,
    dry_run: bool,
    now: datetime | None = None,
) -> GcReport:
    """Delete (or with ``dry_run`` only list) unreferenced objects under the prefix older than ``older_than``."""
    keep = referenced_keys(stored_values, settings.bucket)
    cutoff = (now or datetime.now(timezone.utc)) - older_than
    report = GcReport()
    s3 = store.client(settings)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket, Prefix=settings.prefix + "/")
    doomed: list[str] = []
    for page in pages:
        for obj in page.get("Contents", []):
            report.scanned += 1
            if obj["Key"] in keep:
                report.referenced += 1
            elif obj["LastModified"] > cutoff:
                report.too_young += 1
            else:
                report.orphans.append(obj["Key"])
                report.orphan_bytes += int(obj.get("Size", 0))
                doomed.append(obj["Key"])
    if not dry_run:
        for start in range(0, len(doomed), 1000):  # DeleteObjects takes at most 1000 keys
            batch = doomed[start : start + 1000]
            s3.delete_objects(Bucket=settings.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
            report.deleted += len(batch)
    return report


def parse_age(text_value: str) -> timedelta:
    """``7d``, ``12h``, ``30m``, ``45s`` (or plain seconds) as a timedelta."""
    units = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
    text_value = text_value.strip().lower()
    unit = units.get(text_value[-1:])
    number = text_value[:-1] if unit else text_value
    try:
        amount = float(number)
    except ValueError:
        raise ValueError(f"{text_value!r} is not an age: use e.g. 7d, 12h, 30m or 45s") from None
    if amount < 0:
        raise ValueError(f"{text_value!r} is negative")
    return timedelta(**{unit or "seconds": amount})
