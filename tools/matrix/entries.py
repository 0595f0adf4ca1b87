"""Read matrix.yaml into typed entries; every error names the entry and the field to fix."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version

CHANNELS = ("stable", "pre")
PANDAS_MAJORS = (2, 3)
#: The metadata DB of the entry's e2e runs and upgrade rehearsal (``nox -s matrix -- --db postgres`` overrides).
DATABASES = ("sqlite", "postgres")
_FIELDS = {"airflow", "python", "pandas", "channel", "db", "slack_days", "lift", "pins", "skip", "note"}


class MatrixError(ValueError):
    """matrix.yaml is malformed; the message names the entry and the field."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One Airflow release on one Python with one pandas major."""

    airflow: str
    python: str
    pandas: int
    channel: str = "stable"
    db: str = "sqlite"
    slack_days: int = 30
    lift: tuple[str, ...] = ()
    pins: tuple[str, ...] = ()
    skip: str | None = None
    note: str | None = None

    @property
    def id(self) -> str:
        """File-safe id used for locks/ and reports/ (``af2.10.5-py3.11-pd2``)."""
        return f"af{self.airflow}-py{self.python}-pd{self.pandas}"

    @property
    def session_args(self) -> str:
        """The nox parameter id (``airflow='2.10.5', python='3.11', pandas='2'``)."""
        return f"airflow='{self.airflow}', python='{self.python}', pandas='{self.pandas}'"

    @property
    def session_name(self) -> str:
        return f"matrix({self.session_args})"

    @property
    def version(self) -> Version:
        return Version(self.airflow)

    @property
    def python_tuple(self) -> tuple[int, int]:
        major, minor = self.python.split(".")
        return int(major), int(minor)

    @property
    def sort_key(self) -> tuple[Version, tuple[int, int], int]:
        return self.version, self.python_tuple, self.pandas

    def lock_path(self, root: Path) -> Path:
        return root / "locks" / f"{self.id}.txt"

    def fingerprint(self, requirements: list[str]) -> str:
        """What a lock was resolved from; a lock whose fingerprint differs is stale."""
        data = {
            "airflow": self.airflow,
            "python": self.python,
            "pandas": self.pandas,
            "slack_days": self.slack_days,
            "lift": list(self.lift),
            "pins": list(self.pins),
            "requirements": requirements,
        }
        return json.dumps(data, sort_keys=True)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "session": self.session_name,
            "airflow": self.airflow,
            "python": self.python,
            "pandas": self.pandas,
            "channel": self.channel,
            "db": self.db,
        }


@dataclasses.dataclass(frozen=True)
class Matrix:
    entries: tuple[Entry, ...]

    @property
    def runnable(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.skip is None)

    @property
    def tool_python(self) -> str:
        """The newest Python in the matrix: the S3 server and lint run on it."""
        return max(self.entries, key=lambda e: e.python_tuple).python

    def get(self, airflow: str, python: str, pandas: str | int) -> Entry:
        for entry in self.entries:
            if (entry.airflow, entry.python, str(entry.pandas)) == (airflow, python, str(pandas)):
                return entry
        raise MatrixError(f"no matrix.yaml entry airflow={airflow} python={python} pandas={pandas}")

    def newest(self, major: int, pandas: int | None = None) -> Entry:
        """The newest runnable stable entry of an Airflow major, on ``pandas`` if given (newest Python and pandas on
        ties)."""
        candidates = [
            e
            for e in self.runnable
            if e.channel == "stable" and e.version.major == major and pandas in (None, e.pandas)
        ]
        if not candidates:
            on = f" on pandas {pandas}" if pandas is not None else ""
            raise MatrixError(f"matrix.yaml has no runnable stable Airflow {major}.x entry{on}")
        return max(candidates, key=lambda e: e.sort_key)


def _text(raw: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = raw.get(key)
    if value is None:
        if required:
            raise MatrixError(f"{where}: `{key}` is missing")
        return None
    if not isinstance(value, str):
        raise MatrixError(f'{where}: `{key}` must be a quoted string, got {value!r} (write {key}: "{value}")')
    return value


def _names(raw: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MatrixError(f"{where}: `{key}` must be a list of strings, got {value!r}")
    return tuple(value)


def _entry(raw: Any, defaults: dict[str, Any], index: int) -> Entry:
    where = f"matrix.yaml entry #{index + 1}"
    if not isinstance(raw, dict):
        raise MatrixError(f"{where}: expected a mapping, got {raw!r}")
    unknown = set(raw) - _FIELDS
    if unknown:
        raise MatrixError(f"{where}: unknown field(s) {sorted(unknown)}; known: {sorted(_FIELDS)}")
    merged = {**defaults, **raw}
    airflow = _text(merged, "airflow", where) or ""
    where = f"matrix.yaml entry airflow={airflow}"
    try:
        Version(airflow)
    except InvalidVersion as err:
        raise MatrixError(f"{where}: `airflow` {airflow!r} is not a version") from err
    python = _text(merged, "python", where) or ""
    if len(python.split(".")) != 2 or not all(p.isdigit() for p in python.split(".")):
        raise MatrixError(f'{where}: `python` must look like "3.11", got {python!r}')
    pandas = merged.get("pandas")
    if pandas not in PANDAS_MAJORS:
        raise MatrixError(f"{where}: `pandas` must be one of {PANDAS_MAJORS}, got {pandas!r}")
    channel = _text(merged, "channel", where) or ""
    if channel not in CHANNELS:
        raise MatrixError(f"{where}: `channel` must be one of {CHANNELS}, got {channel!r}")
    db = _text(merged, "db", where, required=False) or "sqlite"
    if db not in DATABASES:
        raise MatrixError(f"{where}: `db` must be one of {DATABASES}, got {db!r}")
    slack = merged.get("slack_days")
    if not isinstance(slack, int) or slack < 0:
        raise MatrixError(f"{where}: `slack_days` must be a non-negative integer, got {slack!r}")
    return Entry(
        airflow=airflow,
        python=python,
        pandas=pandas,
        channel=channel,
        db=db,
        slack_days=slack,
        lift=_names(merged, "lift", where),
        pins=_names(merged, "pins", where),
        skip=_text(merged, "skip", where, required=False),
        note=_text(merged, "note", where, required=False),
    )


def load(path: Path) -> Matrix:
    """Parse and validate matrix.yaml."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise MatrixError(f"cannot read {path}: {err}") from err
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise MatrixError(f"{path}: expected a mapping with an `entries:` list")
    defaults = data.get("defaults") or {}
    entries = tuple(_entry(raw, defaults, i) for i, raw in enumerate(data["entries"]))
    seen: set[str] = set()
    for entry in entries:
        if entry.id in seen:
            raise MatrixError(f"{path}: entry {entry.id} is listed twice")
        seen.add(entry.id)
    if not entries:
        raise MatrixError(f"{path}: no entries")
    return Matrix(entries)
