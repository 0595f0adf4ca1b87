"""One matrix session end to end: lock -> venv (+ --install) -> version assertion -> backend probe -> pytest ->
reports/<entry-id>.json (and its findings)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import nox
import nox.command
from packaging.version import Version

from tools.matrix import backend_install, findings, junit, lock, pythons, rehearsals, s3server, venvs
from tools.matrix.entries import Entry, Matrix
from tools.matrix.requirements import entry_requirements
from tools.matrix.results import EntryResult
from tools.matrix.selection import OUR_BACKEND, BackendChoice, Selection

#: pytest exit codes (https://docs.pytest.org/en/stable/reference/exit-codes.html) -> our outcome.
_PYTEST_STATUS = {0: "pass", 1: "fail", 5: "no-tests"}
_PYTEST_ERRORS = {2: "interrupted (collection errors?)", 3: "internal error", 4: "usage error"}
_VERSIONS = (
    "import importlib.metadata as m, json, platform;"
    "print(json.dumps({'apache-airflow': m.version('apache-airflow'), 'pandas': m.version('pandas'),"
    " 'python': platform.python_version()}))"
)


#: tests/e2e/test_rehearsal.py rehearses an upgrade between the interpreters these name (one definition, shared
#: with the test through tools/matrix/rehearsals.py, which also says where a run without them is a failure).
UPGRADE_FROM_VAR, UPGRADE_TO_VAR = rehearsals.FROM_VAR, rehearsals.TO_VAR
#: sqlite or postgres: the metadata DB of the suite's e2e runs and rehearsal (tests/e2e/e2e_fixtures.py).
DB_VAR = "XCOM_S3_TEST_DB"
#: What the suite reads about the backend under test (tests/conftest.py, tests/s3_server.py, tests/findings.py).
BACKEND_VAR, BACKEND_ENV_VAR, FINDINGS_VAR = "XCOM_S3_TEST_BACKEND", "XCOM_S3_TEST_BACKEND_ENV", "XCOM_S3_FINDINGS_FILE"
#: Where reports go (default <repo>/reports); relative paths are relative to the repository.
REPORTS_VAR = "XCOM_S3_REPORTS_DIR"
_PROBE = Path(__file__).with_name("backend_probe.py")
#: An import that hangs (e.g. a backend connecting somewhere at import) must not hang the session.
_PROBE_SECONDS = 300


def reports_dir(root: Path) -> Path:
    return root / os.environ.get(REPORTS_VAR, "reports")


def shown(path: Path, root: Path) -> str:
    """``path`` as messages print it: relative to the checkout when inside (XCOM_S3_REPORTS_DIR may be elsewhere)."""
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def backend_under_test(selection: Selection) -> str:
    """``--backend``, pytest's ``--backend``, XCOM_S3_TEST_BACKEND from outside, or ours: what the suite runs."""
    return selection.backend or os.environ.get(BACKEND_VAR) or OUR_BACKEND


def backend_env(choice: BackendChoice, backend: str) -> dict[str, str]:
    """XCOM_S3_TEST_BACKEND (when named) and XCOM_S3_TEST_BACKEND_ENV (when --backend-env was given)."""
    env = {BACKEND_VAR: backend} if choice.backend else {}
    if choice.env:
        env[BACKEND_ENV_VAR] = choice.env_json()
    return env


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


def hypothesis_profile() -> str:
    """The profile tests/conftest.py loads: HYPOTHESIS_PROFILE, else ci on CI and dev elsewhere."""
    return os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")


def test_env(
    root: Path, venv: venvs.Venv, s3_env: dict[str, str], tmp: Path, entry_id: str, db: str = "sqlite"
) -> dict[str, str]:
    """What the suite reads: the project on the path (also in processes Airflow spawns), S3, profile, DB."""
    return {
        **venv.env(),
        **s3_env,
        "PYTHONPATH": os.pathsep.join([str(root / "compat"), str(root / "backend")]),
        "HYPOTHESIS_PROFILE": hypothesis_profile(),
        "TMPDIR": str(tmp),
        rehearsals.ENTRY_VAR: entry_id,
        DB_VAR: db,
    }


