"""moto's server as a process of its own: started on loopback on a free port, waited for until it answers.

Three servers use it: the matrix's S3 server (:mod:`tools.matrix.s3server`), the IAM test's enforcing one
(tests/iam/iam_moto.py) and the benchmark's (bench/s3server.py). :func:`free_port` is the one port finder of the
repo (tests/s3_server.py, tests/pg_server.py too). Standard library only, so the suite imports it inside any
entry's venv, and the scripts beside it with any Python.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

#: How long a server may take to answer its first request.
READY_SECONDS = 60.0


class MotoFailed(RuntimeError):
    """moto's server did not come up; the message holds the end of its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now: for a server about to start, or an endpoint that
    must be unreachable."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(command: list[str], port: int, log_path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``command`` (``moto_server`` or ``python -m moto.server``) on 127.0.0.1:``port`` in a session of its own,
    output to ``log_path``; returns once it answers, else kills it and raises :class:`MotoFailed`."""
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*command, "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        _wait_ready(process, f"http://127.0.0.1:{port}", log_path)
    except BaseException:
        process.kill()
        process.wait(timeout=10)
        raise
    return process


def _wait_ready(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise MotoFailed(f"moto_server exited with {process.returncode}:\n{tail(log_path)}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer means it is serving
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise MotoFailed(f"moto_server not answering on {url} after {READY_SECONDS:.0f} s:\n{tail(log_path)}")


def tail(path: Path, lines: int = 20) -> str:
    """The end of a server's log, for failure messages."""
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return "(no log)"
