"""The retry policy as a task meets it: which answers are tried again, how long it may wait before each attempt,
and what its log says about each retry.

Why: test_robust_faults checks that faults are survived and that a failing operation gives up in time, and
test_robust_texts pins the gave-up messages for SlowDown and InternalError; neither looks at the wait before each
retry (the throttled/transient split, the doubling, the cap), and the fault proxy speaks only S3's SlowDown (503),
AccessDenied (403) and InternalError (500). Here a proxy answers the other statuses and codes S3 and S3-compatible
stores use, and damages a body on the wire. The waits are read from the one narrow seam there is: the jitter draw,
whose ceiling is the policy (the draw itself is random by design); it is made to return 0, so no test sleeps.
"""

from __future__ import annotations

import logging
from typing import Any

import airflow_io
import pytest
from answering_proxy import Answer, AnsweringProxy
from fault_proxy import FaultProxy
from rb_support import context, json_value, push, pushed_key

#: The backoff ceilings of the policy: throttled retries from 0.5 s, the others from 0.1 s, doubling, at most 20 s.
THROTTLED = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0]
TRANSIENT = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 20.0]


class _Draws:
    """Stands in for the ``random`` module in xcom_s3.retry: records each backoff's range and waits for none of it."""

    def __init__(self) -> None:
        self.ranges: list[tuple[float, float]] = []

    def uniform(self, low: float, high: float) -> float:
        self.ranges.append((low, high))
        return 0.0

    @property
    def ceilings(self) -> list[float]:
        assert all(low == 0 for low, _ in self.ranges), self.ranges  # full jitter: from no wait at all
        return [high for _, high in self.ranges]


@pytest.fixture
def draws(monkeypatch: pytest.MonkeyPatch) -> _Draws:
    from xcom_s3 import retry

    recorded = _Draws()
    monkeypatch.setattr(retry, "random", recorded)
    return recorded


def _retries(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "xcom_s3.retry"]


# ---- the wait before each retry --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("faults", "ceilings"),
    [
        (["slowdown"] * 3, THROTTLED[:3]),
        (["internal"] * 3, TRANSIENT[:3]),
        (["reset"] * 3, TRANSIENT[:3]),
        # The base is the last failure's, the doubling the attempt's.
        (["slowdown", "internal", "slowdown", "reset"], [0.5, 0.2, 2.0, 0.8]),
        (["slowdown"] * 8, THROTTLED),
        (["internal"] * 9, TRANSIENT),
    ],
    ids=["throttled", "server-error", "reset", "mixed", "throttled-capped", "transient-capped"],
)
def test_the_wait_before_each_retry_doubles_from_the_failures_own_base_up_to_the_cap(
    backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any, draws: _Draws, faults: list[str], ceilings: list[float]
) -> None:
    xcom_s3_env.set("max_attempts", len(faults) + 1)
    via_proxy.inject(*faults, method="PUT")
    mark = via_proxy.mark()
    value = json_value(20)
    stored, _ = push(backend, value, 20)
    assert [s.fault for s in via_proxy.since(mark)] == [*faults, None]
    assert draws.ceilings == pytest.approx(ceilings)
    assert airflow_io.load(backend, stored) == value


# ---- which answers are tried again, and how --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "problem", "ceiling"),
    [
        (503, "ServiceUnavailable", "S3 asked to slow down (ServiceUnavailable, HTTP 503)", 0.5),
        (429, "TooManyRequests", "S3 asked to slow down (TooManyRequests, HTTP 429)", 0.5),
        (400, "Throttling", "S3 asked to slow down (Throttling, HTTP 400)", 0.5),
        (500, "SlowDown", "S3 asked to slow down (SlowDown, HTTP 500)", 0.5),
        (400, "RequestTimeout", "S3 answered RequestTimeout (HTTP 400)", 0.1),
        (502, "BadGateway", "S3 answered BadGateway (HTTP 502)", 0.1),
        (502, None, "S3 answered an error (HTTP 502)", 0.1),
        (502, "", "S3 answered an error (HTTP 502)", 0.1),
    ],
)
def test_throttling_and_transient_answers_are_retried_and_logged_as_such(
    backend: Any,
    answering: AnsweringProxy,
    xcom_s3_env: Any,
    draws: _Draws,
    caplog: pytest.LogCaptureFixture,
    status: int,
    code: str | None,
    problem: str,
    ceiling: float,
) -> None:
    """A throttling code or status (429, 503) waits from the throttled base; a transient code or a 5xx from the
    transient one; each retry is logged with what S3 answered."""
    caplog.set_level(logging.INFO, logger="xcom_s3")
    xcom_s3_env.set("max_attempts", 2)
    answering.answer(Answer(status, code))
    stored, _ = push(backend, json_value(21), 21)
    assert _retries(caplog) == [
        f"XCom S3 write of {pushed_key(xcom_s3_env, 21)} failed (attempt 1/2), retrying: {problem}"
    ]
    assert draws.ceilings == [ceiling]
    assert airflow_io.load(backend, stored) == json_value(21)


