"""One retry loop with one budget for every S3 request, and the translation of what fails into our errors.

Retries are done here, not by botocore, because botocore retries only the request: a body cut short after a 200
(``ResponseStreamingError``) or bytes that fail the checksum are never retried there, and stacking our re-reads on
botocore's retries would multiply the attempts. One loop with one budget (``AIRFLOW__XCOM_S3__MAX_ATTEMPTS`` total
attempts per operation) bounds a failing operation to about
``MAX_ATTEMPTS * (CONNECT_TIMEOUT + READ_TIMEOUT) + sum of backoffs`` seconds, whatever goes wrong.

Callers (:mod:`xcom_s3.store`, :mod:`xcom_s3.transfer`) raise :class:`Retry` or :class:`Corrupt` from their
request for what botocore cannot see; :func:`attempts` turns everything else into an :mod:`xcom_s3.errors` type.
Each passes the operation as ``action`` (a key of :data:`PERMISSIONS`, optionally followed by more words), so a
refusal names the one IAM permission that operation needs.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import NoReturn, TypeVar

from xcom_s3.errors import IntegrityError, ObjectMissingError, StorageError, XComS3Error
from xcom_s3.settings import Settings, env_name

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
#: The one IAM permission each operation needs, keyed by the first word of the ``action`` callers pass to
#: :func:`attempts` ("read", "write", "delete", "list", "abort ..."; gc's "delete objects under" is a delete).
#: Multipart create/part/complete are writes: S3 authorizes them as s3:PutObject.
PERMISSIONS = {
    "read": "s3:GetObject",
    "write": "s3:PutObject",
    "delete": "s3:DeleteObject",
    "list": "s3:ListBucket",
    "abort": "s3:AbortMultipartUpload",
}
#: Codes S3 answers for credentials that lack a permission (a HEAD's 403 has no body, hence no code).
DENIED_CODES = ("AccessDenied", "403")
#: Codes S3 answers for credentials it does not accept at all: no permission would help.
REJECTED_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch")


class Retry(Exception):
    """A failure worth another attempt; ``throttled`` asks for the longer backoff."""

    def __init__(self, problem: str, throttled: bool = False) -> None:
        super().__init__(problem)
        self.problem = problem
        self.throttled = throttled


class Corrupt(Retry):
    """A body that does not match the reference: re-read, in case it was damaged on the wire, not in storage."""


def where(settings: Settings, key: str) -> str:
    """The object as error messages name it: bucket, key and endpoint."""
    endpoint = settings.endpoint_url or "the default AWS S3 endpoint"
    return f"s3://{settings.bucket}/{key} (endpoint {endpoint})"


def grant(settings: Settings, action: str) -> str:
    """What to grant for ``action``: its one permission on the resource S3 checks it against."""
    permission = PERMISSIONS.get(_operation(action))
    if permission is None:  # an action no caller should pass (tests/iam checks every caller's)
        return f"the S3 permission to {action} objects on arn:aws:s3:::{settings.bucket}/{settings.prefix}/*"
    if permission == PERMISSIONS["list"]:
        return f"{permission} on arn:aws:s3:::{settings.bucket} (for keys under {settings.prefix}/)"
    return f"{permission} on arn:aws:s3:::{settings.bucket}/{settings.prefix}/*"


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
                raise chained(exc, settings, key, action)  # noqa: B904 (the cause is set there)
            last = classified
        if attempt + 1 < budget:
            log.info(
                "XCom S3 %s of %s failed (attempt %d/%d), retrying: %s", action, key, attempt + 1, budget, last.problem
            )
    assert last is not None
    raise _gave_up(settings, key, action, budget, time.monotonic() - started, last)


def reject_download(settings: Settings, key: str, problem: str, actual: str, seen: list[str]) -> NoReturn:
    """A download that failed its check: retry it (:class:`Corrupt`), unless the same wrong bytes came twice."""
    if actual in seen:  # the same wrong bytes twice: stored that way, not damaged on the wire
        raise IntegrityError(
            f"XCom object {where(settings, key)} failed its integrity check: {problem}. The object was "
            "changed or damaged after it was written; re-run the task that produced it."
        )
    seen.append(actual)
    raise Corrupt(problem)


def chained(exc: Exception, settings: Settings, key: str, action: str) -> Exception:
    """:func:`translate`, with ``exc`` as the cause unless the translation is ``exc`` itself (already ours).

    ``raise translate(exc) from exc`` on one of ours chains the exception to itself: a cycle that Airflow 2.10's
    secrets masker follows through ``__cause__`` until RecursionError, which then replaces our message in the
    task log and leaves the DAG run hanging in ``dag.test()``.
    """
    translated = translate(exc, settings, key, action)
    if translated is not exc:
        translated.__cause__ = exc  # as `raise ... from exc` does (also sets __suppress_context__)
    return translated


def translate(exc: Exception, settings: Settings, key: str, action: str) -> Exception:
    """Turn a botocore failure into one of ours that says where and what to do (anything else as it is)."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    place = where(settings, key)
    if isinstance(exc, ClientError):
        code, status = _error_code(exc)
        if code in ("NoSuchKey", "404", "NotFound"):
            return ObjectMissingError(
                f"XCom object {place} does not exist. Likely causes: it was purged or deleted (task cleared, "
                f"`xcom-s3 gc`), a bucket lifecycle rule expired it, or {env_name('bucket')} / "
                f"{env_name('endpoint_url')} point at another store than the one that wrote it."
            )
        if code == "NoSuchBucket":
            return StorageError(
                f"Cannot {action} {place}: bucket {settings.bucket!r} does not exist. Create it or fix "
                f"{env_name('bucket')}."
            )
        if code in DENIED_CODES:
            return StorageError(_denied(settings, place, action, code))
        if code in REJECTED_CODES:
            return StorageError(
                f"Cannot {action} {place}: S3 does not accept the worker's credentials ({code}). Check the access "
                "key and secret boto3's chain finds (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an "
                "instance or pod role) and that they belong to the account of this endpoint."
            )
        if code in ("KMS.NotFoundException", "KMSInvalidKeyUsage", "KMS.DisabledException") or "KMS" in code:
            return StorageError(
                f"Cannot {action} {place}: S3 could not use the KMS key ({code}: {exc}). Check "
                f"{env_name('kms_key_id')} and the worker's kms:GenerateDataKey/kms:Decrypt permissions."
            )
        return StorageError(f"Cannot {action} {place}: S3 answered {code or status}: {exc}")
    if isinstance(exc, NoCredentialsError):
        return StorageError(
            f"Cannot {action} {place}: no AWS credentials found. Provide them through boto3's standard chain "
            "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance or pod role)."
        )
    if isinstance(exc, BotoCoreError):
        return StorageError(
            f"Cannot {action} {place}: {exc}. Check that the endpoint is reachable from this worker "
            f"({env_name('endpoint_url')}) and the network allows it."
        )
    return exc


