"""Fixtures of the robustness tests: the fault proxy in front of the S3 server, and the figures they report."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from fault_proxy import FaultProxy

#: Figures the tests record (round trips, faults, lost, corrupt, failure-to-error times), printed at the end.
FIGURES: dict[str, Any] = {}


@pytest.fixture(scope="session")
def fault_proxy(s3_server: Any) -> Iterator[FaultProxy]:
    """The fault-injecting proxy in front of the session's S3 server; stopped at the end of the session."""
    if urlsplit(s3_server.endpoint_url).hostname not in ("127.0.0.1", "localhost"):
        pytest.skip(f"fault injection needs the S3 server on loopback, not {s3_server.endpoint_url}")
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
