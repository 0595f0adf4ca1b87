"""The mutation report: score per file and per entry, and every mutant the suite did not kill, as a diff.

Score = killed / (all - equivalent). A timeout counts as killed (the mutant made a check hang, and the check
failed). The runs mutate only lines a selected test runs on the entry (mutmut's ``mutate_only_covered_lines``), so
a mutant has one of three places:

* reached on this entry: mutmut's verdict ("no tests" when the line runs but no test reaches the function's body
  in mutmut's own tracing counts as not killed; "not checked", an interrupted run, is left out and counted beside);
* "elsewhere": its line runs only on another entry of the run (a 2.x branch on a 3.x entry). It is left out of this
  entry's score, and counted, because the other entry tests it;
* "not reached": no selected test runs its line on any entry of the run. It counts as not killed everywhere,
  and the report lists those lines: a test gap, or code only the left-out tests (tests/e2e) or other releases run.

Equivalent mutants are survivors that the table ``tests/gate/equivalent_mutants.py`` explains (the mutant cannot
change behaviour), matched by function and changed text rather than by mutmut's numbering, which shifts whenever
a function is edited. Mutants are the same across entries by ``identity`` (function, line, n-th on the line).
"""

from __future__ import annotations

import dataclasses
import runpy
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: mutmut statuses that count as killed. "caught by type check": `nox -s lint`'s mypy rejects the mutant, and the
#: test command runs lint, so CI fails on it as on a failing test.
KILLED = frozenset({"killed", "timeout", "segfault", "caught by type check"})
#: A mutant whose line runs only on another entry of the run: that entry's to kill.
ELSEWHERE = "elsewhere"
#: A mutant whose line no selected test runs on any entry of the run.
NOT_REACHED = "not reached"
#: The statuses left out of a score (and counted beside it).
UNSCORED = frozenset({ELSEWHERE, "not checked"})
#: The table of equivalent mutants, read by path (tests/ is no package of tools/).
EQUIVALENTS = Path("tests") / "gate" / "equivalent_mutants.py"
_SEPARATOR = "ǁ"  # mutmut's class separator in function names: xǁClassǁmethod


@dataclasses.dataclass(frozen=True)
class Equivalent:
    """One row of the table: a survivor of ``function`` whose changed lines read ``before`` -> ``after``."""

    function: str
    before: str
    after: str
    why: str


@dataclasses.dataclass(frozen=True)
class SeenOnlyOn:
    """A function whose effect only entries with ``word`` in their id can observe (``pd3``: pandas 3 entries)."""

    function: str
    word: str
    why: str


@dataclasses.dataclass(frozen=True)
class Mutant:
    """One mutant on one entry."""

    name: str
    #: The file in the repository (compat/xcom_compat.py, backend/xcom_s3/...).
    file: str
    status: str
    #: The changed lines, ``-`` then ``+``; empty for killed mutants.
    diff: str = ""
    line: int | None = None
    #: The equivalence table's reason, when a row matches.
    equivalent: str | None = None
    #: ``(function, line, n)``: the n-th mutant on the line; the same mutant on every entry (tools/mutmut_launch.py).
    identity: tuple[str, int | None, int] | None = None

    @property
    def function(self) -> str:
        """mutmut's name of the mutated function: ``xcom_s3.backend.xǁS3XComBackendǁoffload``."""
        return self.name.partition("__mutmut_")[0]

    @property
    def readable(self) -> str:
        """``S3XComBackend.offload`` / ``object_key``."""
        return _qualname(self.function)

    @property
    def killed(self) -> bool:
        return self.status in KILLED

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def changed(self) -> tuple[str, str]:
        """The removed and the added lines, each stripped and joined: what a table row matches."""
        lines = self.diff.splitlines()
        return (
            "\n".join(x[1:].strip() for x in lines if x.startswith("-")),
            "\n".join(x[1:].strip() for x in lines if x.startswith("+")),
        )


