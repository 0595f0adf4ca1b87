"""The diagnosis under the table: what the suite's findings plugin (tests/findings.py) saw, one line per root cause.

Each entry's pytest run writes ``{"backend": "mod.Class", "findings": [Finding, ...]}``; a Finding is
``{"check", "cause", "summary", "example", "fix", "severity"}`` and findings with the same ``cause`` share one
root cause. Across entries the same cause usually hits several releases: grouping them answers "what do I
change, and which Airflow versions need it" instead of repeating one TypeError per check and entry.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tools.matrix.results import EntryResult

#: The backend the suite runs unless told otherwise (tests/conftest.py's DEFAULT_BACKEND).
DEFAULT_BACKEND = "xcom_s3.S3XComBackend"
_FIELDS = ("check", "cause", "summary", "example", "fix", "severity")
#: Checks named per root cause (the count says how many there are).
_NAMED_CHECKS = 3
#: Entries an entry-less result cannot have findings for: nothing ran.
_DID_NOT_RUN = {"skip", "install-failed"}


def markdown_safe(text: str) -> str:
    """Code spans around what Markdown would eat (``<DataFrame 3x2>`` as an HTML tag, ``*`` as emphasis).

    A terminal shows the backticks as they are, which reads as well; text that already has backticks is left alone.
    """
    if "`" in text:
        return text
    text = re.sub(r"<[^<>`]*>", lambda m: f"`{m.group(0)}`", text)
    return re.sub(r"(?<![`\w])(\S*\*\S*)", lambda m: f"`{m.group(1)}`", text)


def read_entry_findings(path: Path) -> tuple[str | None, list[dict[str, Any]]]:
    """(backend, findings) from the plugin's file; (None, []) when it is missing or unreadable (no plugin ran)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None, []
    if not isinstance(data, dict):
        return None, []
    backend = data.get("backend")
    raw = data.get("findings")
    findings = [_normalized(f) for f in raw if isinstance(f, dict)] if isinstance(raw, list) else []
    return (backend if isinstance(backend, str) and backend else None), findings


def _normalized(finding: dict[str, Any]) -> dict[str, str]:
    """Every field a string; a finding without a cause is its own cause (its summary)."""
    out = {name: str(finding.get(name) or "").strip() for name in _FIELDS}
    out["cause"] = out["cause"] or out["summary"] or out["check"]
    out["severity"] = "warning" if out["severity"] == "warning" else "error"
    return out


def backend_of(result: EntryResult) -> str:
    return result.backend or DEFAULT_BACKEND


@dataclasses.dataclass
class RootCause:
    """One cause across entries: where it hit, the shortest way to say it and to show it, what to change."""

    backend: str
    cause: str
    severity: str
    summary: str
    variants: bool
    entries: list[str]
    affects: str
    example: str
    fix: str
    checks: list[str]

    def line(self) -> str:
        """``- <summary> — <releases> — e.g. <example> — fix: <fix> (<n> checks: a, b, ...)``."""
        parts = [("warning: " if self.severity == "warning" else "") + markdown_safe(self.summary)]
        if self.variants:
            parts[0] += " (and variants)"
        parts.append(self.affects)
        if self.example:
            parts.append(f"e.g. `{self.example}`" if "`" not in self.example else f"e.g. {self.example}")
        if self.fix:
            parts.append(f"fix: {markdown_safe(self.fix)}")
        named = ", ".join(_short(check) for check in self.checks[:_NAMED_CHECKS])
        more = ", ..." if len(self.checks) > _NAMED_CHECKS else ""
        noun = "check" if len(self.checks) == 1 else "checks"
        return f"- {' — '.join(parts)} ({len(self.checks)} {noun}: {named}{more})"

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _short(check: str) -> str:
    """``properties/test_frames.py::test_round_trip`` -> ``test_frames.py::test_round_trip``."""
    path, sep, name = check.partition("::")
    return path.rsplit("/", 1)[-1] + sep + name


def _airflow(result: EntryResult) -> str:
    return str(result.entry.get("airflow") or result.id)


