"""What each lock resolves: the entry's Airflow and pandas, plus the project's runtime and test dependencies.

The project's dependencies are read from pyproject.toml, so a lock always honours the floors users get when
they install the package. moto is left out: the S3 server runs from its own venv (locks/s3-server.txt), so its
Flask and Werkzeug never fight Airflow's pins.

polars is the matrix's own (:data:`POLARS`), not pyproject's: optional for users (the backend imports it only to
read a polars frame back), so no runtime dependency, and not a floor in the test extra either, since every lock
must hold one exact release resolved as of that release's upload rather than the entry's date (a 2022 date
would give polars 0.14, which has no ``CompatLevel``). 2.0.0 is the newest release that installs on every
matrix Python (2.1 needs Python 3.11; Airflow 2.3-2.5 run on 3.10), so the cold CI downloads one polars; it
passes tests/properties/test_polars_frames.py from pyarrow 14.0.1 (2.7.3, pandas 2) to 26. An entry where it
cannot install or work would be listed in :data:`NO_POLARS` with the reason, and its polars tests say n/a.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import nox.project
from packaging.requirements import Requirement

from tools.matrix.entries import Entry

#: Installed outside the matrix venvs (see locks/s3-server.txt).
OUTSIDE_MATRIX = {"moto"}
#: The optional-dependency group holding the test tools.
TEST_EXTRA = "test"
#: On PostgreSQL 3.x also opens an async engine (asyncpg): its postgres extra brings both drivers. 2.x needs only
#: psycopg2, from the test extra as a wheel (2.3/2.4's extra asks for psycopg2 built from source).
POSTGRES_EXTRA = "[postgres]"
#: common-io's XComObjectStorageBackend, one of the harness' reference backends, ships for Airflow 2.9 and later.
COMMON_IO = "apache-airflow-providers-common-io"
COMMON_IO_SINCE = (2, 9)


@dataclasses.dataclass(frozen=True)
class HeldRelease:
    """A test-only package held at one release in every lock, resolved as of that release's upload (lock.py)."""

    name: str
    version: str
    #: What the release itself brings in (resolved as of the same date).
    brings: tuple[str, ...] = ()

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"

    @property
    def packages(self) -> tuple[str, ...]:
        return (self.name, *self.brings)


#: polars frames (backend/xcom_s3/polars_frames.py), tested where the lock holds it (see the module docstring).
POLARS = HeldRelease("polars", "2.0.0", brings=("polars-runtime-32",))
#: ``{entry id: why}`` for entries whose lock holds no polars: none so far.
NO_POLARS: dict[str, str] = {}


def project_requirements(root: Path) -> list[str]:
    """Runtime dependencies and the test extra from pyproject.toml, minus what runs outside the matrix."""
    project = nox.project.load_toml(root / "pyproject.toml")["project"]
    lines = [*project.get("dependencies", []), *project.get("optional-dependencies", {}).get(TEST_EXTRA, [])]
    return [line for line in lines if Requirement(line).name.lower() not in OUTSIDE_MATRIX]


def held_releases(entry: Entry) -> list[HeldRelease]:
    """The test-only packages an entry's lock holds at one release, each resolved as of its own upload."""
    return [] if entry.id in NO_POLARS else [POLARS]


def entry_requirements(entry: Entry, root: Path) -> list[str]:
    """The requirement lines a matrix entry's lock is compiled from."""
    return [
        f"apache-airflow{POSTGRES_EXTRA if entry.version.major >= 3 else ''}=={entry.airflow}",
        f"pandas=={entry.pandas}.*",
        *project_requirements(root),
        *([COMMON_IO] if entry.version.release[:2] >= COMMON_IO_SINCE else []),
        *(held.requirement for held in held_releases(entry)),
        *entry.pins,
    ]
