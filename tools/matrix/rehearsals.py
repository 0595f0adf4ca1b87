"""Which matrix entries rehearse the 2.x -> 3.x upgrade, and whether a run without the two interpreters may skip.

The rule, from matrix.yaml alone: the newest stable 2.x entry upgrades into one entry per 3.x minor (pre-releases
included), the one with the source's Python and pandas where there is one, else the newest. The matrix session
hands such an entry both interpreters (``FROM_VAR``, ``TO_VAR``). tests/e2e/test_rehearsal.py asks :func:`decide`
what a run without them means: outside the matrix a declared n/a, in an entry the rule names a failure (the
harness did not wire what matrix.yaml declares), in any other entry a declared n/a. No skip is left undeclared.

Imports only tools.matrix.entries (PyYAML and packaging, which every Airflow venv has), so the suite can import it
inside any entry's venv.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from tools.matrix.entries import Entry, Matrix

#: The interpreters of the two Airflow venvs a rehearsal runs (set by tools/matrix/run_entry.py).
FROM_VAR, TO_VAR = "XCOM_S3_UPGRADE_FROM_PYTHON", "XCOM_S3_UPGRADE_TO_PYTHON"
#: The interpreter of the pandas 2 entry paired with the suite's pandas 3 entry (set by tools/matrix/run_entry.py).
PANDAS_FROM_VAR = "XCOM_S3_PANDAS_FROM_PYTHON"
#: The matrix entry the suite runs in (set by tools/matrix/run_entry.py; unset outside the matrix).
ENTRY_VAR = "XCOM_S3_MATRIX_ENTRY"
#: The skip prefix the report counts as "cannot apply" (tools/matrix/junit.py).
NA = "n/a: "


def sources(matrix: Matrix) -> dict[str, Entry]:
    """Target entry id -> the entry whose release it upgrades from, for every rehearsal the matrix runs."""
    source = matrix.newest(2)
    minors = sorted({(e.version.major, e.version.minor) for e in matrix.runnable if e.version.major >= 3})
    return {_closest(matrix, minor, source).id: source for minor in minors}


def pandas_sources(matrix: Matrix) -> dict[str, Entry]:
    """Target entry id -> the pandas 2 entry it reads frames from: the newest stable release with a pandas 2 and a
    pandas 3 entry on one Python (a mixed-pandas deployment mid-upgrade: tests/mixed)."""
    pairs = [
        (new, old)
        for new in matrix.runnable
        if new.pandas == 3 and new.channel == "stable"
        for old in matrix.runnable
        if old.pandas == 2 and (old.airflow, old.python) == (new.airflow, new.python)
    ]
    if not pairs:
        return {}
    target, source = max(pairs, key=lambda pair: pair[0].sort_key)
    return {target.id: source}


def _closest(matrix: Matrix, minor: tuple[int, int], like: Entry) -> Entry:
    """The runnable entry of an Airflow minor closest to ``like``."""
    return closest([e for e in matrix.runnable if (e.version.major, e.version.minor) == minor], like)


def closest(candidates: list[Entry], like: Entry | None) -> Entry:
    """The candidate closest to ``like``: same Python, then same pandas, then the newest (the newest alone without
    ``like``). Rehearsals pair entries this way, and so does ``nox -s upgrade -- FROM TO``."""

    def rank(e: Entry) -> tuple[bool, bool, tuple[object, ...]]:
        return (like is not None and e.python == like.python, like is not None and e.pandas == like.pandas, e.sort_key)

    return max(candidates, key=rank)


@dataclasses.dataclass(frozen=True)
class Decision:
    """``run`` (the interpreters are there), ``n/a`` (declared: skip with ``reason``) or ``fail`` (a wiring mistake,
    ``reason`` names what was declared and what is missing). ``source``: the entry the matrix declares, if any."""

    outcome: str
    reason: str = ""
    source: Entry | None = None
    #: The other venv's interpreter (decide_writer, when the outcome is ``run``).
    python: str = ""


def decide(matrix: Matrix, entry_id: str | None, from_python: str | None, to_python: str | None) -> Decision:
    """What the rehearsal test does in entry ``entry_id`` (None: not a matrix run) with these interpreters."""
    declared = sources(matrix).get(entry_id or "")
    if from_python and to_python:
        return Decision("run", source=declared)
    if from_python or to_python:
        missing = TO_VAR if from_python else FROM_VAR
        return Decision("fail", f"{missing} is not set, {FROM_VAR if to_python else TO_VAR} is: set both", declared)
    if not entry_id:
        return Decision(
            "n/a",
            f"not a matrix run ({ENTRY_VAR} unset): set {FROM_VAR} and {TO_VAR} to the interpreters of two Airflow "
            "venvs to rehearse an upgrade (`nox -s upgrade` does)",
        )
    if entry_id not in {e.id for e in matrix.entries}:
        return Decision("fail", f"{ENTRY_VAR}={entry_id!r} is no matrix.yaml entry: cannot tell whether it rehearses")
    if declared is None:
        targets = ", ".join(sorted(sources(matrix)))
        return Decision("n/a", f"matrix.yaml's upgrade rehearsals run in {targets}, not in {entry_id}")
    return Decision(
        "fail",
        f"matrix.yaml declares the upgrade rehearsal {declared.id} -> {entry_id}, but {FROM_VAR} and {TO_VAR} are "
        "not set: the matrix session did not wire it (noxfile.py's matrix session passes upgrade_from, "
        "tools/matrix/run_entry.py sets the variables)",
        declared,
    )


#: What tests/mixed reads frames from: (the variable naming the writer's interpreter, the pairs matrix.yaml declares).
WRITERS = {"upgrade": (FROM_VAR, sources), "pandas": (PANDAS_FROM_VAR, pandas_sources)}


def decide_writer(matrix: Matrix, kind: str, env: Mapping[str, str]) -> Decision:
    """Whether this run reads frames written in another venv (``kind``: the 2.x side of the ``upgrade`` rehearsal,
    or the ``pandas`` 2 entry of the same release), as :func:`decide` does for the rehearsal."""
    var, pairs = WRITERS[kind]
    entry_id = env.get(ENTRY_VAR)
    declared = pairs(matrix).get(entry_id or "")
    if env.get(var):
        return Decision("run", source=declared, python=env[var])
    if not entry_id:
        return Decision("n/a", f"not a matrix run ({ENTRY_VAR} unset): set {var} to another Airflow venv's python")
    if declared is None:
        return Decision("n/a", f"matrix.yaml's {kind} pairs read in {', '.join(sorted(pairs(matrix)))}, not here")
    return Decision("fail", f"matrix.yaml pairs {declared.id} -> {entry_id}, but {var} is not set", declared)


def longest_first(matrix: Matrix) -> list[Entry]:
    """Every entry, the costliest first: ``nox -j`` starts sessions in the order they are listed, so an entry that
    also rehearses an upgrade (twice the e2e time) or runs on PostgreSQL must not be the last to start. Measured
    (README, Timings): those 3.x entries take 1.5-2x an SQLite 2.x entry; 2.3-2.5 on Python 3.10 come next."""

    doubled = set(sources(matrix)) | set(pandas_sources(matrix))

    def cost(e: Entry) -> tuple[bool, bool, bool, bool]:
        return (e.id in doubled, e.db == "postgres", e.version.major >= 3, e.version.release[:2] < (2, 6))

    return sorted(matrix.entries, key=cost, reverse=True)
