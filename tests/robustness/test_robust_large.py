"""Large frames under faults: multipart uploads (create, parts, complete) and ranged downloads retried exactly.

The frame is ~7 MiB of Parquet and the transfer module's limits are lowered (5 MiB parts, S3's minimum; 1 MiB
download ranges), so every request kind of the large path is hit: create, part, complete, ranged GET.
"""

from __future__ import annotations

import time
from typing import Any

import airflow_io
import pytest
from fault_proxy import FAILURE_MIX, HARD_FAILURE_MIX, FaultProxy
from rb_support import big_frame, context, same, scaled

pytestmark = [pytest.mark.faults, pytest.mark.usefixtures("fast_backoff")]


@pytest.fixture(autouse=True)
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Multipart from S3's smallest part size (5 MiB) up, and 1 MiB download ranges: every large-path request."""
    from xcom_s3 import transfer

    monkeypatch.setattr(transfer, "PART_SIZE", 5 * 2**20)
    monkeypatch.setattr(transfer, "MULTIPART_THRESHOLD", 0, raising=False)
    monkeypatch.setattr(transfer, "SINGLE_GET_MAX", 2**20)
    monkeypatch.setattr(transfer, "RANGE_SIZE", 2**20)


def _kind(method: str, path: str) -> str:
    if method == "POST":
        return "complete" if "uploadId=" in path else "create"
    if method == "PUT":
        return "part" if "partNumber=" in path else "put"
    return method.lower()


@pytest.mark.parametrize("fault", sorted(FAILURE_MIX))
@pytest.mark.parametrize("step", ["create", "part", "complete", "get"])
def test_a_fault_at_each_step_of_a_large_transfer_is_survived(
    backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any, fault: str, step: str
) -> None:
    frame = big_frame(1)
    method = {"create": "POST", "part": "PUT", "complete": "POST", "get": "GET"}[step]
    if step == "complete":
        via_proxy.inject(None, fault, method="POST")
    else:
        via_proxy.inject(fault, method=method)
    mark = via_proxy.mark()
    stored = airflow_io.through_db(airflow_io.store(backend, frame, context(40)))
    assert same(frame, airflow_io.load(backend, stored))
    seen = [(_kind(s.method, s.path), s.fault) for s in via_proxy.since(mark)]
    assert (step, fault) in seen, seen


def test_large_round_trips_under_ten_percent_faults(
    backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any, figures: Any
) -> None:
    count = scaled("large_round_trips", dev=3, ci=8)
    xcom_s3_env.set("max_attempts", 8)
    mark = via_proxy.mark()
    via_proxy.set_plan(0.10, FAILURE_MIX)
    outcomes = []
    for i in range(count):
        frame = big_frame(i)
        try:
            got = airflow_io.round_trip(backend, frame, context(i))
        except Exception as exc:
            outcomes.append(f"lost: {type(exc).__name__}: {exc}")
            continue
        outcomes.append("ok" if same(frame, got) else "corrupt")
    via_proxy.set_plan(0.0)
    seen = via_proxy.since(mark)
    figures["faults: large (7 MiB, 2-part multipart + 1 MiB ranges) round trips"] = (
        f"{count}, {len(seen)} requests, {sum(1 for s in seen if s.fault)} faults, "
        f"lost {sum(o.startswith('lost') for o in outcomes)}, corrupt {outcomes.count('corrupt')}"
    )
    assert outcomes == ["ok"] * count, outcomes


@pytest.mark.real_backoff  # a bound on the time to fail: real sleeps, real time
def test_a_large_push_that_cannot_finish_fails_in_bounded_time_and_leaves_nothing_partial(
    backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any, figures: Any
) -> None:
    from xcom_s3.errors import StorageError

    for name, value in {"max_attempts": 3, "connect_timeout": 1, "read_timeout": 2}.items():
        xcom_s3_env.set(name, value)
    frame = big_frame(2)
    via_proxy.set_plan(1.0, HARD_FAILURE_MIX)
    via_proxy.inject(None, method="POST")  # the upload is created and its parts go up; then everything fails
    via_proxy.inject(None, None, method="PUT")
    mark = via_proxy.mark()
    started = time.monotonic()
    with pytest.raises(StorageError) as raised:
        airflow_io.store(backend, frame, context(41))
    elapsed = time.monotonic() - started
    via_proxy.set_plan(0.0)
    assert [_kind(s.method, s.path) for s in via_proxy.since(mark)][:3] == ["create", "part", "part"]
    figures["faults: large push, 100% faults after the parts, to error"] = f"{elapsed:.2f}s (3 attempts)"
    assert elapsed < 60
    assert xcom_s3_env.prefix in str(raised.value) and via_proxy.endpoint_url in str(raised.value)
    # Nothing partial is ever visible. An object may exist, whole: a reset after S3 applied the completion loses
    # only the answer. No reference names it (the push raised); purge of a rerun or `xcom-s3 gc` removes it.
    from xcom_s3 import frames

    left = xcom_s3_env.keys()
    for key in left:
        assert same(frame, frames.parquet_to_frame(xcom_s3_env.get(key))), f"{key} is not the whole frame"