def _qualname(function: str) -> str:
    last = function.rpartition(".")[2]
    if last.startswith("x" + _SEPARATOR):
        _, cls, name = last.split(_SEPARATOR)
        return f"{cls}.{name}"
    return last.removeprefix("x_")


def changed_lines(unified: str) -> str:
    """Only the ``-``/``+`` lines of mutmut's function-level unified diff (the location is given apart)."""
    keep = [x for x in unified.splitlines() if x[:1] in "-+" and not x.startswith(("---", "+++"))]
    return "\n".join(keep)


def _table_rows(root: Path, name: str) -> Iterable[Any]:
    """The list ``name`` of the table's file; a missing file or list is an empty one."""
    path = root / EQUIVALENTS
    rows: Iterable[Any] = runpy.run_path(str(path)).get(name, []) if path.is_file() else []
    return rows


def load_equivalents(root: Path) -> list[Equivalent]:
    """The table's rows."""
    return [Equivalent(r.function, r.before, r.after, r.why) for r in _table_rows(root, "EQUIVALENT")]


def load_seen_only_on(root: Path) -> list[SeenOnlyOn]:
    """The table's functions whose effect only some entries can observe."""
    return [SeenOnlyOn(r.function, r.word, r.why) for r in _table_rows(root, "SEEN_ONLY_ON")]


def place_seen_only_on(runs: dict[str, list[Mutant]], rows: list[SeenOnlyOn]) -> dict[str, list[Mutant]]:
    """A survivor of a row's function on an entry that cannot observe its effect goes "elsewhere" when an entry of
    the run can (``word`` among the words of its id): that entry scores it. Without such an entry it stays."""
    words = {entry: set(entry.split("-")) for entry in runs}
    placed = {}
    for entry, mutants in runs.items():
        blind = {r.function for r in rows if r.word not in words[entry] and any(r.word in w for w in words.values())}
        placed[entry] = [
            dataclasses.replace(m, status=ELSEWHERE) if m.function in blind and not m.killed else m for m in mutants
        ]
    return placed


def place_unreached(
    runs: dict[str, list[Mutant]], unreached: dict[str, list[tuple[str, str, int | None, int]]]
) -> dict[str, list[Mutant]]:
    """Each entry's mutants plus those its coverage left out (``(file, function, line, n)``): "elsewhere" when
    another entry of the run reached the same mutant, else "not reached"."""
    reached = {(m.file, m.identity) for mutants in runs.values() for m in mutants if m.identity}
    placed = {}
    for entry, mutants in runs.items():
        extra = []
        for file, function, line, n in unreached.get(entry, []):
            identity = (function, line, n)
            status = ELSEWHERE if (file, identity) in reached else NOT_REACHED
            extra.append(Mutant(f"{function}__mutmut_line{line}_{n}", file, status, line=line, identity=identity))
        placed[entry] = [*mutants, *extra]
    return placed


def mark_equivalents(mutants: list[Mutant], table: list[Equivalent]) -> list[Mutant]:
    """Each survivor a row of the table explains, with that row's reason."""
    reasons = {(row.function, row.before, row.after): row.why for row in table}
    return [
        m if m.killed else dataclasses.replace(m, equivalent=reasons.get((m.function, *m.changed()))) for m in mutants
    ]


#: The verdicts a change of tests/ can turn (mutmut's names); a change of the sources only "no tests".
RETESTED = frozenset({"survived", "no tests", "suspicious"})


