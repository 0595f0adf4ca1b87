"""The compatibility table: release x check group -> pass / FAIL / skip (reason), install and test time."""

from __future__ import annotations

from collections.abc import Sequence

from tools.matrix.junit import Group
from tools.matrix.results import EntryResult

_RESULT = {
    "pass": "pass",
    "fail": "FAIL",
    "no-tests": "FAIL: no tests collected",
    "install-failed": "FAIL: install",
    "error": "FAIL: pytest error",
    "skip": "skip",
}


class _Footnotes:
    """Skip reasons are long; cells carry a number, the reasons follow the table."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    def mark(self, reasons: Sequence[str]) -> str:
        marks = []
        for reason in reasons:
            if reason not in self.reasons:
                self.reasons.append(reason)
            marks.append(f"[{self.reasons.index(reason) + 1}]")
        return "".join(marks)


def _cell(group: Group | None, notes: _Footnotes) -> str:
    if group is None:
        return "-"
    if group.status == "fail":
        return f"FAIL {group.failed}/{group.passed + group.failed + group.skipped}"
    if group.status == "skip":
        return f"skip{notes.mark(group.skip_reasons)}"
    if group.skipped:
        return f"pass, {group.skipped} skip{notes.mark(group.skip_reasons)}"
    return "pass"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _result(result: EntryResult, notes: _Footnotes) -> str:
    text = _RESULT.get(result.status, result.status)
    if result.status == "skip":
        return f"skip{notes.mark([result.reason or 'no reason given'])}"
    if result.status == "error" and result.reason:
        text = f"FAIL: {result.reason}"
    elif result.status == "install-failed" and result.reason:
        text += notes.mark([result.reason])
    if result.channel == "pre" and result.status != "pass":
        text += " (pre: not gating)"
    return text


def render(
    results: Sequence[EntryResult], title: str = "Compatibility matrix", wall_seconds: float | None = None
) -> str:
    """A Markdown table, padded so it also reads well in a terminal; ``wall_seconds``: the run's, if known."""
    groups: list[str] = []
    for result in results:
        for group in result.groups:
            if group.name not in groups:
                groups.append(group.name)
    groups.sort()
    notes = _Footnotes()
    header = ["entry", "channel", "db", "result", "install s", "tests s", *groups]
    rows = []
    for result in results:
        by_name = {g.name: g for g in result.groups}
        rows.append(
            [
                result.id,
                result.channel,
                result.db,
                _result(result, notes),
                _seconds(result.install_seconds),
                _seconds(result.test_seconds),
                *(_cell(by_name.get(name), notes) if result.status != "skip" else "" for name in groups),
            ]
        )
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [f"## {title}", "", line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(row) for row in rows]
    out.append("")
    out += [f"[{i}] {reason}" for i, reason in enumerate(notes.reasons, 1)]
    failing = [(r, g) for r in results for g in r.groups if g.status == "fail"]
    if failing:
        out += ["", "### Failures (first few per group; the JUnit XML in reports/ has all)", ""]
        for result, group in failing:
            out += [f"- {result.id} {group.name}: {failure}" for failure in group.failures]
    out += ["", summary(results, wall_seconds)]
    return "\n".join(out) + "\n"


def summary(results: Sequence[EntryResult], wall_seconds: float | None = None) -> str:
    """One line: how many stable entries are green, the time spent, the gate's verdict."""
    stable = [r for r in results if r.channel == "stable" and r.status != "skip"]
    gating = [r.id for r in results if r.gates]
    total_install = sum(r.install_seconds or 0 for r in results)
    total_tests = sum(r.test_seconds or 0 for r in results)
    verdict = "GATE FAILED: " + ", ".join(gating) if gating else "gate passed"
    # Under `nox -j` entries overlap, so the wall time is less than the sum.
    wall = "" if wall_seconds is None else f", {wall_seconds:.0f} s wall"
    return (
        f"{len(stable) - len(gating)}/{len(stable)} stable entries green; "
        f"install {total_install:.0f} s, tests {total_tests:.0f} s in total{wall}; {verdict}"
    )
