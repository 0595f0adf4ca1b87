"""The S3 endpoint: moto's server on loopback, started once per nox process from its own venv.

moto runs from ``locks/s3-server.txt`` in ``.nox/_s3server``, never inside a matrix venv, so its Flask and
Werkzeug never meet Airflow's pins; the suite reaches it by URL. Under ``nox -j`` each worker process starts its
own server on its own port (moto keeps everything in memory, so they share nothing). Set ``XCOM_S3_TEST_ENDPOINT`` (and
``XCOM_S3_TEST_BUCKET``, credentials) to use another endpoint instead, e.g. MinIO or real S3.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import nox

from tools.matrix import moto_process, venvs

ENDPOINT_VAR = "XCOM_S3_TEST_ENDPOINT"
BUCKET_VAR = "XCOM_S3_TEST_BUCKET"
#: moto accepts any credentials; these keep boto3 from looking for real ones.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
#: moto's server did not come up (the message holds the end of its log), or no bucket is usable.
S3ServerFailed = moto_process.MotoFailed


@dataclasses.dataclass(frozen=True)
class Endpoint:
    url: str
    #: Started by this run: buckets are created here, and credentials are moto's dummies.
    own: bool

    def bucket_for(self, name: str) -> str:
        """A bucket for one session: created on our server, the user's ``XCOM_S3_TEST_BUCKET`` otherwise."""
        if not self.own:
            bucket = os.environ.get(BUCKET_VAR)
            if not bucket:
                raise S3ServerFailed(
                    f"{ENDPOINT_VAR} is set to {self.url}: also set {BUCKET_VAR} to an existing bucket"
                )
            return bucket
        bucket = "xcom-" + "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")[:57]
        request = urllib.request.Request(f"{self.url}/{bucket}", method="PUT")
        with urllib.request.urlopen(request, timeout=30):
            pass
        return bucket

    def env(self, bucket: str) -> dict[str, str]:
        own_credentials = CREDENTIALS if self.own else {}
        return {ENDPOINT_VAR: self.url, BUCKET_VAR: bucket, **own_credentials}


_started: Endpoint | None = None


def endpoint(session: nox.Session, root: Path, python: str) -> Endpoint:
    """The endpoint for this nox run, starting moto on first use."""
    global _started
    if _started is not None:
        return _started
    outside = os.environ.get(ENDPOINT_VAR)
    if outside:
        return Endpoint(outside.rstrip("/"), own=False)
    lock = root / "locks" / "s3-server.txt"
    if not lock.is_file():
        session.error(f"{lock} is missing: run `nox -s lock -- s3-server`")
    venv = venvs.build(session, lock, python, root / ".nox" / "_s3server")
    port = moto_process.free_port()
    _remove_stale_logs(venv.path)
    log_path = venv.path / f"moto-{port}.log"
    server = moto_process.start([str(venv.bin / "moto_server")], port, log_path, {**os.environ, **venv.env()})
    atexit.register(_stop, server)
    url = f"http://127.0.0.1:{port}"
    session.log(f"S3 server (moto) at {url}, pid {server.pid}, log {log_path}")
    _started = Endpoint(url, own=True)
    return _started


def _remove_stale_logs(directory: Path, older_than_seconds: float = 86400.0) -> None:
    """Logs of servers from earlier runs; a running worker's log is younger than a day."""
    cutoff = time.time() - older_than_seconds
    for old in directory.glob("moto-*.log"):
        with contextlib.suppress(OSError):
            if old.stat().st_mtime < cutoff:
                old.unlink()


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
