"""Fixtures of the robustness tests: the fault proxy in front of the S3 server, and the figures they report.

Also a cost cutter the fault tests opt into (``pytest.mark.usefixtures``), which does not change what the backend
does: :func:`fast_backoff` (the retry backoff, scaled down).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from answering_proxy import AnsweringProxy
from fault_proxy import FaultProxy
from rb_support import backend_through

#: The backend's retry backoff bases are scaled by this where the backoff itself is not what a test checks.
BACKOFF_SCALE = 0.02

#: Figures the tests record (round trips, faults, lost, corrupt, failure-to-error times), printed at the end.
FIGURES: dict[str, Any] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "real_backoff: keep xcom_s3's real retry backoff under fast_backoff (it bounds the time to fail)"
    )


@pytest.fixture
def fast_backoff(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The backend's retry backoff, BACKOFF_SCALE times as long: the same full jitter and doubling, the same
    throttled/transient split and attempt budget, but milliseconds instead of seconds of sleep per retry.

    Why: surviving a fault does not depend on how long the backend waits before trying again, and those sleeps were
    most of the fault tests' wall time. A test marked ``real_backoff`` keeps it: one that asserts how soon a failing
    operation gives up, the backoff being part of that time.
    """
    if request.node.get_closest_marker("real_backoff") is not None:
        return
    from xcom_s3 import retry

    for name in ("THROTTLE_BASE", "TRANSIENT_BASE", "MAX_BACKOFF"):
        monkeypatch.setattr(retry, name, getattr(retry, name) * BACKOFF_SCALE)


@pytest.fixture(scope="session")
def fault_proxy(s3_server: Any) -> Iterator[FaultProxy]:
    """The fault-injecting proxy in front of the session's S3 server; stopped at the end of the session."""
    if urlsplit(s3_server.endpoint_url).hostname not in ("127.0.0.1", "localhost"):
        pytest.skip(f"n/a: fault injection needs the S3 server on loopback, not {s3_server.endpoint_url}")
    proxy = FaultProxy(s3_server.endpoint_url, seed=int(os.environ.get("XCOM_S3_FAULT_SEED", "20240601"))).start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture
def via_proxy(xcom_s3_env: Any, fault_proxy: FaultProxy) -> Iterator[FaultProxy]:
    """Point the backend at the proxy (no faults until the test sets a plan); faults off again afterwards."""
    fault_proxy.set_plan(0.0)
    xcom_s3_env.set("endpoint_url", fault_proxy.endpoint_url)
    from xcom_s3 import S3XComBackend

    S3XComBackend.reset_client()
    try:
        yield fault_proxy
    finally:
        fault_proxy.set_plan(0.0)


@pytest.fixture
def answering(fault_proxy: FaultProxy, s3_server: Any, xcom_s3_env: Any) -> Iterator[AnsweringProxy]:
    """The backend pointed at an :class:`AnsweringProxy` of its own (taking ``fault_proxy`` skips where no proxy
    can front the S3 server)."""
    with backend_through(AnsweringProxy(s3_server.endpoint_url), xcom_s3_env) as proxy:
        yield proxy


@pytest.fixture
def backend(xcom_s3_env: Any) -> Any:
    """The backend class, on this test's prefix, offloading every JSON value of 64 bytes or more."""
    from xcom_s3 import S3XComBackend

    xcom_s3_env.set("threshold", 64)
    return S3XComBackend


@pytest.fixture
def figures() -> dict[str, Any]:
    return FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("xcom-s3 robustness figures")
        for name, value in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{name}: {value}")
