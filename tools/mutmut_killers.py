"""Killer-first test order for ``nox -s mutants``: the tests that killed a function's mutants run first on the next.

mutmut runs a mutant's tests fastest first and stops at the first failure (``-x``). A mutant the fast tests miss
waits for the one slow test that sees it (a frame's ``freq``, a retry's backoff): 30 to 55 s on the hot paths,
and again for every sibling, since mutants of one function are mostly killed by the same few tests. So each
mutant's run records the test that failed, per function (``mutants/killers/<function>``, one nodeid a line,
appended by the forked children), and a mutant's tests start with the ones that killed its siblings, the rest in
mutmut's order after them.

The order changes when a mutant is killed, never whether: with ``-x`` a mutant is killed as soon as any of its
tests fails, and the same tests run. Standard library only; imported by tools/mutmut_launch.py.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

#: One file per mutated function, in mutmut's work directory (under ``mutants/``, which it keeps between runs).
KILLERS = Path("mutants") / "killers"
_MUTANT_SUFFIX = re.compile(r"__mutmut_\d+$")


def function_of(mutant_name: str) -> str:
    """``xcom_s3.gc.x__delete__mutmut_7`` -> ``xcom_s3.gc.x__delete``: the key siblings share."""
    return _MUTANT_SUFFIX.sub("", mutant_name)


def _path(root: Path, mutant_name: str) -> Path:
    return root / function_of(mutant_name)


def ordered(root: Path, mutant_name: str, tests: list[str]) -> list[str]:
    """``tests`` (mutmut's order: fastest first) with those that killed this function's mutants before at the
    front, fastest first among them too: a slow killer (the whole catalogue) goes after a fast one."""
    path = _path(root, mutant_name)
    if not path.is_file():
        return tests
    killers = set(path.read_text().splitlines())
    return [test for test in tests if test in killers] + [test for test in tests if test not in killers]


class Recorder:
    """A pytest plugin noting the first failing test of a mutant's run (appended whole: one ``write`` per line)."""

    def __init__(self, root: Path, mutant_name: str) -> None:
        self.path = _path(root, mutant_name)
        self.done = False

    def pytest_runtest_logreport(self, report: Any) -> None:
        if self.done or not report.failed:
            return
        self.done = True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = (report.nodeid.removeprefix("mutants/") + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
