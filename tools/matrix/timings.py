"""reports/timings.md: where each entry's time goes (install, Airflow start, pytest, its CPU, each check group).

Issue 17 cuts the matrix's cost, so the product measures it: everything here comes from the entry reports. A check
group's seconds are the JUnit times of its tests, so pytest's collection and start-up show as "outside checks".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from tools.matrix import markdown
from tools.matrix.junit import Group
from tools.matrix.results import EntryResult

#: Test files listed under the table.
TOP_FILES = 10
#: Marks a pytest time from a report older than the split: it includes the Airflow start.
_OLD = "*"


def top_group(name: str) -> str:
    """``properties/test_x.py`` -> ``properties``; a group not named by a file (``backend import``) stays whole."""
    return name.split("/", 1)[0]


def ran(results: Sequence[EntryResult]) -> list[EntryResult]:
    """The entries that spent time: skipped ones and failed installs have nothing to show."""
    return [r for r in results if r.install_seconds is not None or r.test_seconds is not None]


def pytest_seconds(result: EntryResult) -> float | None:
    """pytest's wall seconds; for a report from before the split, the probe + pytest time it kept (see ``_OLD``)."""
    return result.test_seconds if _is_old(result) else result.pytest_seconds


def _is_old(result: EntryResult) -> bool:
    return result.pytest_seconds is None and result.airflow_start_seconds is None and result.test_seconds is not None


def by_top_group(groups: Sequence[Group]) -> dict[str, float]:
    """Seconds per top-level check group."""
    seconds: dict[str, float] = {}
    for group in groups:
        seconds[top_group(group.name)] = seconds.get(top_group(group.name), 0.0) + group.seconds
    return seconds


def outside_checks(result: EntryResult) -> float | None:
    """pytest's seconds in no check group: collection (the test modules' imports), session start and end."""
    total = pytest_seconds(result)
    return None if total is None else total - sum(g.seconds for g in result.groups)


@dataclasses.dataclass
class FileTime:
    """One test file's seconds summed over the entries, and the entry it cost most (some run on a few only)."""

    name: str
    seconds: float
    entries: int
    slowest: str
    slowest_seconds: float


def top_files(results: Sequence[EntryResult], count: int = TOP_FILES) -> list[FileTime]:
    """The slowest test files over all entries, the slowest first; none of 0 s."""
    found: dict[str, FileTime] = {}
    for result in results:
        for group in result.groups:
            file = found.setdefault(group.name, FileTime(group.name, 0.0, 0, result.id, group.seconds))
            file.seconds += group.seconds
            file.entries += 1
            if group.seconds > file.slowest_seconds:
                file.slowest, file.slowest_seconds = result.id, group.seconds
    timed = [f for f in found.values() if f.seconds > 0]
    return sorted(timed, key=lambda f: (-f.seconds, f.name))[:count]


def _group_seconds(top: str) -> Callable[[EntryResult], float | None]:
    """A column: the entry's seconds in the ``top`` check group ("-" if it ran none of it)."""
    return lambda result: by_top_group(result.groups).get(top)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _total(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def render(results: Sequence[EntryResult]) -> str:
    """The timings table (one row per entry that ran, then the sums) and the slowest test files."""
    shown = ran(results)
    tops = sorted({top_group(g.name) for r in shown for g in r.groups})
    with_cpu = any(r.pytest_cpu_seconds is not None for r in shown)
    columns: list[tuple[str, Callable[[EntryResult], float | None]]] = [
        ("install s", lambda r: r.install_seconds),
        ("Airflow start s", lambda r: r.airflow_start_seconds),
        ("pytest s", pytest_seconds),
        *([("pytest CPU s", lambda r: r.pytest_cpu_seconds)] if with_cpu else []),
        *((f"{top} s", _group_seconds(top)) for top in tops),
        ("outside checks s", outside_checks),
    ]
    values = [[get(r) for _, get in columns] for r in shown]
    rows = [[r.id + (_OLD if _is_old(r) else ""), *map(_number, row)] for r, row in zip(shown, values, strict=True)]
    sums = [_total([row[i] for row in values]) for i in range(len(columns))]
    rows.append([f"sum ({len(shown)} entries)", *map(_number, sums)])
    out = ["## Timings (seconds per entry)", ""]
    out += markdown.table(["entry", *(name for name, _ in columns)], rows, numeric=True)
    out += ["", *_legend(with_cpu, any(_is_old(r) for r in shown))]
    out += ["", *_where_the_time_goes(shown)]
    return "\n".join(out) + "\n"


def _legend(with_cpu: bool, old: bool) -> list[str]:
    lines = [
        "Airflow start: the backend probe (imports Airflow and loads the backend in the entry's venv). "
        "pytest: its wall time. A check group (tests/<group>/): the JUnit times of its tests (setup + call + "
        "teardown); outside checks: pytest minus the groups (collection, session start and end).",
    ]
    if with_cpu:
        lines.append(
            "pytest CPU: user + system seconds of pytest's process tree (not the shared S3 server, nor a daemon "
            "it detached such as PostgreSQL's)."
        )
    if old:
        lines.append(
            f"An entry marked {_OLD} has a report from before the split: its pytest time includes the Airflow start."
        )
    lines.append(
        "A dash: not run or not recorded (the sum adds the rest). Under `nox -j` entries overlap: the sums are "
        "work done, not the run's wall time."
    )
    return lines


def _where_the_time_goes(results: Sequence[EntryResult]) -> list[str]:
    """The slowest test files over all entries, each with its share of all the checks' seconds."""
    total = sum(g.seconds for r in results for g in r.groups)
    slowest = top_files(results)
    if not total or not slowest:
        return ["### Where the time goes", "", "No check took measurable time."]
    out = [f"### Where the time goes (top {len(slowest)} test files, of {total:.0f} s in all checks)", ""]
    for file in slowest:
        where = f"on {file.slowest}" if file.entries == 1 else f"{file.entries} entries, most on {file.slowest}"
        share = f"{file.seconds:.1f} s, {file.seconds / total:.1%}"
        out.append(f"- {file.name} — {share} ({where}: {file.slowest_seconds:.1f} s)")
    return out
