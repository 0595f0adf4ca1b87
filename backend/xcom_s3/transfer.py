"""Streaming S3 transfers for large objects: upload while encoding, download straight into one buffer.

Why not one ``put_object`` of a buffered file: the upload could only start once the whole Parquet file existed,
and the file plus botocore's copy of it sat in memory next to the frame. :class:`UploadSink` is a write-only file:
past :data:`MULTIPART_THRESHOLD` every full part leaves on a thread while the encoder goes on and another thread
hashes the parts in order, so encoding, hashing and transfer overlap and at most ``concurrency + 1`` parts are
held. Smaller objects go up as one PUT of the encoded buffer (no copy). The reference is only ever made after S3
confirmed the whole object: a failed multipart upload is aborted, never completed.

Reading, :func:`download` streams the object into one preallocated buffer, hashing each chunk as it arrives, and
returns the bytes only if the whole-object sha256 matches the reference. Objects over :data:`SINGLE_GET_MAX` come
in concurrent ranges (a single S3 connection tops out well below what a worker can decode); below it one GET wins,
since every extra request costs a round trip (and on moto, the loopback test server, re-reads the whole object).

Every request runs under the one retry budget (:func:`xcom_s3.retry.attempts`): re-sending a part or a range
is safe, the key being deterministic, and a body cut short is asked again only for the bytes that did not come.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

from xcom_s3 import failures, integrity, retry, store
from xcom_s3.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Objects up to this size go up as one PUT once encoded: a multipart upload costs three more round trips, and
#: S3-compatible servers that assemble parts by copying (moto, the loopback server of the benchmarks) take about
#: twice the CPU of a PUT. Past it, parts stream out while the encoder goes on.
MULTIPART_THRESHOLD = 64 * 2**20
#: Multipart part size (S3's minimum is 5 MiB for every part but the last). Doubles every 1,000 parts, so the
#: 10,000-part limit is never reached (the first 1,000 parts alone hold 8 GiB).
PART_SIZE = 8 * 2**20
#: Parts uploading at once; with the part being filled this bounds the upload's buffers to (n + 1) parts.
UPLOAD_CONCURRENCY = 3
#: Objects up to this size are fetched with one GET; larger ones in RANGE_CONCURRENCY ranges at once, each at least
#: RANGE_SIZE (see :func:`_ranges`).
SINGLE_GET_MAX = 64 * 2**20
RANGE_SIZE = 16 * 2**20
RANGE_CONCURRENCY = 4
#: Bytes read from a response body at a time (each chunk is hashed while the socket fills with the next).
READ_CHUNK = 2**20


class UploadSink:
    """A write-only binary file that becomes the S3 object ``key``: use as ``with UploadSink(...) as sink:``.

    Leaving the block normally completes the object (then :attr:`size` and :attr:`sha256` describe it); leaving
    it with an exception aborts the multipart upload, so no partial object is ever visible under ``key``.
    """

    def __init__(
        self,
        settings: Settings,
        key: str,
        content_type: str,
        *,
        part_size: int | None = None,
        concurrency: int | None = None,
        threshold: int | None = None,
    ) -> None:
        # Defaults read at call time, so tests and tuning can change the module's constants.
        self.settings = settings
        self.key = key
        self.content_type = content_type
        self.size = 0
        self.sha256 = ""
        self.closed = False
        self._part_size = PART_SIZE if part_size is None else part_size
        self._threshold = MULTIPART_THRESHOLD if threshold is None else threshold
        self._concurrency = UPLOAD_CONCURRENCY if concurrency is None else concurrency
        self._hash = hashlib.sha256()
        self._buffer = bytearray()
        self._client = store.client(settings)
        self._upload_id: str | None = None
        self._parts: list[Future[dict[str, Any]]] = []
        self._hashed: list[Future[None]] = []
        self._slots = threading.BoundedSemaphore(self._concurrency)
        self._uploads: ThreadPoolExecutor | None = None
        self._hasher: ThreadPoolExecutor | None = None
        self._error: Exception | None = None

    # ---- the file interface pyarrow writes through ------------------------------------------------------------

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        """Nothing to do: full parts leave as soon as they are full."""

    def close(self) -> None:
        """pyarrow closes its sink when the writer closes; completing the object is left to ``__exit__``."""

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._buffer += view
        self.size += len(view)
        if len(self._buffer) >= self._current_part_size() and (self._upload_id or self.size > self._threshold):
            try:
                self._ship_buffer()
            except Exception as exc:
                # Kept, because pyarrow may re-raise what a file's write raised as an error of its own.
                self._error = failures.chained(exc, self.settings, self.key, "write")
                raise self._error  # noqa: B904 (chained sets the cause, never to itself)
        return len(view)

    # ---- the object -------------------------------------------------------------------------------------------

    def __enter__(self) -> UploadSink:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                self._finish()
            else:
                self._abort()
                if self._error is not None and exc is not self._error:
                    raise self._error from exc
        finally:
            self.closed = True
            self._buffer = bytearray()
            for pool in (self._uploads, self._hasher):
                if pool is not None:
                    pool.shutdown(wait=True, cancel_futures=True)

    def _current_part_size(self) -> int:
        """Doubles every 1000 parts, to stay under S3's 10,000-part limit (a shift: mypy types ``2 ** n`` as Any)."""
        return self._part_size << (len(self._parts) // 1000)

    def _call(self, request: Callable[[], T]) -> T:
        """One request under the retry budget."""
        return retry.attempts(self.settings, self.key, "write", request)

    def _ship_buffer(self) -> None:
        """Ship what is buffered: as one part once uploading, cut into parts when the threshold is first passed."""
        if self._upload_id is not None:
            part, self._buffer = self._buffer, bytearray()
            self._ship(part)
            return
        view = memoryview(self._buffer)
        start = 0
        while len(view) - start >= self._current_part_size():
            stop = start + self._current_part_size()
            self._ship(bytearray(view[start:stop]))
            start = stop
        rest = bytearray(view[start:])
        view.release()
        self._buffer = rest

    def _ship(self, part: bytearray) -> None:
        """Start hashing and uploading ``part`` (blocking while ``concurrency`` parts are already in flight)."""
        self._raise_failed_part()
        if self._upload_id is None:
            extra = store.sse_arguments(self.settings)
            created = self._call(
                lambda: self._client.create_multipart_upload(
                    Bucket=self.settings.bucket, Key=self.key, ContentType=self.content_type, **extra
                )
            )
            self._upload_id = str(created["UploadId"])
            self._uploads = ThreadPoolExecutor(self._concurrency, thread_name_prefix="xcom-s3-upload")
            self._hasher = ThreadPoolExecutor(1, thread_name_prefix="xcom-s3-hash")  # one thread: parts in order
        assert self._uploads is not None and self._hasher is not None
        self._hashed.append(self._hasher.submit(self._hash.update, part))
        self._slots.acquire()
        try:
            future = self._uploads.submit(self._upload_part, len(self._parts) + 1, part)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _f: self._slots.release())
        self._parts.append(future)

    def _upload_part(self, number: int, part: bytearray) -> dict[str, Any]:
        upload_id = self._upload_id
        response = self._call(
            lambda: self._client.upload_part(
                Bucket=self.settings.bucket, Key=self.key, UploadId=upload_id, PartNumber=number, Body=part
            )
        )
        return {"PartNumber": number, "ETag": response["ETag"]}

    def _raise_failed_part(self) -> None:
        for future in self._parts:
            if future.done() and future.exception() is not None:
                future.result()

    def _finish(self) -> None:
        try:
            if self._upload_id is None:  # under the multipart threshold: a single PUT of the buffer as it is
                self._hash.update(self._buffer)
                body = self._buffer
                self._call(
                    lambda: self._client.put_object(
                        Bucket=self.settings.bucket,
                        Key=self.key,
                        Body=body,
                        ContentType=self.content_type,
                        **store.sse_arguments(self.settings),
                    )
                )
            else:
                if self._buffer:
                    part, self._buffer = self._buffer, bytearray()
                    self._ship(part)
                parts = [future.result() for future in self._parts]
                for hashed in self._hashed:
                    hashed.result()
                upload_id = self._upload_id
                self._call(
                    lambda: self._client.complete_multipart_upload(
                        Bucket=self.settings.bucket,
                        Key=self.key,
                        UploadId=upload_id,
                        MultipartUpload={"Parts": parts},
                    )
                )
        except Exception as exc:
            self._abort()
            raise failures.chained(exc, self.settings, self.key, "write")  # noqa: B904 (the cause is set there)
        self.sha256 = self._hash.hexdigest()

    def _abort(self) -> None:
        """Drop queued parts and abort the multipart upload, so S3 keeps nothing of this attempt."""
        if self._upload_id is None:
            return
        for future in self._parts:
            future.cancel()
        if self._uploads is not None:
            self._uploads.shutdown(wait=True, cancel_futures=True)
        upload_id, self._upload_id = self._upload_id, None
        try:
            self._client.abort_multipart_upload(Bucket=self.settings.bucket, Key=self.key, UploadId=upload_id)
        except Exception as exc:  # logged, not raised: the upload's own error is what the task must see
            log.warning("%s", abort_failed(self.settings, self.key, upload_id, exc))