def affects(hit: Sequence[EntryResult], ran: Sequence[EntryResult]) -> str:
    """Where a cause hit, said briefly: "all selected entries", "every 3.x entry", or the Airflow versions.

    ``ran``: the entries of this backend whose suite ran. A version is named when all its entries were hit
    (e.g. pandas 2 and 3), else the entry ids themselves.
    """
    hit_ids = {r.id for r in hit}
    if len(ran) > 1 and hit_ids >= {r.id for r in ran}:
        return "all selected entries"
    majors: dict[str, list[EntryResult]] = {}
    for result in ran:
        majors.setdefault(_airflow(result).split(".")[0], []).append(result)
    whole, versions, ids = [], [], []
    for major, entries in majors.items():
        if len(entries) > 1 and all(r.id in hit_ids for r in entries):
            whole.append(f"every {major}.x entry")
            continue
        by_version: dict[str, list[EntryResult]] = {}
        for result in entries:
            by_version.setdefault(_airflow(result), []).append(result)
        for version, same in by_version.items():
            if all(r.id in hit_ids for r in same):
                versions.append(version)
            else:
                ids += [r.id for r in same if r.id in hit_ids]
    # Entries not among ``ran`` (a report without its suite) still count where they were hit.
    ids += [r.id for r in hit if r.id not in {e.id for e in ran}]
    return ", ".join([*whole, *([f"Airflow {', '.join(versions)}"] if versions else []), *ids])


def aggregate(results: Sequence[EntryResult]) -> list[RootCause]:
    """One RootCause per (backend, cause): errors before warnings, then the ones hitting most entries first."""
    by_cause: dict[tuple[str, str], list[tuple[EntryResult, dict[str, str]]]] = {}
    for result in results:
        for raw in result.findings:
            finding = _normalized(raw)
            by_cause.setdefault((backend_of(result), finding["cause"]), []).append((result, finding))
    causes = []
    for (backend, cause), seen in by_cause.items():
        ran = [r for r in results if backend_of(r) == backend and r.status not in _DID_NOT_RUN]
        hit = list({id(r): r for r, _ in seen}.values())
        summaries = sorted({f["summary"] for _, f in seen if f["summary"]}, key=lambda s: (len(s), s))
        # The smallest example and the summary of the same finding: the line says what failed for that input.
        shown = min((f for _, f in seen if f["example"]), key=lambda f: (len(f["example"]), f["example"]), default={})
        if shown.get("summary"):
            summaries.remove(shown["summary"])
            summaries.insert(0, shown["summary"])
        examples = [shown["example"]] if shown else []
        fixes = [f["fix"] for _, f in seen if f["fix"]]
        causes.append(
            RootCause(
                backend=backend,
                cause=cause,
                severity="error" if any(f["severity"] == "error" for _, f in seen) else "warning",
                summary=summaries[0] if summaries else cause,
                variants=len(summaries) > 1,
                entries=[r.id for r in hit],
                affects=affects(hit, ran),
                example=examples[0] if examples else "",
                fix=max(set(fixes), key=fixes.count) if fixes else "",
                checks=list(dict.fromkeys(f["check"] for _, f in seen if f["check"])),
            )
        )
    return sorted(causes, key=lambda c: (c.severity != "error", -len(c.entries), -len(c.checks), c.summary))


def render(results: Sequence[EntryResult]) -> str:
    """The Markdown section(s), one per backend with findings; ``""`` when there are none."""
    causes = aggregate(results)
    out: list[str] = []
    for backend in dict.fromkeys(c.backend for c in causes):
        mine = [c for c in causes if c.backend == backend]
        errors = sum(c.severity == "error" for c in mine)
        counts = f"{errors} root cause{'s' if errors != 1 else ''} of failures"
        if len(mine) > errors:
            counts += f" and {len(mine) - errors} warning{'s' if len(mine) - errors != 1 else ''}"
        out += [f"### Findings for {backend}", "", f"{counts}, the most widespread first:", ""]
        out += [c.line() for c in mine]
        out.append("")
    return "\n".join(out)


def as_json(results: Sequence[EntryResult]) -> dict[str, Any]:
    """findings.json: the root causes, and per entry its backend and how many findings it reported."""
    return {
        "root_causes": [c.as_json() for c in aggregate(results)],
        "entries": [{"id": r.id, "backend": backend_of(r), "findings": len(r.findings)} for r in results],
    }
