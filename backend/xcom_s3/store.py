"""S3 I/O: one lazily created client per process, whole-object put/get/delete, checksums verified on read.

Every request runs under :func:`xcom_s3.retry.attempts` (one retry loop, one budget per operation); large objects
stream through :mod:`xcom_s3.transfer` under the same loop.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any

from xcom_s3 import integrity, retry
from xcom_s3.errors import ConfigError
from xcom_s3.settings import Settings, env_name

_clients: dict[tuple[Any, ...], Any] = {}
_clients_lock = threading.Lock()


def reset_clients() -> None:
    """Forget cached clients (after the endpoint or credentials changed)."""
    with _clients_lock:
        _clients.clear()


def client(settings: Settings) -> Any:
    """The boto3 client for these settings, created on first use; never at import, never shared across forks."""
    cache_key = (os.getpid(), settings.endpoint_url, settings.region, settings.connect_timeout, settings.read_timeout)
    found = _clients.get(cache_key)
    if found is not None:
        return found
    with _clients_lock:
        found = _clients.get(cache_key)
        if found is None:
            from botocore.config import Config

            config = Config(
                # One attempt per call: retry.attempts() retries, with a budget shared with body re-reads.
                retries={"mode": "standard", "total_max_attempts": 1},
                connect_timeout=settings.connect_timeout,
                read_timeout=settings.read_timeout,
                max_pool_connections=32,
            )
            found = _new_client(settings, config)
            _clients[cache_key] = found
    return found


def _new_client(settings: Settings, config: Any) -> Any:
    """Create the client; a malformed endpoint or region, or AWS settings boto3 cannot use, are configuration
    errors, so name the setting."""
    import boto3
    import botocore.exceptions

    invalid_region: Any = getattr(botocore.exceptions, "InvalidRegionError", ())  # botocore >= 1.20
    try:
        session = boto3.session.Session()  # reads AWS_PROFILE's profile here
        return session.client("s3", endpoint_url=settings.endpoint_url, region_name=settings.region, config=config)
    except invalid_region as exc:
        raise ConfigError(f"{env_name('region')}={settings.region!r} is not a valid AWS region name: {exc}") from exc
    except ValueError as exc:  # botocore: "Invalid endpoint: ..."
        raise ConfigError(
            f"{env_name('endpoint_url')}={settings.endpoint_url!r} is not a valid endpoint URL ({exc}); "
            "expected e.g. http://127.0.0.1:9000 or https://s3.eu-west-1.amazonaws.com."
        ) from exc
    except botocore.exceptions.BotoCoreError as exc:  # the credential chain: half a key pair, a missing profile
        raise ConfigError(
            f"boto3 cannot create the S3 client for bucket {settings.bucket!r} ({type(exc).__name__}: {exc}). Fix "
            "the AWS settings boto3 reads on this worker (AWS_ACCESS_KEY_ID with AWS_SECRET_ACCESS_KEY, "
            "AWS_PROFILE, AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE)."
        ) from exc


def sha256_hex(data: Any) -> str:
    return hashlib.sha256(memoryview(data)).hexdigest()


def sse_arguments(settings: Settings) -> dict[str, str]:
    """The server-side encryption arguments of every write (PUT, multipart create)."""
    extra: dict[str, str] = {}
    if settings.sse:
        extra["ServerSideEncryption"] = settings.sse
    if settings.kms_key_id:
        extra["SSEKMSKeyId"] = settings.kms_key_id
    return extra


def put(settings: Settings, key: str, body: Any, content_type: str) -> None:
    """Upload ``body`` (bytes or a buffer) to ``key``; raise, and write nothing else, if S3 will not take it.

    Re-sending after a reset is safe: the key is deterministic, so a retry overwrites the same object.
    """
    extra = sse_arguments(settings)
    data = body if isinstance(body, bytes) else bytes(memoryview(body))
    s3 = client(settings)

    def once() -> None:
        s3.put_object(Bucket=settings.bucket, Key=key, Body=data, ContentType=content_type, **extra)

    retry.attempts(settings, key, "write", once)


def get(settings: Settings, key: str, *, size: int, sha256: str) -> bytes:
    """Download ``key`` and return its bytes only if they match the recorded size and checksum.

    A truncated or corrupted transfer is read again; an object that twice reads back with the same wrong checksum
    is damaged in storage: :class:`IntegrityError` at once, never data.
    """
    s3 = client(settings)
    seen: list[str] = []

    def once() -> bytes:
        response = s3.get_object(Bucket=settings.bucket, Key=key)
        data = response["Body"].read()
        actual = sha256_hex(data)
        if len(data) == size and actual == sha256:
            return bytes(data)
        if len(data) != size:
            problem = f"size mismatch: got {len(data)} bytes, the reference records {size}"
        else:
            problem = f"checksum mismatch: sha256 {actual} does not match the reference's {sha256}"
        integrity.reject_download(settings, key, problem, actual, seen)

    return retry.attempts(settings, key, "read", once)


def delete(settings: Settings, key: str) -> None:
    s3 = client(settings)
    retry.attempts(settings, key, "delete", lambda: s3.delete_object(Bucket=settings.bucket, Key=key))