@pytest.mark.parametrize(
    ("status", "code"), [(400, "InvalidRequest"), (409, "OperationAborted"), (404, "NoSuchBucket")]
)
def test_other_client_errors_fail_at_once(
    backend: Any, answering: AnsweringProxy, xcom_s3_env: Any, draws: _Draws, status: int, code: str
) -> None:
    from xcom_s3.errors import XComS3Error

    xcom_s3_env.set("max_attempts", 5)
    answering.answer(Answer(status, code))
    mark = answering.mark()
    with pytest.raises(XComS3Error) as raised:
        airflow_io.store(backend, json_value(22), context(22))
    assert len(answering.since(mark)) == 1 and draws.ranges == []
    assert str(raised.value).startswith(
        f"Cannot write s3://{xcom_s3_env.endpoint.bucket}/{pushed_key(xcom_s3_env, 22)} "
    )


def test_a_connection_reset_is_retried_and_logged_with_the_clients_own_words(
    backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any, draws: _Draws, caplog: pytest.LogCaptureFixture
) -> None:
    """The log names the exception botocore raised and its text, taken here from a plain client meeting the same
    reset on the same request."""
    import boto3
    from botocore.config import Config

    key = pushed_key(xcom_s3_env, 23)
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=via_proxy.endpoint_url,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    via_proxy.inject("reset", method="PUT")
    with pytest.raises(Exception) as met:
        client.put_object(Bucket=xcom_s3_env.endpoint.bucket, Key=key, Body=b"{}")
    caplog.set_level(logging.INFO, logger="xcom_s3")
    xcom_s3_env.set("max_attempts", 2)
    via_proxy.inject("reset", method="PUT")
    push(backend, json_value(23), 23)
    problem = f"{type(met.value).__name__}: {met.value}"
    assert _retries(caplog) == [f"XCom S3 write of {key} failed (attempt 1/2), retrying: {problem}"]
    assert draws.ceilings == [0.1]


def test_a_body_damaged_on_the_wire_is_read_again(
    backend: Any, answering: AnsweringProxy, xcom_s3_env: Any, draws: _Draws, caplog: pytest.LogCaptureFixture
) -> None:
    """One GET's body comes with a flipped byte: read once more, the value comes back. Where S3 sent a checksum
    botocore checks (x-amz-checksum-*, botocore 1.36 on), botocore's own error is what is retried; else the
    sha256 of the reference catches it."""
    stored, ref = push(backend, json_value(24), 24)
    caplog.set_level(logging.INFO, logger="xcom_s3")
    answering.damage(1)
    mark = answering.mark()
    assert airflow_io.load(backend, stored) == json_value(24)
    assert [s.method for s in answering.since(mark)] == ["GET", "GET"]
    [retried] = _retries(caplog)
    head = f"XCom S3 read of {pushed_key(xcom_s3_env, 24)} failed (attempt 1/5), retrying: "
    assert retried.startswith(head), retried
    checked = any(name.startswith("x-amz-checksum-") for name in answering.damaged_headers[0])
    if checked:
        assert retried[len(head) :].startswith("FlexibleChecksumError: "), retried
        assert draws.ceilings == [0.1]
    else:
        assert retried[len(head) :].startswith("checksum mismatch: sha256 "), retried
        assert ref["sha256"] in retried
