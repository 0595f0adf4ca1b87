"""Collect orphans: objects under the prefix that no XCom row references any more.

Airflow calls ``purge`` only when a task clears its own XComs before a run. ``airflow db clean``, deleting a
Dag run, the UI/REST delete and (3.x) server-side overwrites remove rows without telling the backend, so their
objects stay in S3. Deterministic keys already stop retries from leaking; this finds the rest by comparing
the bucket with the metadata DB.

What it reads: every value of every XCom table in the metadata DB Airflow is configured with, through Airflow's own
session (:mod:`xcom_s3.xcom_table`: ``xcom`` up to 3.3; ``xcom_v1`` and ``xcom_v2`` on 3.4; 3.0's
``_xcom_archive``), all of it before the first delete. A DB without any XCom table is an error, never "no rows".

What it keeps, since a wrong delete loses a user's XCom:

* an object a reference names (``{"__xcom_s3__": 1, "kind": "ref", "uri": "s3://<bucket>/<key>"}``), whichever key
  layout the backend version that wrote it used;
* an object whose key appears anywhere in the text of any stored value (its raw column and, where JSON escapes
  could hide it, its decoded strings): an escaped look-alike naming it (user data, kept all the same: the user may
  mean that object), a pickle, a value that is not JSON, a reference with the same key in another bucket. A key
  that merely starts a longer mention is kept too;
* everything, if any value carries the marker with a format version or kind this gc does not know: a newer backend
  may name its objects in a way gc cannot see, so gc stops before listing (:class:`UnknownFormatError`);
* objects younger than ``older_than``, so a value whose row is being written right now is safe.

Listing and deletes go through the backend's retry loop (:func:`xcom_s3.retry.attempts`) and error translation
(:mod:`xcom_s3.failures`); a refusal names the permission gc needs. Keys S3 declines to delete (``DeleteObjects``
answers them in ``Errors``) are reported one by one (:attr:`GcReport.failed`) and never counted as deleted.
"""

from __future__ import annotations

import bisect
import functools
import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from xcom_s3 import failures, reference, retry, store, xcom_table
from xcom_s3.errors import StorageError, XComS3Error
from xcom_s3.keys import MAX_KEY_BYTES
from xcom_s3.settings import Settings

T = TypeVar("T")

#: ``DeleteObjects`` takes at most this many keys.
DELETE_BATCH = 1000


class MetadataDBError(XComS3Error):
    """gc cannot read the XCom tables of Airflow's metadata DB: the message names the setting to check."""


class UnknownFormatError(XComS3Error):
    """A stored value carries our marker in a format this gc does not read, so it cannot tell what is referenced."""


@dataclass(frozen=True)
class DeleteFailure:
    """One key S3 declined to delete, with S3's own code and message."""

    key: str
    code: str
    message: str


@dataclass
class GcReport:
    """What a collection saw and did; ``orphans`` lists the keys it would delete (dry run) or tried to."""

    scanned: int = 0
    #: why objects were kept -> how many: "referenced", "mentioned" (some stored value's text names the key; not a
    #: reference gc reads), "too young"
    kept: Counter[str] = field(default_factory=Counter)
    orphans: list[str] = field(default_factory=list)
    orphan_bytes: int = 0
    deleted: list[str] = field(default_factory=list)
    failed: list[DeleteFailure] = field(default_factory=list)
    #: keys of a batch S3 declined without naming them, whose lookup then failed: deleted or not, nobody knows
    unsettled: list[str] = field(default_factory=list)

    def summary(self, dry_run: bool) -> str:
        kept = self.kept
        head = (
            f"scanned {self.scanned} objects: {kept['referenced']} referenced, {kept['mentioned']} named by other "
            f"stored values (kept), {kept['too young']} too young to judge, {len(self.orphans)} orphaned "
            f"({self.orphan_bytes} bytes)"
        )
        if dry_run:
            return f"{head}; would delete {len(self.orphans)}"
        return f"{head}; deleted {len(self.deleted)}, {len(self.failed)} failed"


def failure_message(report: GcReport, settings: Settings) -> str:
    """What to do about the keys S3 declined to delete (they are still there)."""
    codes = sorted({failure.code for failure in report.failed})
    if any(code in failures.DENIED_CODES for code in codes):
        advice = f"Grant the credentials gc runs with {failures.grant(settings, 'delete')}, then run gc again."
    else:
        advice = "Run gc again to retry them."
    return (
        f"S3 declined to delete {len(report.failed)} of {len(report.orphans)} orphaned objects in bucket "
        f"{settings.bucket!r} ({', '.join(codes)}); they are still there. {advice}"
    )


def _as_text(raw: Any) -> Any:
    """A bytes column (2.x's) as text, undecodable bytes replaced (a pickle's strings survive); the rest as is."""
    if isinstance(raw, (bytes, bytearray, memoryview)):
        return bytes(raw).decode("utf-8", errors="replace")
    return raw


