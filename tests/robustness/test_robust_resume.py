"""A download cut short resumes from the byte it reached: the retry asks only for the bytes that did not come.

Why: large objects come in a few large ranges (moto re-reads the whole object per ranged GET, so many small ranges
are slow), and a connection reset must not cost a whole range again. The fault proxy's ``truncate`` sends half of
a body and hangs up; what the backend then asks for is read from the Range headers the proxy saw.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import airflow_io
import pytest
from fault_proxy import FaultProxy, Seen
from rb_support import big_frame, context, same

pytestmark = [pytest.mark.faults, pytest.mark.usefixtures("fast_backoff")]


def _span(seen: Seen) -> tuple[int, int]:
    """``(first, last)`` byte of a ranged GET."""
    found = re.fullmatch(r"bytes=(\d+)-(\d+)", seen.range or "")
    assert found, f"not a ranged GET: {seen}"
    return int(found[1]), int(found[2])


def _pull_with_first_get_cut(backend: Any, proxy: FaultProxy, frame: Any, i: int) -> list[Seen]:
    """Push ``frame``, pull it with its first GET truncated (the value must come back exactly); the pull's GETs."""
    stored = airflow_io.through_db(airflow_io.store(backend, frame, context(i)))
    proxy.inject("truncate", method="GET")
    mark = proxy.mark()
    assert same(frame, airflow_io.load(backend, stored))
    return [s for s in proxy.since(mark) if s.method == "GET"]


def test_a_cut_range_is_asked_again_from_the_byte_reached(
    backend: Any, via_proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ~7 MiB frame in 4 ranges; the first ranged GET is cut after half its bytes: the next request for that
    range starts where the cut one stopped and ends where it would have; every other range is asked once."""
    from xcom_s3 import transfer

    monkeypatch.setattr(transfer, "SINGLE_GET_MAX", 2**20)
    monkeypatch.setattr(transfer, "RANGE_SIZE", 2**20)
    gets = _pull_with_first_get_cut(backend, via_proxy, big_frame(3), 50)
    cut = [s for s in gets if s.fault == "truncate"]
    assert len(cut) == 1, gets
    first, last = _span(cut[0])
    again = [_span(s) for s in gets if s is not cut[0] and _span(s)[1] == last]
    # The proxy delivered the first half of the range's bytes: exactly the rest is asked for, once.
    assert again == [(first + (last - first + 1) // 2, last)], gets
    # The cut range and the others tile the object once: nothing else was fetched twice.
    spans = sorted([_span(s) for s in gets if _span(s)[1] != last] + [(first, last)])
    assert len(spans) == 4 and spans[0][0] == 0, gets
    assert all(b + 1 == c for (_, b), (c, _) in itertools.pairwise(spans)), gets


def test_a_cut_single_get_resumes_with_a_range_request(backend: Any, via_proxy: FaultProxy) -> None:
    """A frame small enough for one GET: cut after half its bytes, the retry is a ranged GET for the rest only."""
    gets = _pull_with_first_get_cut(backend, via_proxy, big_frame(4, rows=20_000), 51)
    assert [(s.fault, s.range is None) for s in gets] == [("truncate", True), (None, False)], gets
    first, last = _span(gets[1])
    assert first == (last + 1) // 2, gets  # the whole object's first half came; the rest is asked for