def to_retest(
    mutants: list[Mutant],
    changed: set[str],
    table: list[Equivalent],
    entry: str = "",
    seen_only_on: Iterable[SeenOnlyOn] = (),
) -> list[str]:
    """The mutants of ``entry`` whose verdict what ``changed`` ("sources", "tests") could turn, to re-test before
    any untested one. Never a survivor this entry cannot kill: one a row of the equivalence table explains (the
    row claims no test can), or one of a function only other entries observe (``seen_only_on``). Re-testing
    either would cost every test of its function each time (``--fresh`` re-tests everything)."""
    if not changed:
        return []
    retested = RETESTED if "tests" in changed else {"no tests"}
    explained = {m.name for m in mark_equivalents(mutants, table) if m.equivalent}
    blind = {row.function for row in seen_only_on if row.word not in entry.split("-")}
    return [
        m.name
        for m in mutants
        if m.status in retested and (m.status == "no tests" or (m.name not in explained and m.function not in blind))
    ]


def unused_rows(table: list[Equivalent], runs: dict[str, list[Mutant]]) -> list[Equivalent]:
    """Rows no survivor of any entry matches any more (the code changed, or a test now kills the mutant); rows of
    modules the run left out (``--skip``), and of functions with mutants not yet tested (a run stopped part-way,
    or one that regenerated the function), are not judged."""
    used = {(m.function, *m.changed()) for mutants in runs.values() for m in mutants if m.equivalent}
    modules = {m.function.rpartition(".")[0] for mutants in runs.values() for m in mutants}
    untested = {m.function for mutants in runs.values() for m in mutants if m.status == "not checked"}
    return [
        row
        for row in table
        if row.function.rpartition(".")[0] in modules
        and row.function not in untested
        and (row.function, row.before, row.after) not in used
    ]


@dataclasses.dataclass(frozen=True)
class Score:
    counts: Counter[str]
    equivalent: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def killed(self) -> int:
        return sum(n for status, n in self.counts.items() if status in KILLED)

    @property
    def counted(self) -> int:
        """The denominator: every mutant tested (an interrupted run leaves some "not checked") or reached by no test,
        less the equivalent, and less those only another entry reaches."""
        return self.total - self.equivalent - sum(self.counts[status] for status in UNSCORED)

    @property
    def percent(self) -> float:
        return 100.0 * self.killed / self.counted if self.counted else 100.0

    def cell(self) -> str:
        notes = [f"{self.counts[ELSEWHERE]} elsewhere"] if self.counts[ELSEWHERE] else []
        notes += [f"{self.counts['not checked']} not yet tested"] if self.counts["not checked"] else []
        return f"{self.percent:.1f}% ({self.killed}/{self.counted})" + "".join(f", {note}" for note in notes)


def score(mutants: Iterable[Mutant]) -> Score:
    chosen = list(mutants)
    # A mutant scored elsewhere or not yet tested leaves the denominator as such, equivalent or not: once.
    return Score(Counter(m.status for m in chosen), sum(1 for m in chosen if m.equivalent and m.status not in UNSCORED))


def either(runs: dict[str, list[Mutant]]) -> list[Mutant]:
    """One mutant per identity: killed if any entry killed it (each entry runs code the other never does); a
    mutant some entry reached counts as reached, "not reached" only when none did."""
    rank = {**dict.fromkeys(KILLED, 0), ELSEWHERE: 3, NOT_REACHED: 2}
    best: dict[tuple[str, Any], Mutant] = {}
    for mutants in runs.values():
        for m in mutants:
            key = (m.file, m.identity or m.name)
            held = best.get(key)
            if held is None or rank.get(m.status, 1) < rank.get(held.status, 1):
                best[key] = m
    return list(best.values())


