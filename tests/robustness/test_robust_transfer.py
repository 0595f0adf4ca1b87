"""The streaming transfers as S3 sees them: where parts start and end, how many are in flight at once, what happens
to an upload whose part fails or whose encoder fails, which downloads are one GET, and servers that answer a ranged
GET with the whole object or hold an object of another size.

Why: test_robust_multipart checks that a multipart object ends as a single PUT would have made it and
test_robust_large/test_robust_resume that faults are survived; neither looks at the parts themselves nor at the
order and overlap of the requests. Here every assertion is on the S3 side: the parts S3 keeps (``HeadObject`` with
a part number), the requests the proxy saw and when, the uploads S3 still holds.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import airflow_io
import pytest
from fault_proxy import FaultProxy, Seen, _Handler
from rb_support import backend_through, big_frame, context, key_of, push, same

pytestmark = pytest.mark.usefixtures("fast_backoff")

MIB = 2**20
#: S3's smallest part (every part but the last).
PART = 5 * MIB


def _settings() -> Any:
    from xcom_s3.settings import Settings

    return Settings.from_airflow()


def _sink(key: str, **options: int) -> Any:
    from xcom_s3 import transfer

    return transfer.UploadSink(_settings(), key, "application/octet-stream", **options)


def _part_sizes(env: Any, key: str) -> list[int]:
    """The size of each part S3 keeps for ``key``, by part number from 1 (as a reader asking for a part sees it)."""
    first = env.client.head_object(Bucket=env.endpoint.bucket, Key=key, PartNumber=1)
    sizes = [int(first["ContentLength"])]
    for number in range(2, int(first.get("PartsCount", 1)) + 1):
        head = env.client.head_object(Bucket=env.endpoint.bucket, Key=key, PartNumber=number)
        sizes.append(int(head["ContentLength"]))
    return sizes


def _part_number(seen: Seen) -> int | None:
    """The part number of an UploadPart request, None for any other request."""
    numbers = parse_qs(urlsplit(seen.path).query).get("partNumber")
    return int(numbers[0]) if seen.method == "PUT" and numbers else None


def _parts(seen: list[Seen]) -> list[Seen]:
    return [s for s in seen if _part_number(s) is not None]


def _aborts(seen: list[Seen]) -> list[Seen]:
    return [s for s in seen if s.method == "DELETE" and "uploadId=" in s.path]


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def _uploads_left(env: Any, key: str) -> list[Any]:
    found = env.client.list_multipart_uploads(Bucket=env.endpoint.bucket, Prefix=key).get("Uploads", [])
    return [upload for upload in found if upload["Key"] == key]


def _exists(env: Any, key: str) -> bool:
    return bool(env.client.list_objects_v2(Bucket=env.endpoint.bucket, Prefix=key).get("KeyCount", 0))


class _Arrivals:
    """When each request reached the proxy (polled every millisecond or so, on a thread of its own)."""

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        self.mark = proxy.mark()
        self.times: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while True:
            stopping = self._stop.is_set()  # read first: a request recorded before the stop is still timed
            now = time.monotonic()
            count = self.proxy.mark() - self.mark
            self.times += [now] * (count - len(self.times))
            if stopping:
                return
            time.sleep(0.001)

    def __enter__(self) -> _Arrivals:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def of(self, seen: Seen) -> float:
        """The arrival time of ``seen``, one of ``proxy.since(self.mark)``."""
        return self.times[next(i for i, s in enumerate(self.proxy.since(self.mark)) if s is seen)]


# ---- parts: where they start and end --------------------------------------------------------------------------


def test_the_write_that_passes_the_threshold_is_cut_into_parts_then_each_buffer_leaves_whole(
    via_proxy: FaultProxy, xcom_s3_env: Any
) -> None:
    """13 MiB in one write past a 12 MiB threshold leaves as two 5 MiB parts (3 MiB wait); from then on what is
    buffered leaves as one part once it reaches the part size: 3 + 2 MiB, then a 7 MiB write whole."""
    key = f"{xcom_s3_env.prefix}/sink/cut.bin"
    data = os.urandom(22 * MIB)
    mark = via_proxy.mark()
    with _sink(key, part_size=PART, threshold=12 * MIB, concurrency=2) as sink:
        for start, stop in ((0, 13), (13, 15), (15, 22)):
            sink.write(data[start * MIB : stop * MIB])
    assert (sink.size, sink.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert _part_sizes(xcom_s3_env, key) == [PART, PART, PART, 7 * MIB]
    assert sorted(_part_number(s) or 0 for s in _parts(via_proxy.since(mark))) == [1, 2, 3, 4]
    assert xcom_s3_env.get(key) == data


def test_writes_under_the_threshold_go_up_as_one_put(via_proxy: FaultProxy, xcom_s3_env: Any) -> None:
    """Parts' worth of writes, but never past the threshold: no multipart upload, one PUT of it all."""
    key = f"{xcom_s3_env.prefix}/sink/small.bin"
    data = os.urandom(3 * MIB)
    mark = via_proxy.mark()
    with _sink(key, part_size=MIB, threshold=3 * MIB) as sink:
        for start in range(0, len(data), MIB):
            sink.write(data[start : start + MIB])
    assert [(s.method, s.path.partition("?")[2]) for s in via_proxy.since(mark)] == [("PUT", "")]
    assert xcom_s3_env.get(key) == data


