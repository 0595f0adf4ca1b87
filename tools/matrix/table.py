"""The compatibility table: release x check group -> pass / FAIL / not reached / n/a / skip, install and test time.

``write_reports`` writes it with the findings section (tools/matrix/findings.py) under it to reports/, and the
time per phase and check group beside it (tools/matrix/timings.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from tools.matrix import findings, markdown, timings
from tools.matrix.junit import Group
from tools.matrix.results import EntryResult

#: n/a reasons tests/conftest.py (and tests/harness/) give for whole kinds of checks: listed once under the table,
#: no footnote in the cell. Any other n/a reason gets a footnote like a skip's.
STANDARD_NA = ("applies to xcom_s3 only", "runs xcom_s3", "runs the reference backends", "tests the harness")

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


def _is_standard(reason: str) -> bool:
    return reason.startswith(STANDARD_NA)


def _na_marks(group: Group, notes: _Footnotes) -> str:
    return notes.mark([r for r in group.na_reasons if not _is_standard(r)])


def _cell(group: Group | None, notes: _Footnotes) -> str:
    """``FAIL f/n``, ``not reached k/n``, ``n/a``, ``skip[k]`` or ``pass``, with what else the group held."""
    if group is None:
        return "-"
    status = group.status
    if status == "fail":
        return f"FAIL {group.failed}/{group.total}"
    if status == "not reached":
        return f"not reached {group.not_reached}/{group.total}" + notes.mark(group.not_reached_reasons)
    if status == "n/a":
        return "n/a" + _na_marks(group, notes)
    extra = []
    if group.na:
        extra.append(f"{group.na} n/a{_na_marks(group, notes)}")
    if status == "skip":
        return ", ".join([f"skip{notes.mark(group.skip_reasons)}", *extra])
    if group.skipped:
        extra.append(f"{group.skipped} skip{notes.mark(group.skip_reasons)}")
    return ", ".join(["pass", *extra])


def _standard_na(results: Sequence[EntryResult]) -> list[str]:
    """``- <reason> — <groups>``, once per standard n/a reason seen."""
    groups_by_reason: dict[str, list[str]] = {}
    for result in results:
        for group in result.groups:
            for reason in group.na_reasons:
                if _is_standard(reason) and group.name not in groups_by_reason.setdefault(reason, []):
                    groups_by_reason[reason].append(group.name)
    return [f"- {reason} — {', '.join(sorted(names))}" for reason, names in groups_by_reason.items()]


def _backends(results: Sequence[EntryResult]) -> list[str]:
    return list(dict.fromkeys(findings.backend_of(r) for r in results if r.status != "skip"))


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
    results: Sequence[EntryResult],
    title: str = "Compatibility matrix",
    wall_seconds: float | None = None,
    see_also: str = "",
) -> str:
    """A Markdown table, padded so it also reads well in a terminal; ``wall_seconds``: the run's, if known;
    ``see_also``: appended to the summary line (where the timings are)."""
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
    backends = [b for b in _backends(results) if b != findings.DEFAULT_BACKEND]
    if backends:
        title += f" — backend {', '.join(backends)}"
    out = [f"## {title}", "", *markdown.table(header, rows)]
    out.append("")
    out += [f"[{i}] {reason}" for i, reason in enumerate(notes.reasons, 1)]
    if standard := _standard_na(results):
        out += ["", f"n/a = the check cannot apply to {' / '.join(backends) or 'the selected backend'}:", *standard]
    if section := findings.render(results):
        out += ["", section.rstrip("\n")]
    failing = [(r, g) for r in results for g in r.groups if g.status == "fail"]
    if failing:
        out += ["", "### Failures (first few per group; the JUnit XML in reports/ has all)", ""]
        for result, group in failing:
            out += [f"- {result.id} {group.name}: {findings.markdown_safe(f)}" for f in group.failures]
    out += ["", summary(results, wall_seconds) + see_also]
    return "\n".join(out) + "\n"


def write_reports(results: Sequence[EntryResult], reports_dir: Path, wall_seconds: float | None = None) -> str:
    """matrix.md (the table and the findings), findings.md, findings.json and timings.md; returns matrix.md's text."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    rendered = render(results, wall_seconds=wall_seconds, see_also=" (seconds per phase and check group: timings.md)")
    (reports_dir / "matrix.md").write_text(rendered)
    (reports_dir / "timings.md").write_text(timings.render(results))
    section = findings.render(results)
    backends = ", ".join(_backends(results)) or findings.DEFAULT_BACKEND
    (reports_dir / "findings.md").write_text(section or f"### Findings for {backends}\n\nNone.\n")
    (reports_dir / "findings.json").write_text(json.dumps(findings.as_json(results), indent=2) + "\n")
    return rendered


def summary(results: Sequence[EntryResult], wall_seconds: float | None = None) -> str:
    """One line: how many stable entries are green, the time spent, the gate's verdict."""
    stable = [r for r in results if r.channel == "stable" and r.status != "skip"]
    gating = [_why_gating(r) for r in results if r.gates]
    total_install = sum(r.install_seconds or 0 for r in results)
    total_tests = sum(r.test_seconds or 0 for r in results)
    verdict = "GATE FAILED: " + ", ".join(gating) if gating else "gate passed"
    # Under `nox -j` entries overlap, so the wall time is less than the sum.
    wall = "" if wall_seconds is None else f", {wall_seconds:.0f} s wall"
    return (
        f"{len(stable) - len(gating)}/{len(stable)} stable entries green; {_checks(results)}"
        f"install {total_install:.0f} s, tests {total_tests:.0f} s in total{wall}; {verdict}"
    )


def _why_gating(result: EntryResult) -> str:
    """``af2.7.3-py3.11-pd2 (install-failed: …)``: the entry, and why it failed, so a log's last line says it."""
    failed = [g.name for g in result.groups if g.status == "fail"]
    if result.status == "fail" and failed:
        more = ", …" if len(failed) > 3 else ""
        return f"{result.id} ({len(failed)} check group(s) failed: {', '.join(failed[:3])}{more})"
    reason = f": {result.reason}" if result.reason else ""
    return f"{result.id} ({result.status}{reason[:300]})"


def _checks(results: Sequence[EntryResult]) -> str:
    """``checks: 412 passed, 31 failed, 96 n/a for this backend, 18 not reached, 4 skipped; `` (zeros left out)."""
    count = {
        "passed": sum(g.passed for r in results for g in r.groups),
        "failed": sum(g.failed for r in results for g in r.groups),
        "n/a for this backend": sum(g.na for r in results for g in r.groups),
        "not reached": sum(g.not_reached for r in results for g in r.groups),
        "skipped": sum(g.skipped for r in results for g in r.groups),
    }
    said = [f"{n} {what}" for what, n in count.items() if n]
    return f"checks: {', '.join(said)}; " if said else ""