@dataclasses.dataclass(frozen=True)
class ProbeResult:
    ok: bool
    error: str
    traceback_tail: str
    warnings: list[str]
    seconds: float

    def first_failure(self) -> str:
        """The cell's first failure line: the exception, then where it was raised."""
        return self.error + (f" at {self.traceback_tail}" if self.traceback_tail else "")


def probe_backend(venv: venvs.Venv, backend: str, env: dict[str, str]) -> ProbeResult:
    """Run tools/matrix/backend_probe.py in the entry's venv with the suite's env: can Airflow load the backend?"""
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [str(venv.python), str(_PROBE), backend],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, **env},
            timeout=_PROBE_SECONDS,
        )
    except subprocess.TimeoutExpired:
        error = f"importing it did not finish within {_PROBE_SECONDS} s (the backend probe was stopped)"
        return ProbeResult(False, error, "", [], time.monotonic() - started)
    seconds = time.monotonic() - started
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    try:
        data = json.loads(lines[-1])
    except (IndexError, ValueError):
        tail = " ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        return ProbeResult(False, f"the backend probe crashed (exit {proc.returncode}): {tail[-600:]}", "", [], seconds)
    return ProbeResult(
        bool(data.get("ok")),
        str(data.get("error") or ""),
        str(data.get("traceback_tail") or ""),
        [str(w) for w in data.get("warnings") or []],
        seconds,
    )


def _probe_junit(xml: Path, backend: str, probe: ProbeResult) -> None:
    """The probe's failure as JUnit, so CI's test reporters see why the entry ran no tests."""
    suites = ET.Element("testsuites")
    seconds = f"{probe.seconds:.2f}"
    suite = ET.SubElement(suites, "testsuite", name="backend import", tests="1", failures="1", time=seconds)
    case = ET.SubElement(suite, "testcase", classname="backend import", name=backend, time=seconds)
    ET.SubElement(case, "failure", message=probe.error).text = probe.first_failure()
    xml.write_text(ET.tostring(suites, encoding="unicode") + "\n")


def children_cpu_seconds() -> float | None:
    """User + system CPU of this process's finished, waited-for children (and theirs); None without ``resource``.

    Sound around one pytest run because nothing else in the process starts or reaps children meanwhile: the
    sessions of one nox process run one after another (``nox -j`` gives each session a child ``nox`` process of
    its own, its threads only read those children's output), and the S3 server this process started is reaped
    only at exit. A process pytest's tree did not wait for (a daemon such as PostgreSQL's postmaster) is missed.
    """
    try:
        import resource
    except ImportError:  # Windows
        return None
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def run_pytest(
    session: nox.Session, venv: venvs.Venv, env: dict[str, str], xml: Path, extra: tuple[str, ...], root: Path
) -> int:
    """pytest's exit code; nox logs the failing command but this function never raises for a red suite.

    pytest runs in a scratch directory under the session's TMPDIR, not in the checkout: whatever a backend writes
    to its working directory lands there (the hygiene checks count it), never in the user's clone.
    """
    scratch = Path(env["TMPDIR"]) / "cwd"
    scratch.mkdir(parents=True, exist_ok=True)
    args = [_absolute(arg, root) for arg in extra]
    try:
        with session.chdir(scratch):
            session.run(
                str(venv.python), "-m", "pytest", str(root / "tests"), "--rootdir", str(root),
                "-c", str(root / "pyproject.toml"), "-p", "no:cacheprovider", "--junitxml", str(xml),
                *args, env=env, external=True,
            )  # fmt: skip
    except nox.command.CommandFailed as err:
        return err.return_code if err.return_code is not None else -1
    return 0


def _absolute(arg: str, root: Path) -> str:
    """A pytest argument naming a path of the checkout (``tests/e2e::test_x``), made absolute for the scratch cwd."""
    if arg.startswith("-") or not (root / arg.split("::")[0]).exists():
        return arg
    return str(root / arg)


#: What stops an entry at its install step: the report says install-failed, with the error's message.
_INSTALL_ERRORS = (
    InstallFailed,
    backend_install.BackendInstallFailed,
    pythons.PythonMissing,
    nox.command.CommandFailed,
)


