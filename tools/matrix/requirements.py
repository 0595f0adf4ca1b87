"""What each lock resolves: the entry's Airflow and pandas, plus the project's runtime and test dependencies.

The project's dependencies are read from pyproject.toml, so a lock always honours the floors users get when
they install the package. moto is left out: the S3 server runs from its own venv (locks/s3-server.txt), so its
Flask and Werkzeug never fight Airflow's pins.
"""

from __future__ import annotations

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


def project_requirements(root: Path) -> list[str]:
    """Runtime dependencies and the test extra from pyproject.toml, minus what runs outside the matrix."""
    project = nox.project.load_toml(root / "pyproject.toml")["project"]
    lines = [*project.get("dependencies", []), *project.get("optional-dependencies", {}).get(TEST_EXTRA, [])]
    return [line for line in lines if Requirement(line).name.lower() not in OUTSIDE_MATRIX]


def entry_requirements(entry: Entry, root: Path) -> list[str]:
    """The requirement lines a matrix entry's lock is compiled from."""
    return [
        f"apache-airflow{POSTGRES_EXTRA if entry.version.major >= 3 else ''}=={entry.airflow}",
        f"pandas=={entry.pandas}.*",
        *project_requirements(root),
        *([COMMON_IO] if entry.version.release[:2] >= COMMON_IO_SINCE else []),
        *entry.pins,
    ]
