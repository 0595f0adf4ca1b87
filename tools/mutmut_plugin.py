"""pytest plugin for the mutation runs (``nox -s mutants``): what running pytest many times in one process needs.

mutmut runs the suite with ``pytest.main`` several times in its own process (the stats run, the clean run), then
forks one child per mutant that calls ``pytest.main`` again, several children at once. Two things break that the
matrix, one fresh process per entry, never sees:

* Airflow configures logging once, on first import, with handlers that write to the ``sys.stderr`` of that moment:
  the first session's capture stream, closed when that session ends. Every later session would print "--- Logging
  error ---" tracebacks wherever Airflow or boto logs, which the checks of clean output (``xcom-s3 gc``) rightly
  count as failures. Each session points such handlers at its own ``sys.stderr``, as a fresh process would.
* The children share the parent's metadata DB (a SQLite file under the AIRFLOW_HOME that tests/conftest.py made
  before the fork). The gc and IAM checks create and drop XCom tables in it: two children at once would see each
  other's tables and fail, a kill the mutant did not earn. Those checks take a lock, one child at a time.

Loaded with ``-p tools.mutmut_plugin`` (tools/mutants.py links tools/ beside the mutated sources).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

#: Checks that write the session's metadata DB (tests/gc: ``metadata_db``; tests/iam: ``xcom_rows``).
SHARED_DB_CHECKS = ("tests/gc/", "tests/iam/")


def _closed_stream_handlers() -> list[logging.StreamHandler]:  # type: ignore[type-arg]
    """Every stream handler of any logger whose stream an earlier session closed."""
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    found = []
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            stream = getattr(handler, "stream", None)
            if isinstance(handler, logging.StreamHandler) and getattr(stream, "closed", False):
                found.append(handler)
    return found


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Point handlers left on a closed capture stream at this session's stderr."""
    for handler in _closed_stream_handlers():
        with handler.lock or contextlib.nullcontext():  # not setStream(): it flushes the old, closed stream first
            handler.stream = sys.stderr


@contextlib.contextmanager
def _metadata_db_lock() -> Iterator[None]:
    """One child at a time in the shared metadata DB (the lock file is in the entry's own TMPDIR)."""
    with (Path(tempfile.gettempdir()) / "xcom-s3-mutmut-metadata-db.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            # flock is not fair: taken again at once for the next check, it starved the other child (seen: waits of
            # 100 s). A moment's pause lets a waiting child wake and take its turn.
            time.sleep(0.02)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Run the checks that write the shared metadata DB under the lock, setup and teardown included."""
    if not item.nodeid.startswith(SHARED_DB_CHECKS):
        yield
        return
    with _metadata_db_lock():
        yield
