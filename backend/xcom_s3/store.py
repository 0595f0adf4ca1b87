"""S3 I/O: one lazily created client per process, retries on throttling/5xx, checksums verified on read."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from typing import Any

from xcom_s3.errors import IntegrityError, ObjectMissingError, StorageError
from xcom_s3.settings import Settings, env_name

log = logging.getLogger(__name__)

_clients: dict[tuple[Any, ...], Any] = {}
_clients_lock = threading.Lock()


def reset_clients() -> None:
    """Forget cached clients (after the endpoint or credentials changed)."""
    with _clients_lock:
        _clients.clear()


def client(settings: Settings) -> Any:
    """The boto3 client for these settings, created on first use; never at import, never shared across forks."""
    cache_key = (
        os.getpid(),
        settings.endpoint_url,
        settings.region,
        settings.max_attempts,
        settings.connect_timeout,
        settings.read_timeout,
    )
    found = _clients.get(cache_key)
    if found is not None:
        return found
    with _clients_lock:
        found = _clients.get(cache_key)
        if found is None:
            import boto3
            from botocore.config import Config

            config = Config(
                retries={"mode": "standard", "max_attempts": settings.max_attempts},
                connect_timeout=settings.connect_timeout,
                read_timeout=settings.read_timeout,
                max_pool_connections=32,
            )
            found = boto3.session.Session().client(
                "s3", endpoint_url=settings.endpoint_url, region_name=settings.region, config=config
            )
            _clients[cache_key] = found
    return found


def sha256_hex(data: Any) -> str:
    return hashlib.sha256(memoryview(data)).hexdigest()


def _where(settings: Settings, key: str) -> str:
    endpoint = settings.endpoint_url or "the default AWS S3 endpoint"
    return f"s3://{settings.bucket}/{key} (endpoint {endpoint})"


def _translate(exc: Exception, settings: Settings, key: str, action: str) -> Exception:
    """Turn a botocore failure into one of ours that says where and what to do."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    where = _where(settings, key)
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("NoSuchKey", "404", "NotFound"):
            return ObjectMissingError(
                f"XCom object {where} does not exist. Likely causes: it was purged or deleted (task cleared, "
                f"`xcom-s3 gc`), a bucket lifecycle rule expired it, or {env_name('bucket')} / "
                f"{env_name('endpoint_url')} point at another store than the one that wrote it."
            )
        if code == "NoSuchBucket":
            return StorageError(
                f"Cannot {action} {where}: bucket {settings.bucket!r} does not exist. Create it or fix "
                f"{env_name('bucket')}."
            )
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return StorageError(
                f"Cannot {action} {where}: access denied ({code}). Grant the worker's credentials "
                f"s3:GetObject/PutObject/DeleteObject on arn:aws:s3:::{settings.bucket}/{settings.prefix}/*."
            )
        return StorageError(f"Cannot {action} {where}: S3 answered {code}: {exc}")
    if isinstance(exc, NoCredentialsError):
        return StorageError(
            f"Cannot {action} {where}: no AWS credentials found. Provide them through boto3's standard chain "
            "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance or pod role)."
        )
    if isinstance(exc, BotoCoreError):
        return StorageError(
            f"Cannot {action} {where}: {exc}. Check that the endpoint is reachable from this worker "
            f"({env_name('endpoint_url')}) and the network allows it."
        )
    return exc


def put(settings: Settings, key: str, body: Any, content_type: str) -> None:
    """Upload ``body`` (bytes or a buffer) to ``key``; raise, and write nothing else, if S3 will not take it."""
    extra: dict[str, str] = {}
    if settings.sse:
        extra["ServerSideEncryption"] = settings.sse
    if settings.kms_key_id:
        extra["SSEKMSKeyId"] = settings.kms_key_id
    try:
        client(settings).put_object(
            Bucket=settings.bucket, Key=key, Body=bytes(memoryview(body)), ContentType=content_type, **extra
        )
    except Exception as exc:
        raise _translate(exc, settings, key, "write") from exc


def get(settings: Settings, key: str, *, size: int, sha256: str) -> bytes:
    """Download ``key`` and return its bytes only if they match the recorded size and checksum.

    A truncated or corrupted transfer is read again; a stored object that keeps failing the checksum is an
    :class:`IntegrityError`, never data.
    """
    from botocore.exceptions import IncompleteReadError, ResponseStreamingError

    last_problem = ""
    for _attempt in range(max(settings.max_attempts, 2)):
        try:
            response = client(settings).get_object(Bucket=settings.bucket, Key=key)
            data = response["Body"].read()
        except (IncompleteReadError, ResponseStreamingError) as exc:
            last_problem = f"the download broke off ({exc})"
            continue
        except Exception as exc:
            raise _translate(exc, settings, key, "read") from exc
        if len(data) != size:
            last_problem = f"got {len(data)} bytes, the reference records {size}"
            continue
        actual = sha256_hex(data)
        if actual == sha256:
            return data
        last_problem = f"sha256 {actual} does not match the reference's {sha256}"
    raise IntegrityError(
        f"XCom object {_where(settings, key)} failed its integrity check: {last_problem}. The object was changed "
        "or damaged after it was written; re-run the task that produced it."
    )


def delete(settings: Settings, key: str) -> None:
    try:
        client(settings).delete_object(Bucket=settings.bucket, Key=key)
    except Exception as exc:
        raise _translate(exc, settings, key, "delete") from exc
