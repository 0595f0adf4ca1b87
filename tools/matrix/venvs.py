"""Build a venv from a lock: ``uv venv`` with the entry's Python, then ``uv pip sync``, offline first."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import nox

from tools.matrix import pythons, uv_cli


@dataclasses.dataclass(frozen=True)
class Venv:
    path: Path
    #: Wall seconds for ``uv venv`` plus ``uv pip sync``.
    seconds: float
    #: ``fresh`` or ``re-synced``, then ``offline`` when the uv cache held every wheel, else ``online``.
    mode: str

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def bin(self) -> Path:
        return self.path / "bin"

    @property
    def pycache(self) -> Path:
        return self.path / PYCACHE

    def env(self) -> dict[str, str]:
        """Environment that makes this venv the active one, also for subprocesses Airflow spawns.

        Bytecode is always written, into the venv's own cache: uv installs no ``.pyc`` files, and with
        ``PYTHONDONTWRITEBYTECODE`` set (common in containers and CI images) every process would compile each
        module it imports again, about 4 of the 6 CPU seconds an Airflow 3 import costs. An empty value turns
        that variable off; the prefix keeps the checkout free of ``__pycache__`` and goes with the venv.
        """
        return {
            "VIRTUAL_ENV": str(self.path),
            "PATH": os.pathsep.join([str(self.bin), os.environ.get("PATH", "")]),
            "PYTHONDONTWRITEBYTECODE": "",
            "PYTHONPYCACHEPREFIX": str(self.pycache),
        }


#: Where a venv's processes keep bytecode (Venv.env), inside the venv so a rebuild starts clean.
PYCACHE = ".pycache"
#: The interpreter a venv was built with, then the id of the nox run that built it.
_STAMP = ".xcom-s3-python"
#: Set to 1 to rebuild every venv from scratch instead of re-syncing an existing one.
FRESH_VAR = "XCOM_S3_FRESH_VENVS"
#: One id per `nox` invocation (set by the noxfile, inherited by `-j` workers).
RUN_VAR = "_XCOM_S3_NOX_RUN"


def build(session: nox.Session, lock: Path, python: str, location: Path) -> Venv:
    """A venv at ``location`` holding exactly what ``lock`` pins.

    An existing venv on the same interpreter is kept and re-synced: ``uv pip sync`` removes, adds and replaces
    whatever differs from the lock, so the result is exact, and a venv already in sync costs well under a second
    instead of re-linking some 16,000 files. Under ``nox -j`` several sessions build the same venv (the S3
    server's, the 2.x side of the rehearsals): they take turns.
    """
    with exclusive(location):
        return sync(session, lock, python, location)


@contextlib.contextmanager
def exclusive(location: Path) -> Iterator[None]:
    """Hold an advisory lock on ``location`` (a sibling ``.lock`` file) across processes.

    Not re-entrant: a process holding it must not take it again (call :func:`sync` inside, not :func:`build`).
    """
    location.parent.mkdir(parents=True, exist_ok=True)
    with (location.parent / f".{location.name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def sync(session: nox.Session, lock: Path, python: str, location: Path) -> Venv:
    """:func:`build` without the lock, for callers that hold :func:`exclusive` to do more (``--install``)."""
    interpreter = str(pythons.find(python).resolve())
    run = os.environ.get(RUN_VAR, "")
    uv = uv_cli.uv()
    started = time.monotonic()
    marker = location / _STAMP
    built_with = marker.read_text().splitlines() if marker.is_file() else []
    # XCOM_S3_FRESH_VENVS rebuilds once per run: under `-j` a venv two sessions share (the S3 server's, a
    # rehearsal's 2.x side) may be in use by the session that built it, and must not be cleared under it.
    built_by = built_with[1] if len(built_with) > 1 else ""
    fresh = built_with[:1] != [interpreter] or (os.environ.get(FRESH_VAR) == "1" and built_by != run)
    if fresh:
        session.run(uv, "venv", "--clear", "--quiet", "--python", interpreter, str(location), external=True)
    venv_python = str(location / "bin" / "python")
    # Offline first: with a warm cache this skips every index request; it fails fast when a wheel is missing.
    offline = subprocess.run(
        [uv, "pip", "sync", "--offline", "--quiet", "--python", venv_python, str(lock)],
        capture_output=True,
        text=True,
        check=False,
    )
    mode = "offline"
    if offline.returncode != 0:
        session.log(f"uv cache lacks part of {lock.name}; syncing from the index")
        online = [uv, "pip", "sync", "--quiet", "--python", venv_python, str(lock)]
        try:
            session.run(*online, external=True)
        except nox.command.CommandFailed:
            # uv retries each request, but a registry hiccup mid-download can still end the sync; one more
            # sync resumes from what is already cached. A second failure is reported (install-failed).
            session.warn(f"syncing {lock.name} from the index failed; trying once more")
            session.run(*online, external=True)
        mode = "online"
    marker.write_text(f"{interpreter}\n{run if fresh else built_by}\n")
    return Venv(location, time.monotonic() - started, f"{'fresh' if fresh else 're-synced'}, {mode}")