def test_a_file_consumer_told_nothing_takes_the_sink_for_a_write_only_stream(xcom_s3_env: Any) -> None:
    """pyarrow's PythonFile without a mode infers it from the file it wraps, as other writers check ``seekable()``
    before they seek back (to patch a header): the sink says it can only be written, in order, and so it is."""
    import pyarrow as pa

    key = f"{xcom_s3_env.prefix}/sink/stream.bin"
    with _sink(key) as sink:
        assert (sink.writable(), sink.readable(), sink.seekable()) == (True, False, False)
        wrapped = pa.PythonFile(sink)
        assert (wrapped.mode, wrapped.writable(), wrapped.readable(), wrapped.seekable()) == ("wb", True, False, False)
        wrapped.write(b"written through pyarrow")
    assert xcom_s3_env.get(key) == b"written through pyarrow"


class _SlowFirstHash:
    """sha256 whose first update waits 0.5 s: were parts hashed on two threads, the second part would overtake it.
    The one seam faked here: the sink's running hash, read back through ``hexdigest``."""

    def __init__(self) -> None:
        self._real = hashlib.sha256()
        self._lock = threading.Lock()
        self.starts: list[bytes] = []

    def update(self, data: Any) -> None:
        with self._lock:
            first = not self.starts
            self.starts.append(bytes(data[:16]))
        if first:
            time.sleep(0.5)
        with self._lock:
            self._real.update(data)

    def hexdigest(self) -> str:
        return self._real.hexdigest()


def test_parts_are_hashed_in_the_order_they_were_written_even_when_one_hashes_slowly(xcom_s3_env: Any) -> None:
    """The reference's sha256 is of the bytes in order: the parts are hashed one after the other, each after the
    one before it, however long hashing one takes (uploads run in parallel; hashing must not)."""
    key = f"{xcom_s3_env.prefix}/sink/hash-order.bin"
    data = os.urandom(3 * PART)
    with _sink(key, part_size=PART, threshold=0, concurrency=3) as sink:
        slow = _SlowFirstHash()
        sink._hash = slow
        for start in range(0, len(data), PART):
            sink.write(data[start : start + PART])
    assert slow.starts == [data[start : start + 16] for start in range(0, len(data), PART)]
    assert sink.sha256 == hashlib.sha256(data).hexdigest()
    assert xcom_s3_env.get(key) == data


