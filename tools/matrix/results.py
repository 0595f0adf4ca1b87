"""One matrix entry's outcome, as written to ``reports/<entry-id>.json`` and read back for the table."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from tools.matrix.junit import Group

#: Outcomes: ``pass``; ``fail`` (a check failed); ``no-tests`` (pytest collected nothing: never green);
#: ``install-failed`` (venv, lock or version assertion); ``skip`` (matrix.yaml says why);
#: ``error`` (pytest crashed or was interrupted).
PASSING = {"pass", "skip"}


@dataclasses.dataclass
class EntryResult:
    run_id: str
    entry: dict[str, Any]
    status: str
    reason: str | None = None
    install_seconds: float | None = None
    install_mode: str | None = None
    #: Wall seconds of the backend probe plus pytest (the table's "tests s").
    test_seconds: float | None = None
    #: The parts of the time, for reports/timings.md (None: not run, or a report from before they were recorded).
    #: Airflow start: the backend probe, which imports Airflow and loads the backend in the entry's venv.
    airflow_start_seconds: float | None = None
    #: pytest's wall seconds, and the CPU seconds (user + system) of its process tree: the processes its run
    #: waited for, so neither the shared S3 server nor a daemon that detached from it (a PostgreSQL server).
    pytest_seconds: float | None = None
    pytest_cpu_seconds: float | None = None
    installed: dict[str, str] = dataclasses.field(default_factory=dict)
    pytest_exit: int | None = None
    groups: list[Group] = dataclasses.field(default_factory=list)
    finished_at: str | None = None
    #: The backend the suite ran (``module.Class``); None: ours, or a report from before the option existed.
    backend: str | None = None
    #: What the suite's findings plugin diagnosed (tools/matrix/findings.py reads and groups them).
    findings: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.entry["id"])

    @property
    def channel(self) -> str:
        return str(self.entry["channel"])

    @property
    def db(self) -> str:
        """The metadata DB of the e2e runs (reports before the db setting existed: sqlite)."""
        return str(self.entry.get("db", "sqlite"))

    @property
    def gates(self) -> bool:
        """Whether this result fails the run: a stable entry that did not pass (pre-releases never gate)."""
        return self.channel == "stable" and self.status not in PASSING

    def write(self, reports: Path) -> Path:
        reports.mkdir(parents=True, exist_ok=True)
        path = reports / f"{self.id}.json"
        data = {**dataclasses.asdict(self), "groups": [g.as_json() for g in self.groups]}
        path.write_text(json.dumps(data, indent=2) + "\n")
        return path

    @classmethod
    def read(cls, path: Path) -> EntryResult:
        data = json.loads(path.read_text())
        data["findings"] = [f for f in data.get("findings") or [] if isinstance(f, dict)]
        data["groups"] = [Group.from_json(g) for g in data.get("groups", [])]
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})


def read_all(reports: Path, order: list[str], run_id: str | None = None) -> list[EntryResult]:
    """Every entry report under ``reports`` (only this run's when ``run_id`` is given), in ``order`` of ids."""
    found = []
    for path in sorted(reports.glob("*.json")):
        try:
            result = EntryResult.read(path)
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # not an entry report (findings.json, or from an older format)
        if run_id is None or result.run_id == run_id:
            found.append(result)
    rank = {entry_id: i for i, entry_id in enumerate(order)}
    return sorted(found, key=lambda r: (rank.get(r.id, len(rank)), r.id))