def run(
    session: nox.Session,
    entry: Entry,
    matrix: Matrix,
    selection: Selection,
    root: Path,
    run_id: str,
    upgrade_from: Entry | None = None,
    pandas_from: Entry | None = None,
) -> None:
    """Run one entry, write its report, then end the session: skipped, failed (stable only), or passed. With
    ``upgrade_from``, the suite also rehearses the upgrade from that entry's release; with ``pandas_from`` (the same
    release on pandas 2), it also reads frames that entry wrote (tests/mixed)."""
    backend = backend_under_test(selection)
    result = EntryResult(run_id=run_id, entry={**entry.as_json(), "db": selection.db_for(entry)}, status="error")
    result.backend = None if backend == OUR_BACKEND else backend
    if entry.skip:
        result.status, result.reason = "skip", entry.skip
    else:
        _test_entry(session, result, entry, matrix, selection, root, upgrade_from, pandas_from)
    result.finished_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    result.write(reports_dir(root))
    if result.status == "skip":
        session.skip(f"matrix.yaml: {result.reason}")
    message = f"{result.id}: {result.status}" + (f" ({result.reason})" if result.reason else "")
    if result.gates:
        session.error(message)
    if result.status != "pass":
        session.warn(f"{message}; a pre-release entry is reported but never fails the run")


def _test_entry(
    session: nox.Session,
    result: EntryResult,
    entry: Entry,
    matrix: Matrix,
    selection: Selection,
    root: Path,
    upgrade_from: Entry | None,
    pandas_from: Entry | None,
) -> None:
    """Install, probe the backend, run the suite: each step recorded in ``result``, stopping at the first that fails."""
    try:
        venv, rehearsal = _install(session, result, entry, selection, root, upgrade_from, pandas_from)
    except _INSTALL_ERRORS as err:
        result.status, result.reason = "install-failed", str(err) or type(err).__name__
        return
    session.log(f"installed {result.installed} in {venv.seconds:.1f} s ({venv.mode})")
    try:
        endpoint = s3server.endpoint(session, root, matrix.tool_python)
        s3_env = endpoint.env(endpoint.bucket_for(entry.id))
    except (s3server.S3ServerFailed, OSError, nox.command.CommandFailed) as err:
        result.status, result.reason = "error", f"S3 server: {err}"
        return
    backend = backend_under_test(selection)
    tmp = Path(tempfile.mkdtemp(prefix=f"xcom-s3-{entry.id}-"))
    reports = reports_dir(root)
    reports.mkdir(parents=True, exist_ok=True)
    findings_file, xml = reports / f"{entry.id}.findings.json", reports / f"{entry.id}.xml"
    findings_file.unlink(missing_ok=True)
    xml.unlink(missing_ok=True)
    env = {
        **test_env(root, venv, s3_env, tmp, entry.id, result.db),
        **rehearsal,
        **backend_env(selection.choice, backend),
        FINDINGS_VAR: str(findings_file),
    }
    probe = _probe(session, venv, backend, {**env, "AIRFLOW_HOME": str(tmp / "probe_airflow_home")})
    result.airflow_start_seconds = probe.seconds
    if not probe.ok:
        shutil.rmtree(tmp, ignore_errors=True)
        _record_probe_failure(result, xml, backend, probe)
        return
    session.log(f"metadata DB of the e2e runs{' and the rehearsal' if rehearsal else ''}: {result.db}")
    _run_suite(session, result, venv, env, xml, findings_file, selection.pytest_args, root, probe.seconds)
    if result.status in {"fail", "error"}:
        session.log(f"kept the session's temp dir for a look: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def _install(
    session: nox.Session,
    result: EntryResult,
    entry: Entry,
    selection: Selection,
    root: Path,
    upgrade_from: Entry | None,
    pandas_from: Entry | None,
) -> tuple[venvs.Venv, dict[str, str]]:
    """The entry's venv, and the variables naming the other venvs its rehearsal or pandas pair reads from."""
    rehearsal: dict[str, str] = {}
    specs = backend_install.parse_specs(selection.choice.installs, Path(session.invoked_from))
    venv, result.installed = entry_venv(session, root, entry, specs)
    result.install_seconds, result.install_mode = venv.seconds, venv.mode
    if upgrade_from is not None:
        old, _ = entry_venv(session, root, upgrade_from, specs, home=root / ".nox" / "upgrade")
        result.install_seconds += old.seconds
        rehearsal = {UPGRADE_FROM_VAR: str(old.python), UPGRADE_TO_VAR: str(venv.python)}
        session.log(f"the suite also rehearses the upgrade {upgrade_from.id} -> {entry.id}")
    if pandas_from is not None:
        other, _ = entry_venv(session, root, pandas_from, specs, home=root / ".nox" / "upgrade")
        result.install_seconds += other.seconds
        rehearsal[rehearsals.PANDAS_FROM_VAR] = str(other.python)
        session.log(f"the suite also reads frames written under {pandas_from.id}")
    return venv, rehearsal