# ---- parts in flight --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 3])
def test_exactly_concurrency_parts_are_in_flight_at_once(
    via_proxy: FaultProxy, xcom_s3_env: Any, concurrency: int
) -> None:
    """Every request held 2 s: before the first part is answered, S3 has been sent exactly ``concurrency``
    parts (the next one waits for a free slot, none waits for a slot that is free). Load on the machine can only
    delay the parts that may go, never let one more go: the test waits for them, up to most of the hold."""
    latency = 2.0
    key = f"{xcom_s3_env.prefix}/sink/flight-{concurrency}.bin"
    data = os.urandom((concurrency + 1) * PART)
    via_proxy.set_plan(0.0, latency_rate=1.0, latency=latency)
    mark = via_proxy.mark()
    failed: list[BaseException] = []

    def upload() -> None:
        try:
            with _sink(key, part_size=PART, threshold=0, concurrency=concurrency) as sink:
                sink.write(data)
        except BaseException as exc:
            failed.append(exc)

    uploading = threading.Thread(target=upload)
    uploading.start()
    try:
        _wait_until(lambda: bool(_parts(via_proxy.since(mark))), "the first part")
        first_sent = time.monotonic()
        with contextlib.suppress(AssertionError):  # too few in flight: asserted below, with the count
            _wait_until(lambda: len(_parts(via_proxy.since(mark))) >= concurrency, "parts", timeout=latency * 0.75)
        assert time.monotonic() - first_sent < latency, "the first part may have been answered: no verdict"
        in_flight = len(_parts(via_proxy.since(mark)))
    finally:
        uploading.join(timeout=60)
    via_proxy.set_plan(0.0)
    assert not failed, failed
    assert in_flight == concurrency
    assert xcom_s3_env.get(key) == data


# ---- failed uploads: what is aborted, and when --------------------------------------------------------------------


def test_a_part_that_fails_for_good_stops_the_upload_and_aborts_it(via_proxy: FaultProxy, xcom_s3_env: Any) -> None:
    """Part 1 refused (one attempt): the next write raises the write's error, no further part is sent, the upload
    is aborted and S3 holds neither an object nor an upload under the key."""
    from xcom_s3.errors import StorageError

    xcom_s3_env.set("max_attempts", 1)
    key = f"{xcom_s3_env.prefix}/sink/failed-part.bin"
    data = os.urandom(5 * PART)
    mark = via_proxy.mark()
    via_proxy.inject("internal", method="PUT")
    writes = 0
    with pytest.raises(StorageError) as raised, _sink(key, part_size=PART, threshold=0, concurrency=2) as sink:
        for start in range(0, len(data), PART):
            if start:  # the refused part is answered by now
                _wait_until(lambda: bool(_parts(via_proxy.since(mark))), "the first part")
                time.sleep(2.0)  # answered at once by the proxy: ample for the sink to see it, even under load
            sink.write(data[start : start + PART])
            writes += 1
    seen = via_proxy.since(mark)
    assert writes == 1, "the write after the refused part should have raised"
    assert [(_part_number(s), s.fault) for s in _parts(seen)] == [(1, "internal")]
    assert len(_aborts(seen)) == 1 and seen[-1] is _aborts(seen)[0], seen
    assert str(raised.value).startswith(
        f"Cannot write s3://{xcom_s3_env.endpoint.bucket}/{key} (endpoint {via_proxy.endpoint_url}): gave up after "
        "1 attempts in "
    )
    # (botocore may name the code of a refused part by its status: it sent the part with Expect: 100-continue)
    assert re.search(r"; last error: S3 answered (InternalError|500) \(HTTP 500\)\. ", str(raised.value)), raised.value
    assert not _uploads_left(xcom_s3_env, key) and not _exists(xcom_s3_env, key)


def test_the_abort_is_sent_once_the_parts_in_flight_are_answered(via_proxy: FaultProxy, xcom_s3_env: Any) -> None:
    """The encoder fails with three parts in flight (each held 1 s): the abort reaches S3 only after they were
    answered, so no part can land in an upload already aborted (S3 would keep and bill it)."""
    latency = 1.0
    key = f"{xcom_s3_env.prefix}/sink/encoder-failed.bin"
    via_proxy.set_plan(0.0, latency_rate=1.0, latency=latency)
    via_proxy.inject(None, method="DELETE")  # the abort itself goes straight through
    mark = via_proxy.mark()
    with (
        _Arrivals(via_proxy) as arrivals,
        pytest.raises(RuntimeError, match="the encoder failed"),
        _sink(key, part_size=PART, threshold=0, concurrency=3) as sink,
    ):
        sink.write(os.urandom(3 * PART))
        _wait_until(lambda: len(_parts(via_proxy.since(mark))) == 3, "three parts in flight")
        raise RuntimeError("the encoder failed")
    via_proxy.set_plan(0.0)
    seen = via_proxy.since(mark)
    assert len(_parts(seen)) == 3 and len(_aborts(seen)) == 1, seen
    waited = arrivals.of(_aborts(seen)[0]) - max(arrivals.of(s) for s in _parts(seen))
    assert waited > latency * 0.6, f"the abort was sent {waited:.3f}s after the last part, before its answer"
    assert not _uploads_left(xcom_s3_env, key) and not _exists(xcom_s3_env, key)


