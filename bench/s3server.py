"""moto's S3 server on loopback, in its own process (so its CPU and memory are not charged to any path).

moto keeps objects under 5 MiB in memory and spools larger ones to temp files; each round trip deletes its
objects, so the server stays small across runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# tools.matrix.moto_process (standard library only) starts moto and finds a port; run.py puts only bench/ on sys.path.
if (_ROOT := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.append(_ROOT)
from tools.matrix import moto_process

BUCKET = "xcom-bench"


class MotoServer:
    """``python -m moto.server`` on 127.0.0.1; ``with MotoServer() as server: ...`` stops it whatever happens."""

    def __init__(self) -> None:
        self.port = moto_process.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._spool = tempfile.TemporaryDirectory(prefix="bench-moto-")
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MotoServer:
        """The server answering, with the bucket; its log (moto_process.start) and spooled objects in one temp dir."""
        env = {**os.environ, "TMPDIR": self._spool.name}
        log = Path(self._spool.name) / "moto.log"
        self._proc = moto_process.start([sys.executable, "-m", "moto.server"], self.port, log, env)
        try:
            self.client().create_bucket(Bucket=BUCKET)
        except BaseException:
            self.__exit__()
            raise
        return self

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def client(self) -> Any:
        import boto3

        return boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        ).client("s3", endpoint_url=self.url)

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._spool.cleanup()