def _denied(settings: Settings, place: str, action: str, code: str) -> str:
    """An AccessDenied names the operation and its one permission; a read adds that the object may be gone."""
    head = f"Cannot {action} {place}: access denied ({code})."
    if _operation(action) == "read":
        return (
            f"{head} The object may not exist: S3 answers 403 instead of 404 for a missing key when the credentials "
            "may not list it, so it may have been purged or deleted (task cleared, `xcom-s3 gc`) or expired by a "
            "bucket lifecycle rule; then re-run the task that produced it. If it exists, grant the worker's "
            f"credentials {grant(settings, action)}."
        )
    return f"{head} Grant the worker's credentials {grant(settings, action)}."


def _operation(action: str) -> str:
    """The key of :data:`PERMISSIONS` an ``action`` starts with ("delete objects under" -> "delete")."""
    return action.split(" ", 1)[0]


def _gave_up(settings: Settings, key: str, action: str, budget: int, elapsed: float, last: Retry) -> Exception:
    place = where(settings, key)
    if isinstance(last, Corrupt):
        return IntegrityError(
            f"XCom object {place} failed its integrity check on {budget} reads: {last.problem}. The object was "
            "changed or damaged after it was written; re-run the task that produced it."
        )
    return StorageError(
        f"Cannot {action} {place}: gave up after {budget} attempts in {elapsed:.1f}s; last error: {last.problem}. "
        f"Check that the endpoint is reachable and healthy from this worker ({env_name('endpoint_url')}); "
        f"{env_name('max_attempts')}, {env_name('connect_timeout')} and {env_name('read_timeout')} bound the retries."
    )


def _error_code(exc: Exception) -> tuple[str, int]:
    response = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return code, status


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
    # botocore 1.36+: the response's CRC did not match its body (damaged on the wire).
    flexible = getattr(botocore.exceptions, "FlexibleChecksumError", None)
    if flexible is not None:
        found.append(flexible)
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
        code, status = _error_code(exc)
        if code in THROTTLE_CODES or status in (429, 503):
            return Retry(f"S3 asked to slow down ({code or status}, HTTP {status})", throttled=True)
        if code in TRANSIENT_CODES or status >= 500:
            return Retry(f"S3 answered {code or 'an error'} (HTTP {status})")
        return None
    if isinstance(exc, _network_errors()):
        return Retry(f"{type(exc).__name__}: {exc}")
    return None
