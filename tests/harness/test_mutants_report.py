"""The mutation report's arithmetic (tools/mutants_report.py), on fabricated mutants: which mutants a score counts,
where a mutant only the other entry reaches goes, and how two entries combine. Stdlib and pytest only."""

from __future__ import annotations

from tools import mutants_report as report
from tools.mutants_report import ELSEWHERE, NOT_REACHED, Equivalent, Mutant, SeenOnlyOn

FILE = "backend/xcom_s3/keys.py"
FUNCTION = "xcom_s3.keys.x_object_key"


def mutant(n: int, status: str, line: int = 10, diff: str = "") -> Mutant:
    return Mutant(f"{FUNCTION}__mutmut_{n}", FILE, status, diff, line=line, identity=(FUNCTION, line, n))


def test_a_mutant_only_the_other_entry_reaches_is_left_out_there_and_one_no_entry_reaches_counts_as_not_killed():
    runs = {"2.x": [mutant(1, "killed", line=10)], "3.x": [mutant(2, "survived", line=20)]}
    unreached: dict[str, list[tuple[str, str, int | None, int]]] = {
        "2.x": [(FILE, FUNCTION, 20, 2), (FILE, FUNCTION, 30, 3)],
        "3.x": [(FILE, FUNCTION, 10, 1)],
    }
    placed = report.place_unreached(runs, unreached)
    statuses = {entry: sorted(m.status for m in mutants) for entry, mutants in placed.items()}
    assert statuses == {"2.x": sorted(["killed", ELSEWHERE, NOT_REACHED]), "3.x": [ELSEWHERE, "survived"]}
    # 2.x: 1 killed of (killed + not reached); the one 3.x reaches is 3.x's to kill.
    assert (report.score(placed["2.x"]).killed, report.score(placed["2.x"]).counted) == (1, 2)
    assert (report.score(placed["3.x"]).killed, report.score(placed["3.x"]).counted) == (0, 1)
    assert report.score(placed["2.x"]).cell() == "50.0% (1/2), 1 elsewhere"


def test_either_entry_counts_a_mutant_once_and_killed_when_any_entry_killed_it():
    runs = {
        "2.x": [mutant(1, "killed"), mutant(2, "survived", line=11), mutant(3, ELSEWHERE, line=12)],
        "3.x": [mutant(1, "survived"), mutant(2, "survived", line=11), mutant(3, "killed", line=12)],
    }
    combined = sorted((m.identity, m.status) for m in report.either(runs))
    assert combined == [
        ((FUNCTION, 10, 1), "killed"),
        ((FUNCTION, 11, 2), "survived"),
        ((FUNCTION, 12, 3), "killed"),
    ]


def test_equivalent_survivors_and_unfinished_runs_leave_the_denominator():
    diff = "-    return a + b\n+    return b + a"
    mutants = [mutant(1, "survived", diff=diff), mutant(2, "not checked"), mutant(3, "killed"), mutant(4, "timeout")]
    table = [Equivalent(FUNCTION, "return a + b", "return b + a", "addition of numbers commutes")]
    marked = report.mark_equivalents(mutants, table)
    assert [m.equivalent for m in marked] == ["addition of numbers commutes", None, None, None]
    score = report.score(marked)
    assert (score.killed, score.counted, score.percent) == (2, 2, 100.0)
    assert report.unused_rows(table, {"e": marked}) == []
    assert report.unused_rows(table, {"e": mutants[2:]}) == table
    assert report.unused_rows(table, {"e": mutants[1:]}) == [], "judged a row while its function waits for a test"


def test_an_equivalent_mutant_scored_elsewhere_leaves_the_denominator_once():
    """A survivor both placed elsewhere and matched by an equivalence row (a SEEN_ONLY_ON function's, on the entry
    that cannot observe it) was taken out twice: 54 killed of 49 counted, 110%."""
    diff = "-    return a + b\n+    return b + a"
    table = [Equivalent(FUNCTION, "return a + b", "return b + a", "addition of numbers commutes")]
    mutants = [mutant(1, ELSEWHERE, diff=diff), mutant(2, "killed"), mutant(3, "survived")]
    score = report.score(report.mark_equivalents(mutants, table))
    assert (score.killed, score.counted, score.percent) == (1, 2, 50.0)


def test_a_survivor_only_some_entries_can_observe_is_scored_there():
    rows = [report.SeenOnlyOn(FUNCTION, "pd3", "pandas 3 only")]
    runs = {
        "af3.3.2-py3.12-pd2": [mutant(1, "survived"), mutant(2, "killed", line=11)],
        "af2.10.5-py3.11-pd3": [mutant(1, "killed"), mutant(2, "killed", line=11)],
    }
    placed = report.place_seen_only_on(runs, rows)
    assert [m.status for m in placed["af3.3.2-py3.12-pd2"]] == [ELSEWHERE, "killed"]
    assert placed["af2.10.5-py3.11-pd3"] == runs["af2.10.5-py3.11-pd3"]
    # Without an entry that can observe it, the survivor stays one.
    alone = {"af3.3.2-py3.12-pd2": runs["af3.3.2-py3.12-pd2"]}
    assert report.place_seen_only_on(alone, rows) == alone


def test_a_rerun_retests_what_the_change_could_turn_but_no_row_of_the_table():
    """tests/ changed: survivors and "no tests" mutants are re-tested, killed ones and survivors a row explains are
    not. Only the sources changed: "no tests" alone. Nothing changed: nothing."""
    survivor = mutant(1, "survived", diff="-    return a\n+    return b")
    explained = mutant(2, "survived", line=11, diff="-    x = 1\n+    x = 2")
    untested_before = mutant(3, "no tests", line=12)
    mutants = [survivor, explained, untested_before, mutant(4, "killed", line=13), mutant(5, "suspicious", line=14)]
    table = [Equivalent(FUNCTION, "x = 1", "x = 2", "x is overwritten below")]
    assert report.to_retest(mutants, {"tests"}, table) == [survivor.name, untested_before.name, mutants[4].name]
    assert report.to_retest(mutants, {"sources", "tests"}, []) == [m.name for m in mutants if m.status != "killed"]
    assert report.to_retest(mutants, {"sources"}, table) == [untested_before.name]
    assert report.to_retest(mutants, set(), table) == []
    # A survivor of a function only pandas 3 entries observe is not re-tested on a pandas 2 entry; its "no tests"
    # mutants are (they have no verdict yet), and on a pandas 3 entry it is.
    rows = [SeenOnlyOn(FUNCTION, "pd3", "pandas 3 only")]
    assert report.to_retest(mutants, {"tests"}, table, "af3.3.2-py3.12-pd2", rows) == [untested_before.name]
    assert report.to_retest(mutants, {"tests"}, table, "af2.10.5-py3.11-pd3", rows) == report.to_retest(
        mutants, {"tests"}, table
    )