def _decode(raw: Any) -> Any:
    """JSON text as the value it encodes (None if it is not JSON); a document (PostgreSQL's jsonb) as it is."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return None
    return raw


def _strings(value: Any) -> Iterator[str]:
    """Every string inside a decoded JSON value, dict keys included."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _texts(raw: Any, decoded: Any) -> Iterator[str]:
    """The text a stored value shows: its raw column and, where JSON escapes could hide a key (``\\/``,
    ``\\u0078``) or the DB hands back a document (PostgreSQL's jsonb), its decoded strings."""
    if isinstance(raw, str):
        yield raw
        if "\\" not in raw:
            return
    yield from _strings(decoded)


class Keep:
    """The keys the stored values protect (see the module docstring): read all of them, then ask :meth:`why`."""

    def __init__(self, settings: Settings) -> None:
        self._lead = settings.prefix + "/"
        self._uri = f"s3://{settings.bucket}/"
        self.referenced: set[str] = set()
        #: what follows each mention of "<prefix>/" in any stored text, sorted by :meth:`read`
        self._tails: list[str] = []
        #: the unknown formats seen (marker, kind), with how many values carry each
        self.unknown: dict[str, int] = {}

    @classmethod
    def read(cls, stored_values: Iterable[Any], settings: Settings) -> Keep:
        keep = cls(settings)
        for raw in stored_values:
            keep._add(raw)
        keep._tails.sort()
        return keep

    def _add(self, column: Any) -> None:
        raw = _as_text(column)
        decoded = _decode(raw)
        if reference.is_ours(decoded):
            self._add_ours(decoded)
        for text in _texts(raw, decoded):
            self._add_mentions(text)

    def _add_ours(self, stored: dict[str, Any]) -> None:
        version, kind = stored.get(reference.MARKER), stored.get("kind")
        if version != reference.FORMAT_VERSION or kind not in (reference.KIND_REF, reference.KIND_ESCAPED):
            shown = f"{reference.MARKER}={version!r} kind={kind!r}"[:120]
            self.unknown[shown] = self.unknown.get(shown, 0) + 1
            return
        uri = stored.get("uri")
        if kind == reference.KIND_REF and isinstance(uri, str) and uri.startswith(self._uri):
            self.referenced.add(uri[len(self._uri) :])

    def _add_mentions(self, text: str) -> None:
        start = text.find(self._lead)
        while start >= 0:
            begin = start + len(self._lead)
            self._tails.append(text[begin : begin + MAX_KEY_BYTES])
            start = text.find(self._lead, begin)

    def why(self, key: str) -> str | None:
        """``"referenced"``, ``"mentioned"`` or None (nothing stored names ``key``)."""
        if key in self.referenced:
            return "referenced"
        rest = key[len(self._lead) :] if key.startswith(self._lead) else key
        # Every tail starting with `rest` sorts at or after it, and before any tail that does not.
        at = bisect.bisect_left(self._tails, rest)
        return "mentioned" if at < len(self._tails) and self._tails[at].startswith(rest) else None

    def refuse_unknown(self) -> None:
        if not self.unknown:
            return
        seen = "; ".join(f"{count} with {shown}" for shown, count in sorted(self.unknown.items())[:3])
        raise UnknownFormatError(
            f"{sum(self.unknown.values())} XCom values in the metadata DB carry the {reference.MARKER} marker in a "
            f"format this gc does not read ({seen}; it reads format {reference.FORMAT_VERSION}, kinds "
            f"{reference.KIND_REF!r} and {reference.KIND_ESCAPED!r}). It cannot tell which objects they reference, "
            "so it deletes nothing: run gc from the xcom-s3-compat version your workers run."
        )


def stored_values(session: Any) -> Iterator[Any]:
    """Every value of every XCom table the session's DB has (:mod:`xcom_s3.xcom_table`), streamed.

    :class:`MetadataDBError` when the DB cannot be read or has no XCom table at all."""
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import SQLAlchemyError

    bind = session.get_bind()
    try:
        for sql in xcom_table.value_selects(inspect(bind).has_table):
            for (value,) in session.execute(text(sql)).yield_per(1000):
                yield value
    except (xcom_table.NoXComTable, SQLAlchemyError) as exc:
        shown = bind.url.render_as_string(hide_password=True)
        raise MetadataDBError(xcom_table.unreadable(f"{xcom_table.one_line(exc)} (in {shown})")) from exc


def stored_values_from_metadata_db() -> Iterator[Any]:
    """:func:`stored_values` of the metadata DB Airflow is configured with (bytes on 2.x, JSON on 3.x)."""
    from airflow.utils.session import create_session

    with create_session() as session:
        yield from stored_values(session)


