"""Which Airflow release is installed, known without importing compat: its version (here or in another venv), and
its XCom module imported first, as Airflow's own processes import it.

Once a process has imported Airflow's XCom module, ``xcom_compat.AIRFLOW_VERSION`` is the version to use. Before
that, compat must not be imported: on 2.x importing ``airflow.models.xcom`` resolves the configured backend, which
imports compat, which imports that module (the other order is circular). So DAG files, the e2e runner, the bench's
children, the expectations and tools/gate_check.py read the version here, from the installed distributions'
metadata; a process asking about another venv (the e2e homes, the upgrade rehearsal) runs this file with that venv's
interpreter; and a process that runs a backend calls :func:`import_airflow_xcom` before it imports compat or the
backend.

Standard library only: imported before Airflow, and run as a script by any interpreter.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import re
import subprocess
import sys
from types import ModuleType

Version = tuple[int, int, int]
#: Where Airflow's version is recorded: the distribution, or 3.x's core installed without the meta-package.
AIRFLOW_DISTRIBUTIONS = ("apache-airflow", "apache-airflow-core")


def base_version(text: str) -> Version:
    """(major, minor, patch) of a version string, pre-release and local parts ignored ("3.4.0b2" -> (3, 4, 0));
    the rule of ``xcom_compat._base_version``, which compat keeps to itself because it is vendored by copying."""
    numbers = [int(part) for part in re.findall(r"\d+", text.split("+")[0])[:3]]
    numbers += [0] * (3 - len(numbers))
    return numbers[0], numbers[1], numbers[2]


def installed_version(distribution: str) -> Version | None:
    """The version of ``distribution`` installed for this interpreter, None if it is not installed."""
    try:
        return base_version(importlib.metadata.version(distribution))
    except importlib.metadata.PackageNotFoundError:
        return None


def airflow_text() -> str:
    """The installed Airflow's full version string ("3.4.0b2"), "" if there is none."""
    for distribution in AIRFLOW_DISTRIBUTIONS:
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            pass
    return ""


@functools.cache
def airflow_version() -> Version:
    """The installed Airflow's (major, minor, patch); RuntimeError if this interpreter has none."""
    return _parsed(airflow_text(), sys.executable)


def release_text(python: str) -> str:
    """The full version string of the Airflow installed for interpreter ``python`` ("" if none), read by this file
    run as a script there: nothing is imported into this process."""
    return subprocess.run([python, __file__], capture_output=True, text=True, check=True).stdout.strip()


def release_version(python: str) -> Version:
    """(major, minor, patch) of the Airflow installed for interpreter ``python``; RuntimeError if it has none."""
    return _parsed(release_text(python), python)


def import_airflow_xcom() -> ModuleType:
    """Airflow's XCom module, imported: the one that resolves ``[core] xcom_backend`` as it is imported (3.x's Task
    SDK module, 2.x's ``airflow.models.xcom``); its ``XCom`` is the class Airflow resolved."""
    name = "airflow.sdk.execution_time.xcom" if airflow_version() >= (3, 0, 0) else "airflow.models.xcom"
    return importlib.import_module(name)


def _parsed(text: str, python: str) -> Version:
    if not text:
        raise RuntimeError(f"{python} has no apache-airflow installed")
    return base_version(text)


if __name__ == "__main__":
    print(airflow_text())