def abort_failed(settings: Settings, key: str, upload_id: str, exc: Exception) -> str:
    """Why an incomplete upload is left, and how to remove it: it was never completed, so no object exists, but S3
    keeps (and bills) its parts, which no ListObjects shows and so ``xcom-s3 gc`` never collects."""
    reason = failures.translate(exc, settings, key, "abort the multipart upload of")
    return (
        f"Multipart upload {upload_id} of s3://{settings.bucket}/{key} was not aborted: {reason} Until it is, S3 "
        "keeps its parts (billed, invisible to ListObjects and to `xcom-s3 gc`). A bucket lifecycle rule with "
        "AbortIncompleteMultipartUpload on the prefix removes them, or by hand: aws s3api abort-multipart-upload "
        f"--bucket {settings.bucket} --key {key} --upload-id {upload_id}"
    )


def download(settings: Settings, key: str, *, size: int, sha256: str) -> Any:
    """The object's bytes (an Arrow buffer), only if they match the reference's size and sha256.

    The buffer comes from Arrow's memory pool, which usually still holds pages the encoder or an earlier decode
    freed: fewer fresh pages to fault in than a new ``bytearray``, and the decoder reads it without a copy.

    A body cut short is asked again for the bytes it did not bring (see :class:`_Span`). Bytes that fail the
    checksum are fetched again, whole; the same wrong bytes twice (or a budget spent on mismatches) are an
    :class:`IntegrityError`, never data.
    """
    import pyarrow as pa

    client = store.client(settings)
    seen: list[str] = []
    buffer = pa.allocate_buffer(size)  # every byte is written below, or the download fails
    view = memoryview(buffer).cast("B")
    whole = _Span(0, size, hashlib.sha256())  # the single GET's progress, kept across its attempts

    def once() -> Any:
        nonlocal whole
        if size <= SINGLE_GET_MAX:
            actual = _fetch_one(settings, client, key, view, whole)
            whole = _Span(0, size, hashlib.sha256())  # all of it came: a mismatch is read again from the start
        else:
            actual = _fetch_ranges(settings, client, key, view, size)
        if actual == sha256:
            return buffer
        problem = f"checksum mismatch: sha256 {actual} does not match the reference's {sha256}"
        integrity.reject_download(settings, key, problem, actual, seen)

    try:
        return retry.attempts(settings, key, "read", once)
    finally:
        view.release()