# ---- downloads: one GET or ranges ---------------------------------------------------------------------------------


@pytest.fixture
def small_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ranges of 64 KiB at least: a frame of a few hundred KB is read in four; reads of 10 KB, so each range (and
    each skip over bytes a server sent before it) takes several, the last one partial."""
    from xcom_s3 import transfer

    monkeypatch.setattr(transfer, "RANGE_SIZE", 64 * 2**10)
    monkeypatch.setattr(transfer, "READ_CHUNK", 10_000)


@pytest.mark.usefixtures("small_ranges")
@pytest.mark.parametrize("over", [0, 1])
def test_an_object_up_to_single_get_max_comes_in_one_get_and_one_byte_more_in_ranges(
    backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any, monkeypatch: pytest.MonkeyPatch, over: int
) -> None:
    from xcom_s3 import transfer

    frame = big_frame(5, rows=20_000)
    stored, ref = push(backend, frame, 60)
    monkeypatch.setattr(transfer, "SINGLE_GET_MAX", int(ref["size"]) - over)
    mark = via_proxy.mark()
    assert same(frame, airflow_io.load(backend, stored))
    ranges = [s.range for s in via_proxy.since(mark) if s.method == "GET"]
    if over:
        assert len(ranges) == 4 and all(r is not None and r.startswith("bytes=") for r in ranges), ranges
    else:
        assert ranges == [None]


class _IgnoresRange(_Handler):
    """A server that ignores the Range header: every GET answers 200 with the whole object (some S3-compatible
    stores and caches do)."""

    def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        del self.headers["Range"]
        return super()._forward(body)


@contextlib.contextmanager
def _answered_by(handler: type[_Handler], s3_server: Any, xcom_s3_env: Any) -> Iterator[FaultProxy]:
    """The backend pointed at a proxy whose requests ``handler`` answers."""
    proxy = FaultProxy(s3_server.endpoint_url)
    proxy._server.RequestHandlerClass = handler
    with backend_through(proxy, xcom_s3_env):
        yield proxy


@pytest.fixture
def range_ignoring(fault_proxy: FaultProxy, s3_server: Any, xcom_s3_env: Any) -> Iterator[FaultProxy]:
    """The backend pointed at a proxy whose requests reach S3 without their Range (taking ``fault_proxy`` skips
    where the fault proxy cannot run)."""
    with _answered_by(_IgnoresRange, s3_server, xcom_s3_env) as proxy:
        yield proxy


@pytest.mark.usefixtures("small_ranges")
def test_ranges_answered_with_the_whole_object_still_give_the_value(
    backend: Any, range_ignoring: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each of the four ranged GETs gets the whole object: the bytes before the range are skipped, those after it
    left unread, and the frame comes back exact in one read."""
    from xcom_s3 import transfer

    frame = big_frame(6, rows=20_000)
    stored = airflow_io.through_db(airflow_io.store(backend, frame, context(61)))
    monkeypatch.setattr(transfer, "SINGLE_GET_MAX", 0)
    mark = range_ignoring.mark()
    assert same(frame, airflow_io.load(backend, stored))
    ranges = [s.range for s in range_ignoring.since(mark) if s.method == "GET"]
    assert len(ranges) == 4 and all(r is not None for r in ranges), ranges


