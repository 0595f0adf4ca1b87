"""What a failed S3 request means for the user: each botocore failure as one of :mod:`xcom_s3.errors`' types.

Its own module because it is the interface users read (the retry loop in :mod:`xcom_s3.retry` only decides when to
stop): every message names the object, the endpoint and what to fix. Callers pass the operation as ``action`` (a
key of :data:`PERMISSIONS`, optionally followed by more words), so a refusal names the one IAM permission that
operation needs.
"""

from __future__ import annotations

from typing import Any

from xcom_s3.errors import IntegrityError, ObjectMissingError, StorageError
from xcom_s3.settings import Settings, env_name

#: The one IAM permission each operation needs, keyed by the first word of the ``action`` callers pass to
#: :func:`xcom_s3.retry.attempts` ("read", "write", "delete", "list", "abort ..."; gc's "delete objects under" is a
#: delete). Multipart create/part/complete are writes: S3 authorizes them as s3:PutObject.
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


def response_of(exc: Exception) -> dict[str, Any]:
    """A botocore ``ClientError``'s parsed answer (empty for anything else)."""
    response = getattr(exc, "response", None)
    return response if isinstance(response, dict) else {}


def error_code(exc: Exception) -> tuple[str, int]:
    """The S3 error code and HTTP status of a botocore ``ClientError`` (``("", 0)`` for anything else)."""
    response = response_of(exc)
    code = str(response.get("Error", {}).get("Code") or "")  # an empty <Code> parses as None
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return code, status


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
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ParamValidationError

    place = where(settings, key)
    if isinstance(exc, ClientError):
        code, status = error_code(exc)
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
            said = str(response_of(exc).get("Error", {}).get("Message") or "")
            if "kms:" in said.lower():  # SSE-KMS: S3 allowed the request, KMS refused the key to the credentials
                return StorageError(
                    f"Cannot {action} {place}: KMS denied the worker's credentials the use of its key ({code}: "
                    f"{said}). Grant them kms:Decrypt (to read) and kms:GenerateDataKey (to write) on the key "
                    f"{env_name('kms_key_id')} names, or on the bucket's default key."
                )
            return StorageError(_denied(settings, place, action, code))
        if code in REJECTED_CODES:
            return StorageError(
                f"Cannot {action} {place}: S3 does not accept the worker's credentials ({code}). Check the access "
                "key and secret boto3's chain finds (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an "
                "instance or pod role) and that they belong to the account of this endpoint."
            )
        if "KMS" in code:  # KMS.NotFoundException, KMSInvalidKeyUsage, KMS.DisabledException, ...
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
    if isinstance(exc, ParamValidationError):  # refused before sending: the request's own parameters
        return StorageError(
            f"Cannot {action} {place}: botocore refused the request before sending it ({exc}). Check the bucket "
            f"name ({env_name('bucket')}) and the key prefix ({env_name('prefix')})."
        )
    if isinstance(exc, BotoCoreError):
        return StorageError(
            f"Cannot {action} {place}: {exc}. Check that the endpoint is reachable from this worker "
            f"({env_name('endpoint_url')}) and the network allows it."
        )
    return exc


def damaged(settings: Settings, key: str, problem: str, reads: int | None = None) -> IntegrityError:
    """Bytes that failed their check for good: the same wrong bytes twice, or every one of ``reads`` reads. A
    single read (MAX_ATTEMPTS=1) cannot tell damage on the way from damage in S3, so it says so."""
    on, advice = "", "The object was changed or damaged after it was written; re-run the task that produced it."
    if reads == 1:
        on = f" on its only read ({env_name('max_attempts')}=1)"
        advice = (
            "One read cannot tell damage on the way from an object changed or damaged in S3: allow more attempts to "
            "read it again, or re-run the task that produced it."
        )
    elif reads is not None:
        on = f" on {reads} reads"
    return IntegrityError(f"XCom object {where(settings, key)} failed its integrity check{on}: {problem}. {advice}")


def gave_up(settings: Settings, key: str, action: str, budget: int, elapsed: float, problem: str) -> StorageError:
    """The attempt budget spent on transient failures: say how long it took and what bounds it."""
    return StorageError(
        f"Cannot {action} {where(settings, key)}: gave up after {budget} attempts in {elapsed:.1f}s; last error: "
        f"{problem}. Check that the endpoint is reachable and healthy from this worker ({env_name('endpoint_url')}); "
        f"{env_name('max_attempts')}, {env_name('connect_timeout')} and {env_name('read_timeout')} bound the retries."
    )


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
    return action.partition(" ")[0]
