"""One matrix session end to end: lock -> venv -> version assertion -> pytest -> reports/<entry-id>.json."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import nox
import nox.command
from packaging.version import Version

from tools.matrix import junit, lock, pythons, s3server, venvs
from tools.matrix.entries import Entry, Matrix
from tools.matrix.requirements import entry_requirements
from tools.matrix.results import EntryResult
from tools.matrix.selection import Selection

#: pytest exit codes (https://docs.pytest.org/en/stable/reference/exit-codes.html) -> our outcome.
_PYTEST_STATUS = {0: "pass", 1: "fail", 5: "no-tests"}
_PYTEST_ERRORS = {2: "interrupted (collection errors?)", 3: "internal error", 4: "usage error"}
_VERSIONS = (
    "import importlib.metadata as m, json, platform;"
    "print(json.dumps({'apache-airflow': m.version('apache-airflow'), 'pandas': m.version('pandas'),"
    " 'python': platform.python_version()}))"
)


#: tests/e2e/test_rehearsal.py rehearses an upgrade between the interpreters these name.
UPGRADE_FROM_VAR, UPGRADE_TO_VAR = "XCOM_S3_UPGRADE_FROM_PYTHON", "XCOM_S3_UPGRADE_TO_PYTHON"
#: sqlite or postgres: the metadata DB of the suite's e2e runs and rehearsal (tests/e2e/e2e_fixtures.py).
DB_VAR = "XCOM_S3_TEST_DB"


class InstallFailed(RuntimeError):
    """The entry's venv could not be built or holds other versions than asked; the message says which."""


def check_lock(entry: Entry, root: Path) -> Path:
    """The entry's lock, or why it cannot be used (missing, or resolved from other inputs than today's)."""
    path = entry.lock_path(root)
    if not path.is_file():
        raise InstallFailed(f"no lock {path.relative_to(root)}: run `nox -s lock -- {entry.id}`")
    if lock.read_fingerprint(path) != entry.fingerprint(entry_requirements(entry, root)):
        raise InstallFailed(
            f"{path.relative_to(root)} is stale (matrix.yaml or pyproject.toml changed since): "
            f"run `nox -s lock -- {entry.id}`"
        )
    return path


