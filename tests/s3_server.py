"""The S3 endpoint the tests talk to: a given one (MinIO, real S3) or moto's server on loopback.

The matrix runs the S3 server in its own process from its own venv and hands the tests
``XCOM_S3_TEST_ENDPOINT``, so this module never imports moto at module level (moto is not installed in the
matrix venvs). A server for such a process by hand: ``python -m moto.server -p N`` from a venv with moto (the
suite creates the bucket on any endpoint).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# tools.matrix.moto_process (standard library only) has the port finder. The suite has the repo root on sys.path
# (conftest); imported by a script outside the suite, this file puts it there.
if (_ROOT := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.append(_ROOT)
from tools.matrix.moto_process import free_port

DEFAULT_BUCKET = "xcom-s3-test"
DEFAULT_REGION = "us-east-1"
#: moto accepts any credentials; fixed ones keep boto3 from searching the machine's credential chain.
MOTO_KEY = "testing"


@dataclass(frozen=True)
class S3Endpoint:
    """Where the tests' S3 lives and how to reach it."""

    endpoint_url: str
    bucket: str
    region: str
    access_key: str
    secret_key: str

    def client(self) -> Any:
        """A boto3 S3 client for this endpoint (path-style, so bucket names need no DNS)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2, "mode": "standard"}),
        )

    def env(self) -> dict[str, str]:
        """The environment that points the backend (and boto3's credential chain) at this endpoint.

        Besides our own ``[xcom_s3]`` settings, the names other backends already read: boto3 >= 1.28 takes
        ``AWS_ENDPOINT_URL(_S3)`` when no ``endpoint_url`` is passed (an explicit one, like ours, still wins),
        and ``S3Hook`` reads the ``aws_default`` connection's ``extra.endpoint_url`` (JSON connections: 2.3+).
        """
        connection = {
            "conn_type": "aws",
            "login": self.access_key,
            "password": self.secret_key,
            "extra": {"endpoint_url": self.endpoint_url, "region_name": self.region},
        }
        return {
            "AIRFLOW__XCOM_S3__BUCKET": self.bucket,
            "AIRFLOW__XCOM_S3__ENDPOINT_URL": self.endpoint_url,
            "AIRFLOW__XCOM_S3__REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ENDPOINT_URL_S3": self.endpoint_url,
            "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(connection),
        }

    def ensure_bucket(self) -> None:
        """Create the bucket unless it exists (real S3 / MinIO buckets are usually made beforehand)."""
        client = self.client()
        try:
            client.head_bucket(Bucket=self.bucket)
            return
        except client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                raise
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":  # us-east-1 rejects an explicit LocationConstraint
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        client.create_bucket(**kwargs)


def endpoint_from_env(environ: dict[str, str] | os._Environ[str] = os.environ) -> S3Endpoint | None:
    """The endpoint named by ``XCOM_S3_TEST_ENDPOINT`` (+ bucket, region, credentials), or None if unset."""
    url = environ.get("XCOM_S3_TEST_ENDPOINT")
    if not url:
        return None
    return S3Endpoint(
        endpoint_url=url,
        bucket=environ.get("XCOM_S3_TEST_BUCKET", DEFAULT_BUCKET),
        region=environ.get("XCOM_S3_TEST_REGION", DEFAULT_REGION),
        access_key=environ.get("XCOM_S3_TEST_ACCESS_KEY") or environ.get("AWS_ACCESS_KEY_ID") or MOTO_KEY,
        secret_key=environ.get("XCOM_S3_TEST_SECRET_KEY") or environ.get("AWS_SECRET_ACCESS_KEY") or MOTO_KEY,
    )


#: The names a ``--backend-env NAME=TEMPLATE`` template may use.
TEMPLATE_FIELDS = ("endpoint", "bucket", "region", "access_key", "secret_key", "prefix")
_FIELD = re.compile(r"\{(" + "|".join(TEMPLATE_FIELDS) + r")\}")


def backend_env(
    endpoint: S3Endpoint, prefix: str, environ: dict[str, str] | os._Environ[str] = os.environ
) -> dict[str, str]:
    """``XCOM_S3_TEST_BACKEND_ENV`` (JSON ``{NAME: TEMPLATE}`` from ``--backend-env``) with the templates
    expanded for this endpoint and S3 prefix: how a backend's own settings are pointed at the test S3.

    Only the six known ``{field}``s are replaced; any other text (braces included) is kept as written.
    """
    raw = environ.get("XCOM_S3_TEST_BACKEND_ENV") or ""
    if not raw.strip():
        return {}
    try:
        templates = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"XCOM_S3_TEST_BACKEND_ENV is not a JSON object: {exc}: {raw[:200]!r}") from exc
    if not isinstance(templates, dict):
        raise ValueError(f"XCOM_S3_TEST_BACKEND_ENV is not a JSON object {{NAME: TEMPLATE}}: {raw[:200]!r}")
    fields = {
        "endpoint": endpoint.endpoint_url,
        "bucket": endpoint.bucket,
        "region": endpoint.region,
        "access_key": endpoint.access_key,
        "secret_key": endpoint.secret_key,
        "prefix": prefix,
    }
    return {str(name): _FIELD.sub(lambda m: fields[m.group(1)], str(template)) for name, template in templates.items()}


class MotoServer:
    """moto's ThreadedMotoServer on 127.0.0.1, imported only when started."""

    def __init__(self, port: int = 0) -> None:
        try:
            from moto.server import ThreadedMotoServer
        except ImportError as exc:
            raise RuntimeError(
                "No S3 endpoint for the tests: set XCOM_S3_TEST_ENDPOINT (plus XCOM_S3_TEST_BUCKET and "
                "credentials) to use a running S3/MinIO/moto server, or install moto[server] here "
                f"(import failed: {exc})."
            ) from exc
        # werkzeug logs every request at INFO; keep failure reports readable.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port or free_port(), verbose=False)

    def start(self) -> S3Endpoint:
        self._server.start()
        host, port = self._server.get_host_and_port()
        return S3Endpoint(
            endpoint_url=f"http://{host}:{port}",
            bucket=DEFAULT_BUCKET,
            region=DEFAULT_REGION,
            access_key=MOTO_KEY,
            secret_key=MOTO_KEY,
        )

    def stop(self) -> None:
        self._server.stop()