def render(runs: dict[str, list[Mutant]], table: list[Equivalent], header: str) -> str:
    """reports/mutants.md."""
    entries = list(runs)
    files = sorted({m.file for mutants in runs.values() for m in mutants})
    columns = [*entries, "either entry"] if len(entries) > 1 else entries
    view = {**runs, "either entry": either(runs)} if len(entries) > 1 else runs
    out = [
        f"# Mutation score\n\n{header}\n",
        "| file | " + " | ".join(columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for file in [*files, None]:
        cells = [score(m for m in view[c] if file is None or m.file == file).cell() for c in columns]
        out.append(f"| {file or '**all**'} | " + " | ".join(cells) + " |")
    statuses = [
        "killed",
        "caught by type check",
        "timeout",
        "survived",
        "no tests",
        NOT_REACHED,
        "suspicious",
        "not checked",
        ELSEWHERE,
    ]
    out += ["", "| entry | mutants | " + " | ".join(statuses) + " | equivalent | score |", "|---" * 13 + "|"]
    for entry in entries:
        s = score(runs[entry])
        counted = " | ".join(str(s.counts[status]) for status in statuses)
        out.append(f"| {entry} | {s.total} | {counted} | {s.equivalent} | {s.percent:.1f}% |")
    for entry in entries:
        out += _not_killed(entry, runs[entry])
    stale = unused_rows(table, runs)
    if stale:
        out += ["", f"## Rows of {EQUIVALENTS} that match no survivor (remove them)", ""]
        out += [f"- `{row.function}`: `{row.before}` -> `{row.after}`" for row in stale]
    return "\n".join(out) + "\n"


def _not_killed(entry: str, mutants: list[Mutant]) -> list[str]:
    left = sorted(_not_killed_of(mutants), key=_order)
    out = ["", f"## {entry}: {len(left)} not killed", ""]
    for m in left:
        if m.diff:
            out += [f"`{m.where}` {m.readable} ({m.status}, `{m.name}`)", "```diff", m.diff, "```", ""]
    for status, what in (
        ("no tests", "No selected test reaches"),
        (NOT_REACHED, "No selected test runs these lines on any entry of the run"),
        ("not checked", "Not tested yet (rerun)"),
    ):
        functions = _by_function(m for m in left if m.status == status)
        if functions:
            out += [f"{what}:", ""]
            out += [f"- `{ms[0].file}` {ms[0].readable}: {_lines(ms)}" for ms in functions]
            out.append("")
    equivalent = [m for m in mutants if m.equivalent]
    if equivalent:
        out += [f"Equivalent ({len(equivalent)}, {EQUIVALENTS}):", ""]
        out += [f"- `{m.where}` {m.readable}: {m.equivalent}" for m in sorted(equivalent, key=_order)]
    return out


def _lines(mutants: list[Mutant]) -> str:
    """``3 mutants on lines 12, 14``."""
    lines = sorted({m.line for m in mutants if m.line})
    where = f" on line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))}" if lines else ""
    return f"{len(mutants)} mutant{'s' if len(mutants) > 1 else ''}{where}"


def _by_function(mutants: Iterable[Mutant]) -> list[list[Mutant]]:
    grouped: dict[str, list[Mutant]] = {}
    for m in mutants:
        grouped.setdefault(m.function, []).append(m)
    return sorted(grouped.values(), key=lambda ms: _order(ms[0]))


def _not_killed_of(mutants: Iterable[Mutant]) -> Iterable[Mutant]:
    return (m for m in mutants if not m.killed and not m.equivalent and m.status != ELSEWHERE)


def _order(m: Mutant) -> tuple[str, int, str]:
    return m.file, m.line or 0, m.name


def summary(runs: dict[str, list[Mutant]]) -> str:
    """What the session prints: the score per entry, each survivor on a line, the unreached functions counted."""
    lines = []
    for entry, mutants in runs.items():
        left = sorted(_not_killed_of(mutants), key=_order)
        counts = Counter(m.status for m in left)
        detail = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        lines.append(f"{entry}: {score(mutants).cell()} killed" + (f"; not killed: {detail}" if detail else ""))
        for m in left:
            if m.diff:
                before, after = m.changed()
                lines.append(f"  {m.status:<10} {m.where} {m.readable}: {before!r} -> {after!r}")
        for ms in _by_function(m for m in left if not m.diff):
            lines.append(f"  {ms[0].status:<10} {ms[0].file} {ms[0].readable}: {_lines(ms)}")
    return "\n".join(lines)