def assert_versions(venv: venvs.Venv, entry: Entry, lock_path: Path) -> dict[str, str]:
    """Fail loudly unless the venv holds exactly the Airflow, pandas and Python asked for."""
    proc = subprocess.run([str(venv.python), "-c", _VERSIONS], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise InstallFailed(f"cannot read installed versions: {proc.stderr.strip()[-500:]}")
    installed: dict[str, str] = json.loads(proc.stdout)
    locked_pandas = lock.pinned(lock_path).get("pandas")
    problems = []
    if Version(installed["apache-airflow"]) != Version(entry.airflow):
        problems.append(f"asked for apache-airflow {entry.airflow}, the venv has {installed['apache-airflow']}")
    if Version(installed["pandas"]).major != entry.pandas or installed["pandas"] != locked_pandas:
        problems.append(f"asked for pandas {entry.pandas} ({locked_pandas} locked), the venv has {installed['pandas']}")
    if not installed["python"].startswith(f"{entry.python}."):
        problems.append(f"asked for Python {entry.python}, the venv runs {installed['python']}")
    if problems:
        raise InstallFailed("; ".join(problems))
    return installed


def test_env(
    root: Path, venv: venvs.Venv, s3_env: dict[str, str], tmp: Path, entry_id: str, db: str = "sqlite"
) -> dict[str, str]:
    """What the suite reads: the project on the path (also in processes Airflow spawns), S3, profile, DB."""
    profile = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
    return {
        **venv.env(),
        **s3_env,
        "PYTHONPATH": os.pathsep.join([str(root / "compat"), str(root / "backend")]),
        "HYPOTHESIS_PROFILE": profile,
        "TMPDIR": str(tmp),
        "AIRFLOW_HOME": str(tmp / "airflow_home"),
        "XCOM_S3_MATRIX_ENTRY": entry_id,
        DB_VAR: db,
    }


def run_pytest(session: nox.Session, venv: venvs.Venv, env: dict[str, str], xml: Path, extra: tuple[str, ...]) -> int:
    """pytest's exit code; nox logs the failing command but this function never raises for a red suite."""
    try:
        session.run(
            str(venv.python), "-m", "pytest", "tests/", "-p", "no:cacheprovider", "--junitxml", str(xml),
            *extra, env=env, external=True,
        )  # fmt: skip
    except nox.command.CommandFailed as err:
        return err.return_code if err.return_code is not None else -1
    return 0


def run(
    session: nox.Session,
    entry: Entry,
    matrix: Matrix,
    selection: Selection,
    root: Path,
    run_id: str,
    upgrade_from: Entry | None = None,
) -> None:
    """Run one entry; with ``upgrade_from``, the suite also rehearses the upgrade from that entry's release."""
    reports = root / "reports"
    rehearsal: dict[str, str] = {}
    db = selection.db_for(entry)
    result = EntryResult(run_id=run_id, entry={**entry.as_json(), "db": db}, status="error")
    if entry.skip:
        result.status, result.reason = "skip", entry.skip
        return _finish(session, result, reports)
    try:
        lock_path = check_lock(entry, root)
        venv = venvs.build(session, lock_path, entry.python, root / ".nox" / "matrix" / entry.id)
        result.install_seconds, result.install_mode = venv.seconds, venv.mode
        result.installed = assert_versions(venv, entry, lock_path)
        if upgrade_from is not None:
            from_lock = check_lock(upgrade_from, root)
            old = venvs.build(session, from_lock, upgrade_from.python, root / ".nox" / "upgrade" / upgrade_from.id)
            result.install_seconds += old.seconds
            assert_versions(old, upgrade_from, from_lock)
            rehearsal = {UPGRADE_FROM_VAR: str(old.python), UPGRADE_TO_VAR: str(venv.python)}
            session.log(f"the suite also rehearses the upgrade {upgrade_from.id} -> {entry.id}")
    except (InstallFailed, pythons.PythonMissing, nox.command.CommandFailed) as err:
        result.status, result.reason = "install-failed", str(err) or type(err).__name__
        return _finish(session, result, reports)
    session.log(f"installed {result.installed} in {venv.seconds:.1f} s ({venv.mode})")

    try:
        endpoint = s3server.endpoint(session, root, matrix.tool_python)
        s3_env = endpoint.env(endpoint.bucket_for(entry.id))
    except (s3server.S3ServerFailed, OSError, nox.command.CommandFailed) as err:
        result.status, result.reason = "error", f"S3 server: {err}"
        return _finish(session, result, reports)
    tmp = Path(tempfile.mkdtemp(prefix=f"xcom-s3-{entry.id}-"))
    env = {**test_env(root, venv, s3_env, tmp, entry.id, db), **rehearsal}
    session.log(f"metadata DB of the e2e runs{' and the rehearsal' if rehearsal else ''}: {db}")
    xml = reports / f"{entry.id}.xml"
    reports.mkdir(exist_ok=True)
    xml.unlink(missing_ok=True)
    started = time.monotonic()
    code = run_pytest(session, venv, env, xml, selection.pytest_args)
    result.test_seconds = time.monotonic() - started
    result.pytest_exit = code
    result.groups = junit.read(xml, root)
    result.status = _PYTEST_STATUS.get(code, "error")
    if result.status == "error":
        result.reason = f"pytest exit {code}: {_PYTEST_ERRORS.get(code, 'crashed')}"
    if result.status == "pass" and not result.groups:
        result.status = "no-tests"  # e.g. --collect-only: green needs tests that ran
    if result.status in {"fail", "error"}:
        session.log(f"kept the session's temp dir for a look: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    _finish(session, result, reports)


def _finish(session: nox.Session, result: EntryResult, reports: Path) -> None:
    """Write the report, then end the session: skipped, failed (stable only), or passed."""
    result.finished_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    result.write(reports)
    if result.status == "skip":
        session.skip(f"matrix.yaml: {result.reason}")
    message = f"{result.id}: {result.status}" + (f" ({result.reason})" if result.reason else "")
    if result.gates:
        session.error(message)
    if result.status != "pass":
        session.warn(f"{message}; a pre-release entry is reported but never fails the run")
