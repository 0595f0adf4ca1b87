"""moto's server with IAM enforcement on, in its own process: a real policy evaluator for the README's policy.

The suite's S3 server never checks permissions, and the matrix venvs have no moto, so this starts another
``moto_server`` from the S3 server's venv (``.nox/_s3server``, built from ``locks/s3-server.txt`` by the matrix
and ``nox -s tests`` before any test runs; :func:`moto_command` also takes a moto importable here). Set-up (users,
buckets) runs before enforcement is switched on (``/moto-api/reset-auth``, moto's switch for
``INITIAL_NO_AUTH_ACTION_COUNT``); from then on every request must be signed by an IAM user of this server and
is checked against that user's policies: the admin's ``*`` or a test's policy.

Parts may be as small as :data:`PART_MIN_SIZE` on this server (moto's ``S3_UPLOAD_PART_MIN_SIZE``; S3's is 5 MiB),
so a multipart frame stays small; moto refuses a smaller part at completion (``EntityTooSmall``), as S3 does.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sys
import tempfile
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s3_server import DEFAULT_REGION, free_port

from tools.matrix import moto_process

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Where the matrix builds the S3 server's venv (tools/matrix/s3server.py).
S3SERVER_VENV = REPO_ROOT / ".nox" / "_s3server"
#: The smallest part this server accepts (all but the last part of an upload).
PART_MIN_SIZE = 256 * 2**10
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@dataclass(frozen=True)
class Keys:
    """An IAM user's access key on this server."""

    user: str
    access_key: str
    secret_key: str


def moto_command() -> list[str] | None:
    """How to start moto's server: the S3 server venv's ``moto_server``, else this interpreter's moto, else None."""
    script = S3SERVER_VENV / "bin" / "moto_server"
    if script.is_file():
        return [str(script)]
    if importlib.util.find_spec("moto") is not None:
        return [sys.executable, "-m", "moto.server"]
    return None


class IamMoto:
    """One moto server process enforcing IAM; :meth:`user` makes a user with a given policy."""

    def __init__(self, command: list[str], buckets: list[str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = Path(tempfile.mkstemp(prefix="iam-moto-", suffix=".log")[1])
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "TMPDIR": tempfile.gettempdir(),
            "PYTHONUNBUFFERED": "1",
            "S3_UPLOAD_PART_MIN_SIZE": str(PART_MIN_SIZE),
        }
        self._process = moto_process.start(command, self.port, self._log, env)
        try:
            for bucket in buckets:
                self.client("s3", None).create_bucket(Bucket=bucket)
            self.admin = self._create_user("admin", ADMIN_POLICY, None)
            self._post("/moto-api/reset-auth", b"0")  # enforcement on: every request from here is checked
        except BaseException:
            self.stop()
            raise

    def client(self, service: str, keys: Keys | None) -> Any:
        """A boto3 client of this server, signed with ``keys`` (None: moto's dummy keys, before enforcement)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=DEFAULT_REGION,
            aws_access_key_id=keys.access_key if keys else "testing",
            aws_secret_access_key=keys.secret_key if keys else "testing",
            config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
        )

    def user(self, name: str, policy: dict[str, Any]) -> Keys:
        """A new IAM user whose only permissions are ``policy`` (an inline policy document)."""
        return self._create_user(f"{name}-{uuid.uuid4().hex[:8]}", policy, self.admin)

    def _create_user(self, name: str, policy: dict[str, Any], signer: Keys | None) -> Keys:
        iam = self.client("iam", signer)
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="policy", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return Keys(name, key["AccessKeyId"], key["SecretAccessKey"])

    def empty(self, bucket: str) -> None:
        """Delete every object and abort every multipart upload in ``bucket`` (as the admin)."""
        s3 = self.client("s3", self.admin)
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=obj["Key"])
        for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])

    def log_tail(self, lines: int = 20) -> str:
        return moto_process.tail(self._log, lines)

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.kill()  # it keeps everything in memory: nothing to shut down cleanly
            self._process.wait(timeout=10)
        with contextlib.suppress(OSError):
            self._log.unlink()

    def _post(self, path: str, body: bytes) -> None:
        # text/plain: moto reads the raw body (a form content type would leave it empty)
        request = urllib.request.Request(
            self.url + path, data=body, method="POST", headers={"Content-Type": "text/plain"}
        )
        with urllib.request.urlopen(request, timeout=30):
            pass
