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

from tools.matrix.entries import Entry, Matrix

#: The interpreters of the two Airflow venvs a rehearsal runs (set by tools/matrix/run_entry.py).
FROM_VAR, TO_VAR = "XCOM_S3_UPGRADE_FROM_PYTHON", "XCOM_S3_UPGRADE_TO_PYTHON"
#: The matrix entry the suite runs in (set by tools/matrix/run_entry.py; unset outside the matrix).
ENTRY_VAR = "XCOM_S3_MATRIX_ENTRY"
#: The skip prefix the report counts as "cannot apply" (tools/matrix/junit.py).
NA = "n/a: "


def sources(matrix: Matrix) -> dict[str, Entry]:
    """Target entry id -> the entry whose release it upgrades from, for every rehearsal the matrix runs."""
    source = matrix.newest(2)
    minors = sorted({(e.version.major, e.version.minor) for e in matrix.runnable if e.version.major >= 3})
    return {_closest(matrix, minor, source).id: source for minor in minors}


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