def _probe(session: nox.Session, venv: venvs.Venv, backend: str, env: dict[str, str]) -> ProbeResult:
    """probe_backend, its verdict and Airflow's warnings while loading the backend in the session's log."""
    probe = probe_backend(venv, backend, env)
    session.log(f"backend {backend}: {'loads' if probe.ok else 'does NOT load'} ({probe.seconds:.1f} s probe)")
    for warning in probe.warnings:
        session.warn(f"loading {backend}: {warning}")
    return probe


def _record_probe_failure(result: EntryResult, xml: Path, backend: str, probe: ProbeResult) -> None:
    """A backend Airflow cannot load fails the entry without running pytest; JUnit still says why."""
    result.test_seconds, result.status = probe.seconds, "fail"
    result.reason = f"backend {backend} cannot be loaded: {probe.error}"
    result.groups = [junit.Group("backend import", failed=1, failures=[probe.first_failure()])]
    _probe_junit(xml, backend, probe)


def _run_suite(
    session: nox.Session,
    result: EntryResult,
    venv: venvs.Venv,
    env: dict[str, str],
    xml: Path,
    findings_file: Path,
    extra: tuple[str, ...],
    root: Path,
    probe_seconds: float,
) -> None:
    """pytest over tests/; its times, groups, findings and outcome into ``result``."""
    cpu_before, started = children_cpu_seconds(), time.monotonic()
    code = run_pytest(session, venv, env, xml, extra, root)
    result.pytest_seconds = time.monotonic() - started
    result.pytest_cpu_seconds = _delta(cpu_before, children_cpu_seconds())
    result.test_seconds = result.pytest_seconds + probe_seconds
    result.pytest_exit = code
    result.groups = junit.read(xml, root)
    found_backend, result.findings = findings.read_entry_findings(findings_file)
    if found_backend is not None:
        result.backend = None if found_backend == OUR_BACKEND else found_backend
    result.status = _PYTEST_STATUS.get(code, "error")
    if result.status == "error":
        result.reason = f"pytest exit {code}: {_PYTEST_ERRORS.get(code, 'crashed')}"
    if result.status == "pass" and not result.groups:
        result.status = "no-tests"  # e.g. --collect-only: green needs tests that ran


def entry_venv(
    session: nox.Session,
    root: Path,
    entry: Entry,
    specs: list[backend_install.Spec],
    home: Path | None = None,
) -> tuple[venvs.Venv, dict[str, str]]:
    """The entry's venv, versions asserted: ``<home>/<entry>`` from its lock, or with ``specs`` installed on top
    in ``.nox/backend/`` (where a dependency that moved Airflow or pandas fails here, saying what moved)."""
    lock_path = check_lock(entry, root)
    if not specs:
        venv = venvs.build(session, lock_path, entry.python, (home or root / ".nox" / "matrix") / entry.id)
        return venv, assert_versions(venv, entry, lock_path)
    built = backend_install.build(session, root, entry.id, lock_path, entry.python, specs)
    try:
        installed = assert_versions(built.venv, entry, lock_path)
    except InstallFailed as err:
        moved = f"; changed from the lock: {', '.join(built.changed)}" if built.changed else ""
        given = " ".join(s.given for s in specs)
        raise InstallFailed(f"after --install {given}: {err}{moved}") from err
    return built.venv, {**installed, **built.summary()}