class _Span:
    """Bytes ``[start, stop)`` of the object and how far they have come (``reached``): a request cut short (reset,
    short read) is followed by one for ``bytes=reached-(stop-1)`` only, so a cut costs at most what was in flight,
    whatever the size of the range. ``hasher``, if given, takes the bytes in order as they come."""

    def __init__(self, start: int, stop: int, hasher: Any = None) -> None:
        self.reached = start
        self.stop = stop
        self.hasher = hasher

    def get(self, settings: Settings, client: Any, key: str, size: int) -> Any:
        """The GET for the bytes still missing (the whole object, unranged, if that is all of it)."""
        if self.reached == 0 and self.stop == size:
            return client.get_object(Bucket=settings.bucket, Key=key)
        return client.get_object(Bucket=settings.bucket, Key=key, Range=f"bytes={self.reached}-{self.stop - 1}")


def _fetch_one(settings: Settings, client: Any, key: str, view: memoryview, whole: _Span) -> str:
    """One GET into ``view`` (resumed from the byte reached if cut), hashing as the body arrives; the sha256."""
    _read_into(whole.get(settings, client, key, whole.stop), view, whole, whole.stop)
    return str(whole.hasher.hexdigest())


def _fetch_ranges(settings: Settings, client: Any, key: str, view: memoryview, size: int) -> str:
    """Concurrent ranged GETs into ``view``, hashed in order as they complete; the sha256 of what came."""
    hasher = hashlib.sha256()
    ranges = _ranges(size)

    def fetch(start: int, stop: int) -> None:
        span = _Span(start, stop)

        def once() -> None:
            _read_into(span.get(settings, client, key, size), view, span, size)

        retry.attempts(settings, key, "read", once)

    with ThreadPoolExecutor(RANGE_CONCURRENCY, thread_name_prefix="xcom-s3-download") as pool:
        futures = [pool.submit(fetch, a, b) for a, b in ranges]
        try:
            for (a, b), future in zip(ranges, futures, strict=True):
                future.result()
                hasher.update(view[a:b])  # hashing range i overlaps with fetching the ranges after it
        finally:
            for future in futures:
                future.cancel()
    return hasher.hexdigest()


