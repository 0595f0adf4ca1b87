"""Which entries rehearse the upgrade (matrix.yaml's rule) and what a run without the interpreters means: a declared
n/a, or a failure naming what matrix.yaml declared and the harness did not wire (tools/matrix/rehearsals.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.matrix import entries, rehearsals
from tools.matrix.rehearsals import FROM_VAR, TO_VAR

MATRIX = entries.load(Path(__file__).resolve().parents[2] / "matrix.yaml")
SOURCE = MATRIX.newest(2).id
#: A 3.x entry the rule names (the source's Python and pandas) and one it does not.
TARGET, OTHER = "af3.3.2-py3.12-pd3", "af3.3.2-py3.12-pd2"


def test_one_rehearsal_per_3x_minor_from_the_newest_2x_entry() -> None:
    chosen = rehearsals.sources(MATRIX)
    minors = {(e.version.major, e.version.minor) for e in MATRIX.runnable if e.version.major >= 3}
    assert {(e.version.major, e.version.minor) for e in MATRIX.entries if e.id in chosen} == minors
    assert {source.id for source in chosen.values()} == {SOURCE}
    source = MATRIX.newest(2)
    for target in chosen:
        entry = next(e for e in MATRIX.entries if e.id == target)
        assert (entry.python, entry.pandas) == (source.python, source.pandas), target  # true of today's matrix
    assert TARGET in chosen and OTHER not in chosen


def test_a_declared_rehearsal_without_interpreters_fails_naming_both_entries() -> None:
    decision = rehearsals.decide(MATRIX, TARGET, None, None)
    assert decision.outcome == "fail"
    assert f"{SOURCE} -> {TARGET}" in decision.reason and FROM_VAR in decision.reason and TO_VAR in decision.reason


@pytest.mark.parametrize(
    ("entry", "interpreters", "outcome", "named"),
    [
        (TARGET, ("/a/python", "/b/python"), "run", ""),
        (None, ("/a/python", "/b/python"), "run", ""),  # `nox -s upgrade`-style, outside the matrix
        (OTHER, (None, None), "n/a", TARGET),  # the reason lists where rehearsals do run
        (None, (None, None), "n/a", "not a matrix run"),
        (TARGET, ("/a/python", None), "fail", TO_VAR),
        (None, (None, "/b/python"), "fail", FROM_VAR),
        ("af9.9.9-py3.12-pd3", (None, None), "fail", "no matrix.yaml entry"),
    ],
)
def test_only_a_declared_condition_skips(
    entry: str | None, interpreters: tuple[str | None, str | None], outcome: str, named: str
) -> None:
    decision = rehearsals.decide(MATRIX, entry, *interpreters)
    assert decision.outcome == outcome
    assert named in decision.reason


def test_the_pandas_pair_is_the_newest_release_with_both_pandas_on_one_python() -> None:
    (target, source), *more = rehearsals.pandas_sources(MATRIX).items()
    assert not more
    new = next(e for e in MATRIX.entries if e.id == target)
    assert (new.airflow, new.python, new.pandas, source.pandas) == (source.airflow, source.python, 3, 2)
    paired = [e for e in MATRIX.runnable if e.pandas == 2 and e.channel == "stable"]
    assert all(
        e.sort_key <= source.sort_key
        for e in paired
        if any(o.pandas == 3 and (o.airflow, o.python) == (e.airflow, e.python) for o in MATRIX.runnable)
    )


@pytest.mark.parametrize(
    ("kind", "env", "outcome", "named"),
    [
        ("pandas", {rehearsals.ENTRY_VAR: TARGET, rehearsals.PANDAS_FROM_VAR: "/a/python"}, "run", ""),
        ("pandas", {rehearsals.ENTRY_VAR: TARGET}, "fail", rehearsals.PANDAS_FROM_VAR),
        ("pandas", {rehearsals.ENTRY_VAR: OTHER}, "n/a", "not here"),
        ("upgrade", {rehearsals.ENTRY_VAR: TARGET}, "fail", FROM_VAR),
        ("upgrade", {}, "n/a", "not a matrix run"),
    ],
)
def test_a_writer_in_another_venv_is_run_declared_na_or_a_wiring_failure(
    kind: str, env: dict[str, str], outcome: str, named: str
) -> None:
    decision = rehearsals.decide_writer(MATRIX, kind, env)
    assert (decision.outcome, decision.python) == (outcome, "/a/python" if outcome == "run" else "")
    assert named in decision.reason


def test_sessions_start_longest_first_and_none_is_lost() -> None:
    ordered = rehearsals.longest_first(MATRIX)
    assert sorted(e.id for e in ordered) == sorted(e.id for e in MATRIX.entries)
    doubled = set(rehearsals.sources(MATRIX)) | set(rehearsals.pandas_sources(MATRIX))
    assert {e.id for e in ordered[: len(doubled)]} == doubled
    sqlite_2x = [i for i, e in enumerate(ordered) if e.version.major == 2 and e.db == "sqlite"]
    assert min(sqlite_2x) > max(i for i, e in enumerate(ordered) if e.db == "postgres")
