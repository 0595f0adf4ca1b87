"""One retry loop with one budget for every S3 request: what botocore's own retries cannot do.

Retries are done here, not by botocore (its clients make one attempt per call, see :func:`xcom_s3.store.client`),
because botocore retries only the request: a body cut short after a 200 (``ResponseStreamingError``) or bytes that
fail the checksum are never retried there, stacking our re-reads on botocore's retries would multiply the attempts,
and its sleeps (base 2 s, up to 20 s) cannot be bounded by our budget. One loop with one budget
(``AIRFLOW__XCOM_S3__MAX_ATTEMPTS`` total attempts per operation) bounds a failing operation to about
``MAX_ATTEMPTS * (CONNECT_TIMEOUT + READ_TIMEOUT) + sum of backoffs`` seconds, whatever goes wrong.

Callers (:mod:`xcom_s3.store`, :mod:`xcom_s3.transfer`) raise :class:`Retry` or :class:`Corrupt` from their
request for what botocore cannot see (:mod:`xcom_s3.integrity` decides which for a body failing its check); this
module classifies the rest as worth another attempt or not, and :mod:`xcom_s3.failures` says what it means.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from xcom_s3 import failures
from xcom_s3.errors import XComS3Error
from xcom_s3.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Error codes S3 (and S3-compatible stores) use to ask for a slower request rate: back off longer.
THROTTLE_CODES = frozenset(
    {"SlowDown", "Throttling", "ThrottlingException", "RequestThrottled", "TooManyRequestsException", "503"}
)
#: Error codes that mean "try again" whatever the HTTP status.
TRANSIENT_CODES = frozenset({"InternalError", "ServiceUnavailable", "RequestTimeout", "PriorRequestNotComplete"})
#: Backoff before retry ``i`` (0-based) is uniform in ``[0, min(MAX_BACKOFF, base * 2**i)]`` ("full jitter").
THROTTLE_BASE = 0.5
TRANSIENT_BASE = 0.1
MAX_BACKOFF = 20.0


class Retry(Exception):
    """A failure worth another attempt; ``throttled`` asks for the longer backoff."""

    def __init__(self, problem: str, throttled: bool = False) -> None:
        super().__init__(problem)
        self.problem = problem
        self.throttled = throttled


class Corrupt(Retry):
    """A body that does not match the reference: re-read, in case it was damaged on the wire, not in storage."""


def attempts(settings: Settings, key: str, action: str, call: Callable[[], T]) -> T:
    """Run ``call`` until it succeeds, fails for good, or the attempt budget is spent; then raise ours.

    ``call`` raises :class:`Retry` itself for problems botocore cannot see (a short or corrupted body).
    """
    budget = max(int(settings.max_attempts), 1)
    started = time.monotonic()
    last: Retry | None = None
    for attempt in range(budget):
        if attempt:
            assert last is not None
            base = THROTTLE_BASE if last.throttled else TRANSIENT_BASE
            time.sleep(random.uniform(0, min(MAX_BACKOFF, base * 2 ** (attempt - 1))))
        try:
            return call()
        except Retry as retry:
            last = retry
        except XComS3Error:
            raise
        except Exception as exc:
            classified = _classify(exc)
            if classified is None:
                raise failures.chained(exc, settings, key, action)  # noqa: B904 (the cause is set there)
            last = classified
        if attempt + 1 < budget:
            log.info(
                "XCom S3 %s of %s failed (attempt %d/%d), retrying: %s", action, key, attempt + 1, budget, last.problem
            )
    assert last is not None
    if isinstance(last, Corrupt):
        raise failures.damaged(settings, key, last.problem, reads=budget)
    raise failures.gave_up(settings, key, action, budget, time.monotonic() - started, last.problem)


def _network_errors() -> tuple[type[BaseException], ...]:
    """Exceptions a dropped, reset, timed-out or truncated exchange raises, across botocore/urllib3 versions."""
    import http.client

    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError, IncompleteReadError

    found: list[type[BaseException]] = [
        BotoConnectionError,  # refused, connect/read timeouts
        HTTPClientError,  # closed/reset connections; ResponseStreamingError (a body cut short) on newer botocore
        IncompleteReadError,  # Content-Length promised more than arrived
        http.client.HTTPException,  # IncompleteRead from older botocore's stream reads
        ConnectionError,  # the builtin: resets seen by older botocore's stream reads
        TimeoutError,
    ]
    import botocore.exceptions
    from botocore.parsers import ResponseParserError

    # A 200 whose XML body was cut short: urllib3 1.x does not check Content-Length, so botocore cannot parse it.
    found.append(ResponseParserError)
    # The response's CRC did not match its body (damaged on the wire): botocore 1.36+ checks it by default.
    found.append(botocore.exceptions.FlexibleChecksumError)
    try:
        from urllib3.exceptions import ProtocolError, ReadTimeoutError

        found += [ProtocolError, ReadTimeoutError]
    except ImportError:  # pragma: no cover - urllib3 always comes with botocore
        pass
    return tuple(found)


def _classify(exc: Exception) -> Retry | None:
    """A :class:`Retry` if ``exc`` is transient (throttling, 5xx, network), else None (fail now)."""
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        code, status = failures.error_code(exc)
        if code in THROTTLE_CODES or status in (429, 503):
            return Retry(f"S3 asked to slow down ({code or status}, HTTP {status})", throttled=True)
        if code in TRANSIENT_CODES or status >= 500:
            return Retry(f"S3 answered {code or 'an error'} (HTTP {status})")
        return None
    if isinstance(exc, _network_errors()):
        return Retry(f"{type(exc).__name__}: {exc}")
    return None