def _ranges(size: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of each ranged GET: one wave of RANGE_CONCURRENCY ranges, none smaller than RANGE_SIZE.

    Fewer, larger ranges keep the concurrency and save requests: moto (the loopback server of the tests and the
    benchmarks) reads the whole object for every ranged GET, so 19 ranges of 16 MiB took about 3x as long as 4
    ranges for a 294 MiB object. A large range costs no more when cut: only its missing bytes are asked again.
    """
    step = max(RANGE_SIZE, -(-size // RANGE_CONCURRENCY))
    return [(start, min(start + step, size)) for start in range(0, size, step)]


def _read_into(response: Any, view: memoryview, span: _Span, size: int) -> None:
    """Copy a GET's body into ``view`` from ``span.reached`` on, advancing it chunk by chunk (so a failure mid-body
    keeps what came); a short body or another object's is worth a retry."""
    total = str(response.get("ContentRange", "")).rpartition("/")[2] or str(response.get("ContentLength", ""))
    if total.isdigit() and int(total) != size:
        raise retry.Corrupt(f"size mismatch: the object holds {total} bytes, the reference records {size}")
    body = response["Body"]
    _skip_to(body, _first_byte(response), span.reached)
    asked = span.reached
    while span.reached < span.stop:
        chunk = body.read(min(READ_CHUNK, span.stop - span.reached))
        if not chunk:
            break
        view[span.reached : span.reached + len(chunk)] = chunk
        if span.hasher is not None:
            span.hasher.update(chunk)
        span.reached += len(chunk)
    if span.reached != span.stop:
        raise retry.Retry(f"bytes {asked}-{span.stop - 1} came back as {span.reached - asked} bytes")


def _first_byte(response: Any) -> int:
    """Where the body starts in the object: its Content-Range's first byte, 0 for a whole-object answer."""
    content_range = str(response.get("ContentRange", ""))  # "bytes 100-199/1000"
    first = content_range.partition(" ")[2].partition("-")[0]
    return int(first) if first.isdigit() else 0


def _skip_to(body: Any, first: int, wanted: int) -> None:
    """Read and drop the body's bytes before ``wanted`` (a server that ignored the Range sends them)."""
    if first > wanted:
        raise retry.Corrupt(f"asked for bytes from {wanted}, the answer starts at byte {first}")
    while first < wanted:
        chunk = body.read(min(READ_CHUNK, wanted - first))
        if not chunk:
            raise retry.Retry(f"the answer ended at byte {first}, before byte {wanted} that was asked for")
        first += len(chunk)
