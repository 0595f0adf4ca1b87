"""Injected S3 faults (throttling, 5xx, resets, truncated bodies, stalls): nothing lost, nothing wrong, bounded errors.

Every push and pull goes through the release's real hooks (``airflow_io``) and the fault proxy. The retry backoff
is scaled down (``fast_backoff``) except where a bound on the time to fail is asserted (``real_backoff``: real
sleeps, real time); timeouts are test-sized.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import airflow_io
import pytest
from fault_proxy import FAILURE_MIX, HARD_FAILURE_MIX, FaultProxy
from rb_support import context, json_value, same, scaled, value_for

pytestmark = [pytest.mark.faults, pytest.mark.usefixtures("fast_backoff")]

#: Failures per request in the soak test, and the share of the rest that is delayed.
FAULT_RATE = 0.10
LATENCY_RATE = 0.05
#: The bound asserted on any failing push or pull under the small retry budget below (seconds).
FAILURE_BOUND = 30.0
#: Test-sized: a stalled request is given up after 0.25 s (the read timeout is what the stall tests exercise).
SMALL_BUDGET = {"max_attempts": 3, "connect_timeout": 1, "read_timeout": 0.25}
#: How long the proxy holds a stalled request: past FAILURE_BOUND, so a client that ignored the read timeout
#: would break the bound on its first attempt; one that honours it waits read_timeout, never this.
STALL = FAILURE_BOUND


def _set(env: Any, options: dict[str, Any]) -> None:
    for name, value in options.items():
        env.set(name, value)


def _key_of(env: Any, i: int, value: Any) -> str:
    from xcom_s3.keys import object_key

    ext = "json.zst" if isinstance(value, dict) else "parquet"
    return object_key(env.prefix, context(i), ext)


def test_round_trips_under_ten_percent_faults(backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any, figures: Any):
    """>= 500 round trips in the CI profile (200 in dev), frames and JSON: every value back exact, none lost."""
    count = scaled("round_trips", dev=200, ci=600)
    # 8 attempts: at 10% independent failures a request fails for good with p=1e-8, never in practice.
    xcom_s3_env.set("max_attempts", 8)
    mark = via_proxy.mark()
    via_proxy.set_plan(FAULT_RATE, FAILURE_MIX, latency_rate=LATENCY_RATE, latency=0.05)

    # Made once, before the threads (pandas and pyarrow imported here, not from eight threads at a time); the keys
    # below are checked against these same values.
    values = [value_for(i) for i in range(count)]

    def round_trip(i: int) -> str:
        value = values[i]
        try:
            got = airflow_io.round_trip(backend, value, context(i))
        except Exception as exc:
            return f"lost: {type(exc).__name__}: {exc}"
        return "ok" if same(value, got) else "corrupt"

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(round_trip, range(count)))
    elapsed = time.monotonic() - started
    via_proxy.set_plan(0.0)

    seen = via_proxy.since(mark)
    faults = Counter(s.fault for s in seen if s.fault)
    hit = {(s.method, s.fault) for s in seen if s.fault}
    lost = [o for o in outcomes if o.startswith("lost")]
    corrupt = outcomes.count("corrupt")
    figures["faults: round trips"] = (
        f"{count} ({sum(1 for i in range(count) if i % 3 == 0)} frames) in {elapsed:.1f}s, "
        f"{len(seen)} requests, failure rate {FAULT_RATE:.0%} + {LATENCY_RATE:.0%} delayed, injected {dict(faults)}, "
        f"lost {len(lost)}, corrupt {corrupt}"
    )
    assert not lost, lost[:3]
    assert corrupt == 0
    assert outcomes.count("ok") == count
    # Nothing lost in S3 either: exactly one object per round trip, at its deterministic key.
    assert xcom_s3_env.keys() == sorted(_key_of(xcom_s3_env, i, value) for i, value in enumerate(values))
    # The faults really hit: every kind, uploads and downloads (each kind x method: the scripted test below).
    assert set(FAILURE_MIX) <= set(faults), faults
    assert {method for method, _ in hit} >= {"PUT", "GET"}


@pytest.mark.parametrize("kind", sorted(FAILURE_MIX))
def test_each_fault_on_each_request_is_survived(
    backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any, kind: str
) -> None:
    """Deterministic: the push's PUT, then the pull's GET, each get ``kind`` twice; the value still comes back.

    (A truncated PUT response is no failure to urllib3 1.x: S3 stored the object and said 200, so one PUT.)
    """
    xcom_s3_env.set("max_attempts", 3)
    for i, value in ((30, json_value(30)), (0, value_for(0))):
        mark = via_proxy.mark()
        via_proxy.inject(kind, kind, method="PUT")
        via_proxy.inject(kind, kind, method="GET")
        stored = airflow_io.through_db(airflow_io.store(backend, value, context(i)))
        assert same(value, airflow_io.load(backend, stored))
        seen = [(s.method, s.fault) for s in via_proxy.since(mark)]
        assert seen.count(("GET", kind)) == 2 and seen[-1] == ("GET", None), seen
        assert seen[0] == ("PUT", kind) and seen.count(("PUT", kind)) in ((1, 2) if kind == "truncate" else (2,)), seen
        via_proxy.set_plan(0.0)  # drops a PUT truncation urllib3 1.x never noticed


@pytest.mark.real_backoff  # the bound covers the whole failing operation, its backoff included
@pytest.mark.parametrize("kind", ["json", "frame"])
@pytest.mark.parametrize("mix", ["failures", "stall"])
def test_push_fails_fast_and_clearly_when_every_request_fails(
    backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any, figures: Any, kind: str, mix: str
) -> None:
    from xcom_s3.errors import StorageError

    _set(xcom_s3_env, SMALL_BUDGET)
    value = json_value(1) if kind == "json" else value_for(0)
    i = 1 if kind == "json" else 0
    via_proxy.set_plan(1.0, HARD_FAILURE_MIX if mix == "failures" else {"stall": 1.0}, stall=STALL)
    started = time.monotonic()
    with pytest.raises(StorageError) as raised:  # serialize raises: Airflow stores no reference at all
        airflow_io.store(backend, value, context(i))
    elapsed = time.monotonic() - started
    via_proxy.set_plan(0.0)
    _record_slowest(figures, f"push/{kind}/{mix}", elapsed)

    message = str(raised.value)
    assert elapsed < FAILURE_BOUND
    for part in (via_proxy.endpoint_url, xcom_s3_env.endpoint.bucket, _key_of(xcom_s3_env, i, value), "3 attempts"):
        assert part in message


@pytest.mark.real_backoff  # the backoff is part of the bound asserted: real time, real sleeps
def test_the_default_budget_gives_up_on_hard_failures_within_the_bound(
    backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any, figures: Any
) -> None:
    """Defaults (5 attempts, throttling backoff up to 0.5+1+2+4 s): an outage that answers fails in seconds."""
    from xcom_s3.errors import StorageError

    via_proxy.set_plan(1.0, {"slowdown": 1.0})  # the longest backoff there is
    started = time.monotonic()
    with pytest.raises(StorageError, match="5 attempts"):
        airflow_io.store(backend, json_value(3), context(3))
    elapsed = time.monotonic() - started
    via_proxy.set_plan(0.0)
    figures["faults: default budget, 100% SlowDown, to error"] = f"{elapsed:.2f}s (5 attempts, bound {FAILURE_BOUND}s)"
    assert elapsed < FAILURE_BOUND


@pytest.mark.real_backoff  # the bound covers the whole failing operation, its backoff included
@pytest.mark.parametrize("mix", ["failures", "stall"])
def test_pull_fails_fast_and_clearly_when_every_request_fails(
    backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any, figures: Any, mix: str
) -> None:
    from xcom_s3.errors import StorageError

    stored = airflow_io.through_db(airflow_io.store(backend, json_value(2), context(2)))
    _set(xcom_s3_env, SMALL_BUDGET)  # for the failing pull only: the push and the re-read are not what is timed
    via_proxy.set_plan(1.0, FAILURE_MIX if mix == "failures" else {"stall": 1.0}, stall=STALL)
    started = time.monotonic()
    with pytest.raises(StorageError) as raised:
        airflow_io.load(backend, stored)
    elapsed = time.monotonic() - started
    via_proxy.set_plan(0.0)
    _set(xcom_s3_env, dict.fromkeys(SMALL_BUDGET))
    _record_slowest(figures, f"pull/json/{mix}", elapsed)

    assert elapsed < FAILURE_BOUND
    assert _key_of(xcom_s3_env, 2, json_value(2)) in str(raised.value)
    assert airflow_io.load(backend, stored) == json_value(2), "the object itself was fine all along"


def test_a_failed_upload_never_leaves_a_reference(backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any) -> None:
    """With one attempt and half the requests failing, a push either raises or returns a reference that works."""
    from xcom_s3.errors import StorageError

    xcom_s3_env.set("max_attempts", 1)
    count = scaled("failed_uploads", dev=40, ci=120)
    via_proxy.set_plan(0.5, FAILURE_MIX)
    references: dict[int, Any] = {}
    failed = 0
    for i in range(count):
        try:
            references[i] = airflow_io.through_db(airflow_io.store(backend, value_for(i), context(i)))
        except StorageError:
            failed += 1
    via_proxy.set_plan(0.0)

    assert 0 < failed < count, "the plan should make some pushes fail and let others through"
    for i, stored in references.items():
        assert same(value_for(i), airflow_io.load(backend, stored)), f"reference {i} does not read back"


def _record_slowest(figures: dict[str, Any], what: str, elapsed: float) -> None:
    slowest = figures.get("faults: slowest failure-to-error")
    if slowest is None or elapsed > slowest[0]:
        figures["faults: slowest failure-to-error"] = (round(elapsed, 2), what, f"bound {FAILURE_BOUND}s", SMALL_BUDGET)