def _s3(settings: Settings, action: str, call: Callable[[], T]) -> T:
    """One S3 request under the backend's retry loop; a refusal names the permission gc needs for it
    (:func:`xcom_s3.failures.grant`, as the backend's own refusals do, addressed to gc's credentials)."""
    where = settings.prefix + "/"
    try:
        return retry.attempts(settings, where, action, call)
    except StorageError as exc:
        cause = exc.__cause__
        code = failures.error_code(cause)[0] if isinstance(cause, Exception) else ""
        if code not in failures.DENIED_CODES:
            raise
        raise StorageError(
            f"Cannot {action} {failures.where(settings, where)}: access denied ({code}). Grant the credentials gc "
            f"runs with {failures.grant(settings, action)}."
        ) from cause


def _listing(settings: Settings) -> Iterator[dict[str, Any]]:
    """Every object under the prefix, one page per request (a retried page is asked for again, alone)."""
    s3 = store.client(settings)
    arguments: dict[str, Any] = {"Bucket": settings.bucket, "Prefix": settings.prefix + "/"}
    while True:
        call = functools.partial(s3.list_objects_v2, **arguments)
        page = _s3(settings, "list", call)
        yield from page.get("Contents", [])
        token = page.get("NextContinuationToken")  # S3 gives it exactly when the listing is truncated
        if not token:
            return
        arguments["ContinuationToken"] = token


def _delete(settings: Settings, batch: list[str], report: GcReport) -> None:
    """Delete one batch; the keys S3 answers in ``Errors`` go to ``report.failed``, the rest to ``deleted``.

    An ``Errors`` entry without its ``<Key>`` (some S3-compatible stores) could be any key of the batch: the keys no
    entry names are then looked up, and those still there get that entry's code and message.
    """
    s3 = store.client(settings)
    request = {"Objects": [{"Key": key} for key in batch], "Quiet": True}
    call = functools.partial(s3.delete_objects, Bucket=settings.bucket, Delete=request)
    errors = _s3(settings, "delete objects under", call).get("Errors", [])
    failed = [_failure(error, error["Key"]) for error in errors if error.get("Key")]
    unnamed = [error for error in errors if not error.get("Key")]
    named = {failure.key for failure in failed}
    if unnamed:
        try:
            failed += [_failure(unnamed[0], key) for key in batch if key not in named and _still_there(settings, key)]
        except XComS3Error:  # the run stops here: say which keys may be gone, never that they were deleted
            report.failed += failed
            report.unsettled += [key for key in batch if key not in named]
            raise
    kept = {failure.key for failure in failed}
    report.failed += failed
    report.deleted += [key for key in batch if key not in kept]


def _failure(error: dict[str, Any], key: str) -> DeleteFailure:
    """One ``Errors`` entry of a DeleteObjects answer (an empty ``<Code>`` or ``<Message>`` parses as None)."""
    return DeleteFailure(key, str(error.get("Code") or ""), str(error.get("Message") or ""))


def _still_there(settings: Settings, key: str) -> bool:
    """Whether ``key`` is listed (a key sorts first among those it is a prefix of)."""
    call = functools.partial(store.client(settings).list_objects_v2, Bucket=settings.bucket, Prefix=key, MaxKeys=1)
    return any(found.get("Key") == key for found in _s3(settings, "list", call).get("Contents", []))


def collect(
    settings: Settings,
    stored_values: Iterable[Any],
    *,
    older_than: timedelta,
    dry_run: bool,
    now: datetime | None = None,
    report: GcReport | None = None,
) -> GcReport:
    """Delete (or with ``dry_run`` only list) the objects under the prefix that nothing stored names and that are
    older than ``older_than``. Pass ``report`` to keep what was done when a later request fails."""
    keep = Keep.read(stored_values, settings)  # the whole DB first: no delete ever follows a partial read
    keep.refuse_unknown()
    cutoff = (now or datetime.now(timezone.utc)) - older_than
    report = report if report is not None else GcReport()
    for obj in _listing(settings):
        report.scanned += 1
        why = keep.why(obj["Key"]) or ("too young" if obj["LastModified"] > cutoff else None)
        if why is not None:
            report.kept[why] += 1
            continue
        report.orphans.append(obj["Key"])
        report.orphan_bytes += int(obj["Size"])  # ListObjectsV2 gives every object's size
    if not dry_run:
        for start in range(0, len(report.orphans), DELETE_BATCH):
            _delete(settings, report.orphans[start : start + DELETE_BATCH], report)
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
        amount = math.nan
    if math.isnan(amount):  # "nan" parses as a float, and no age compares with it
        raise ValueError(f"{text_value!r} is not an age: use e.g. 7d, 12h, 30m or 45s")
    if amount < 0:
        raise ValueError(f"{text_value!r} is negative")
    try:
        return timedelta(**{unit or "seconds": amount})
    except OverflowError:  # "inf", or more than timedelta's 999999999 days
        longest = f"{timedelta.max.days}d"
        raise ValueError(f"{text_value!r} is longer than the longest age Python counts ({longest})") from None