class _ShortRanges(_Handler):
    """A server that answers the first GET of each range with the range's first half only, in a 206 whose
    Content-Range and Content-Length say so (a store or cache that caps its answers)."""

    #: The last byte of each range answered short so far (a range asked again ends at the same byte).
    shortened: set[str] = set()

    def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        status, reason, headers, payload = super()._forward(body)
        last = str(self.headers.get("Range", "")).rpartition("-")[2]
        if status != 206 or last in self.shortened:
            return status, reason, headers, payload
        self.shortened.add(last)
        half = payload[: len(payload) // 2]
        said = next(value for name, value in headers if name.lower() == "content-range")
        first, total = re.fullmatch(r"bytes (\d+)-\d+/(\d+)", said).groups()  # type: ignore[union-attr]
        rest = [(name, value) for name, value in headers if name.lower() != "content-range"]
        return status, reason, [*rest, ("Content-Range", f"bytes {first}-{int(first) + len(half) - 1}/{total}")], half


@pytest.fixture
def short_ranges(fault_proxy: FaultProxy, s3_server: Any, xcom_s3_env: Any) -> Iterator[FaultProxy]:
    """The backend pointed at a proxy whose first answer for each range is half of it."""
    _ShortRanges.shortened = set()
    with _answered_by(_ShortRanges, s3_server, xcom_s3_env) as proxy:
        yield proxy


@pytest.mark.usefixtures("small_ranges")
def test_a_range_answered_short_is_asked_again_from_where_it_stopped(
    backend: Any, short_ranges: FaultProxy, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Each of the four ranges comes back half the first time: the reader keeps that half and asks for the rest
    alone (never the whole range again), logs which bytes came short, and the frame comes back exact."""
    from xcom_s3 import transfer

    caplog.set_level(logging.INFO, logger="xcom_s3.retry")
    frame = big_frame(8, rows=20_000)
    stored = airflow_io.through_db(airflow_io.store(backend, frame, context(63)))
    monkeypatch.setattr(transfer, "SINGLE_GET_MAX", 0)
    mark = short_ranges.mark()
    assert same(frame, airflow_io.load(backend, stored))
    asked = [s.range for s in short_ranges.since(mark) if s.method == "GET"]
    by_end: dict[int, list[int]] = {}
    for start, stop in (map(int, str(r).removeprefix("bytes=").split("-")) for r in asked):
        by_end.setdefault(stop, []).append(start)
    assert len(by_end) == 4 and all(len(starts) == 2 for starts in by_end.values()), asked
    for stop, (start, again) in ((stop, sorted(starts)) for stop, starts in by_end.items()):
        assert again == start + (stop - start + 1) // 2, (start, stop, asked)  # the rest, alone
        said = f"bytes {start}-{stop} came back as {again - start} bytes"
        assert any(m.endswith(f"retrying: {said}") for m in caplog.messages), (said, caplog.messages)


@pytest.mark.usefixtures("small_ranges")
def test_an_object_grown_since_it_was_written_fails_on_its_size_when_read_in_ranges(
    backend: Any, xcom_s3_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ranged answer says the object's size in its Content-Range: another size is refused by size, on every read
    of the budget, never decoded."""
    from xcom_s3 import transfer
    from xcom_s3.errors import IntegrityError

    stored, ref = push(backend, big_frame(7, rows=20_000), 62)
    key, size = key_of(ref), int(ref["size"])
    grown = xcom_s3_env.get(key) + bytes(10)
    xcom_s3_env.client.put_object(Bucket=xcom_s3_env.endpoint.bucket, Key=key, Body=grown)
    monkeypatch.setattr(transfer, "SINGLE_GET_MAX", 0)
    xcom_s3_env.set("max_attempts", 2)
    with pytest.raises(IntegrityError) as raised:
        airflow_io.load(backend, stored)
    place = f"s3://{xcom_s3_env.endpoint.bucket}/{key} (endpoint {xcom_s3_env.endpoint.endpoint_url})"
    assert str(raised.value) == (
        f"XCom object {place} failed its integrity check on 2 reads: size mismatch: the object holds {size + 10} "
        f"bytes, the reference records {size}. The object was changed or damaged after it was written; re-run the "
        "task that produced it."
    )
