# /// script
# requires-python = ">=3.10"
# dependencies = ["nox[uv]>=2025.10.14", "pyyaml>=6"]
# ///
"""xcom-s3-compat sessions; matrix.yaml is the one list of Airflow releases (`nox -l`, `nox --usage NAME`).

Heavy sessions are opt-in: `nox -s matrix`. `uv run noxfile.py -s matrix` bootstraps nox from the header.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nox
import nox.command
import nox.project

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))  # `uv run noxfile.py` and plain `nox` both import tools/ from here

from tools import mutants as mutation  # noqa: E402
from tools.matrix import (  # noqa: E402
    backend_install,
    entries,
    lock,
    pythons,
    rehearsals,
    run_entry,
    s3server,
    table,
    venvs,
)
from tools.matrix import discover as discovery  # noqa: E402
from tools.matrix.results import read_all  # noqa: E402
from tools.matrix.selection import Selection, take_backend, take_db  # noqa: E402

nox.needs_version = ">=2025.10.14"
nox.options.default_venv_backend = "uv"
nox.options.download_python = "never"  # interpreters come from PATH or pyenv, never from a download
nox.options.error_on_missing_interpreters = True

MATRIX = entries.load(ROOT / "matrix.yaml")
REPORTS = run_entry.reports_dir(ROOT)  # XCOM_S3_REPORTS_DIR, default reports/
SCRIPT_DEPS: list[str] = nox.project.load_toml(Path(__file__))["dependencies"]
#: pytest too: mypy then knows pytest.skip/fail never return and what a hook wrapper receives.
LINT_TOOLS = ["ruff", "mypy", "types-PyYAML", "pytest", *SCRIPT_DEPS]
#: ruff checks these; mypy checks what pyproject's [tool.mypy] `files` lists (all of them but examples/).
RUFF_PATHS = ["compat", "backend", "tools", "noxfile.py", "tests", "bench", "examples"]
S3_SERVER = ["moto[server]"]
#: When this `nox` began: the run table's wall time counts from here (reading a clock changes nothing).
_IMPORTED_AT = time.monotonic()

# Importing this file changes nothing (`nox -l` included): what a run needs, the sessions below set up, except in a
# `nox -j` parent, which runs no session (see _parallel_parent at the end of this block).


def _use_local_pythons() -> None:
    """Sessions that build venvs or resolve locks themselves: pyenv's ``pythonX.Y`` first on PATH (symlinks in
    .nox/_pythons), and uv never downloads an interpreter."""
    os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")
    pythons.expose_pyenv(ROOT / ".nox" / "_pythons")


def _start_run() -> str:
    """The id of this `nox` run, made once by the process that started it; `nox -j` workers inherit it (the
    environment), so only that process prints the run's one table, when it exits."""
    if venvs.RUN_VAR not in os.environ:
        os.environ[venvs.RUN_VAR] = uuid.uuid4().hex
        if _missing := pythons.missing({e.python for e in MATRIX.runnable}):
            print(f"note: Python {', '.join(_missing)} not found; sessions needing it will fail", file=sys.stderr)
        atexit.register(_print_run_table, os.environ[venvs.RUN_VAR])
    return os.environ[venvs.RUN_VAR]


def _print_run_table(run_id: str) -> None:
    """The one table of this run: every matrix session that ran, from its reports/<entry>.json."""
    results = read_all(REPORTS, [e.id for e in MATRIX.entries], run_id)
    if results:
        rendered = table.write_reports(results, REPORTS, wall_seconds=time.monotonic() - _IMPORTED_AT)
        where = run_entry.shown(REPORTS / "matrix.md", ROOT)
        print(f"\n{rendered}(also in {where}, findings and timings beside it)", file=sys.stderr)


def _parallel_parent(argv: list[str]) -> bool:
    """Whether this process is the parent of a `nox -j N` run (N > 1, not a listing). nox runs no session code
    there, only worker processes, so this is the one place a run is started at import: the workers must share its
    id and the parent alone can print the table after the last of them."""
    from nox._options import options  # nox's own parser: the command line exactly as nox read it

    try:
        with contextlib.redirect_stderr(io.StringIO()):
            config = options.parse_args(argv)
    except (SystemExit, Exception):  # not nox's command line (the file imported by something else)
        return False
    listing = config.list_sessions or config.json or config.usage
    return (config.parallel or 1) > 1 and not config.parallel_worker and not listing


if _parallel_parent(sys.argv[1:]):
    _start_run()


def _newest(major: int) -> entries.Entry:
    return MATRIX.newest(major)


def _selection(session: nox.Session) -> Selection:
    try:
        return Selection.parse(session.posargs, MATRIX)
    except ValueError as err:
        session.error(str(err))


def _checked_lock(session: nox.Session, entry: entries.Entry) -> Path:
    try:
        return run_entry.check_lock(entry, ROOT)
    except run_entry.InstallFailed as err:
        session.error(str(err))


@nox.session(python=pythons.interpreter(MATRIX.tool_python))
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over everything; mypy over what pyproject's [tool.mypy] lists: the
    shipped code (strict), the tooling, this file, the tests and the benchmarks."""
    session.run("uv", "pip", "sync", "--quiet", str(ROOT / "locks" / "lint.txt"))
    session.run("ruff", "check", *RUFF_PATHS)
    session.run("ruff", "format", "--check", *RUFF_PATHS)
    session.run("mypy")
    # Each folder's conftest.py is the module `conftest` (pytest loads them one by one): one mypy run each.
    for conftest in sorted((ROOT / "tests").glob("*/**/conftest.py")):
        session.run("mypy", str(conftest.relative_to(ROOT)))


@nox.session(python=pythons.interpreter(_newest(3).python))
def tests(session: nox.Session) -> None:
    """pytest tests/ on the newest stable Airflow 3.x entry's lock, against the shared S3 server."""
    entry = _newest(3)
    _use_local_pythons()
    _start_run()
    lock_path = _checked_lock(session, entry)
    session.run("uv", "pip", "sync", "--quiet", str(lock_path))
    session.run("uv", "pip", "install", "--quiet", "--no-deps", "-e", str(ROOT))
    endpoint = s3server.endpoint(session, ROOT, MATRIX.tool_python)
    tmp = Path(session.create_tmp())
    env = {
        **endpoint.env(endpoint.bucket_for(f"tests-{entry.id}")),
        "HYPOTHESIS_PROFILE": run_entry.hypothesis_profile(),
        "AIRFLOW_HOME": str(tmp / "airflow_home"),
        "TMPDIR": str(tmp),
    }
    session.run("pytest", "tests/", "-p", "no:cacheprovider", *session.posargs, env=env)


# allow_parallel: `nox -j auto -s matrix` runs entries side by side; each has its own venv, temp dirs, S3 server and
# PostgreSQL cluster, and venvs two entries share (the rehearsals' 2.x side) are built under a file lock. Listed
# longest first (nox starts them in this order); the report keeps matrix.yaml's order.
@nox.session(venv_backend="none", default=False, allow_parallel=True)
@nox.parametrize(
    "airflow,python,pandas",
    [
        nox.param(e.airflow, e.python, str(e.pandas), id=e.session_args, tags=[e.channel, f"af{e.version.major}"])
        for e in rehearsals.longest_first(MATRIX)
    ],
)
def matrix(session: nox.Session, airflow: str, pandas: str) -> None:
    """One matrix.yaml entry: venv from its lock, versions asserted, pytest (options: `nox --usage matrix`).

    nox -s matrix -- [SELECTION...] [--db sqlite|postgres] [--backend MODULE.CLASS] [--install SPEC]...
                     [--backend-env NAME=TEMPLATE]... [-- PYTEST_ARGS...]

    Selection (words of one kind widen, kinds narrow; no words: every entry):
      3.1  2.10.5          Airflow version or prefix (3.1 never matches 3.10)
      py3.13  pd2  pd3     Python; pandas major
      stable  pre  edges   channel; oldest and newest stable release of each Airflow major
      af2.10.5-py3.11-pd2  any other word: part of an entry id (`nox -l` lists them)
      e.g. nox -s matrix -- 2.10 3.3 pd3          (2.10.x or 3.3.x) and pandas 3
           nox -s "matrix(airflow='3.3.2', python='3.12', pandas='2')"   one session by name
           nox -t af2                             tags: stable, pre, af2, af3
    --db sqlite|postgres       metadata DB of the e2e runs and rehearsals (default: matrix.yaml's db per entry)
    -- PYTEST_ARGS             after a second --, to pytest: nox -s matrix -- 3.3 -- -k frames

    Your own backend (nothing is written to matrix.yaml or locks/):
      --backend MODULE.CLASS       the XCom backend under test (default xcom_s3.S3XComBackend)
      --install SPEC               repeatable: a local directory (installed editable, so your edits show on the
                                   next run), a wheel/sdist, or a requirement spec (`mypkg==1.2`, `git+https://..`);
                                   relative paths are relative to where you run nox. Installed with its
                                   dependencies into each entry's venv on top of the entry's lock: the lock's pins
                                   held, anything new resolved as of the lock's date. The venv lives in
                                   .nox/backend/<entry>-<hash>; the entry still asserts its Airflow, pandas, Python.
      --backend-env NAME=TEMPLATE  repeatable: extra env for your backend; TEMPLATE may use {endpoint} {bucket}
                                   {region} {access_key} {secret_key} {prefix} (this test's own key prefix)
      Every backend already gets AWS_ENDPOINT_URL(_S3), AWS_ACCESS_KEY_ID/SECRET/DEFAULT_REGION and an
      AIRFLOW_CONN_AWS_DEFAULT connection (S3Hook) pointing at the test S3.
      e.g. nox -s matrix -- 2.10 3.3 --backend myteam.xcom.MyXCom --install ../myrepo
               --backend-env S3_XCOM_BUCKET_NAME={bucket} --backend-env S3_XCOM_PREFIX={prefix}   (one line)
      Before its tests each entry checks that Airflow can load the backend; if not, the entry fails within
      seconds with the real exception. `-- -- --backend X` (pytest's option) also works, without --install.

    Reports: reports/<entry>.json and .xml (JUnit), reports/matrix.md (the table), findings.md and findings.json
    (one line per root cause, for a backend other than ours); XCOM_S3_REPORTS_DIR=DIR writes them elsewhere.
    `nox -s report` renders whatever reports/*.json hold (e.g. gathered from CI jobs).

    S3: a moto server on 127.0.0.1, started per nox process. For MinIO or real S3 set XCOM_S3_TEST_ENDPOINT,
    XCOM_S3_TEST_BUCKET (an existing bucket) and XCOM_S3_TEST_ACCESS_KEY / XCOM_S3_TEST_SECRET_KEY /
    XCOM_S3_TEST_REGION (or the AWS_* variables).

    Parallel: nox -j 3 -s matrix -- stable. Hypothesis profile: HYPOTHESIS_PROFILE (dev; ci when CI is set).
    """
    entry = MATRIX.get(airflow, str(session.python), pandas)
    selection = _selection(session)
    if not selection.matches(entry):
        session.skip(f"not selected by `{selection}`")
    _use_local_pythons()
    run_id = _start_run()
    upgrade_from = rehearsals.sources(MATRIX).get(entry.id)
    pandas_from = rehearsals.pandas_sources(MATRIX).get(entry.id)
    run_entry.run(session, entry, MATRIX, selection, ROOT, run_id, upgrade_from=upgrade_from, pandas_from=pandas_from)


@nox.session(name="lock", venv_backend="none", default=False)
def lock_(session: nox.Session) -> None:
    """Resolve each entry as of its release date on PyPI (tool envs as of today) into locks/."""
    selection = Selection.parse(session.posargs, MATRIX)
    _use_local_pythons()
    today = lock.now()
    plans = [lock.plan_entry(e, ROOT, today) for e in MATRIX.runnable if selection.matches(e) or selection.everything]
    tools = {
        "s3-server": lock.plan_tool("s3-server", S3_SERVER, MATRIX.tool_python, ROOT, today),
        "lint": lock.plan_tool("lint", LINT_TOOLS, MATRIX.tool_python, ROOT, today),
        "runner": lock.plan_tool("runner", SCRIPT_DEPS, _requires_python_floor(), ROOT, today, universal=True),
    }
    plans += [plan for name, plan in tools.items() if selection.everything or selection.mentions(name)]
    if not plans:
        session.error(f"nothing matches `{selection}`")
    with ThreadPoolExecutor(max_workers=3) as pool:
        outcomes = list(pool.map(lock.compile_lock, plans))
    for outcome in outcomes:
        state = "FAILED" if outcome.error else "ok"
        session.log(f"{outcome.plan.path.relative_to(ROOT)}: {state} in {outcome.seconds:.1f} s")
    if selection.everything:
        keep = {plan.path for plan in plans}
        for stale in sorted((ROOT / "locks").glob("*.txt")):
            if stale not in keep:
                session.log(f"removing {stale.relative_to(ROOT)}: no runnable matrix.yaml entry uses it")
                stale.unlink()
    failed = [o for o in outcomes if o.error]
    if failed:
        details = "\n\n".join(f"{o.plan.name}:\n{_gist(o.error or '')}" for o in failed)
        session.error(f"{len(failed)} lock(s) failed to resolve (add lift/pins in matrix.yaml):\n{details}")


@nox.session(name="ci-matrix", venv_backend="none", default=False)
def ci_matrix(session: nox.Session) -> None:
    """Print the runnable entries as JSON for a CI fan-out (GitHub Actions strategy.matrix)."""
    selection = Selection.parse(session.posargs, MATRIX)
    include = [{**e.as_json(), "tool_python": MATRIX.tool_python} for e in MATRIX.runnable if selection.matches(e)]
    print(json.dumps({"include": include}))


@nox.session(venv_backend="none", default=False)
def discover(session: nox.Session) -> None:
    """List Airflow releases on PyPI newer than matrix.yaml holds; fails when one is missing."""
    behind, current = discovery.missing(MATRIX)
    for line in current:
        session.log(f"current  {line}")
    for line in behind:
        session.log(f"MISSING  {line}")
    if behind:
        session.error(f"{len(behind)} release line(s) missing from matrix.yaml: add entries, then `nox -s lock`")


@nox.session(venv_backend="none", default=False)
def report(session: nox.Session) -> None:
    """Render all reports/*.json (e.g. gathered from CI jobs) into one table; fails if a stable entry did."""
    results = read_all(REPORTS, [e.id for e in MATRIX.entries])
    if results:
        print(table.write_reports(results, REPORTS))
    reported = {r.id for r in results}
    # --require-all (the CI gate): a stable entry whose job died before writing its report fails too.
    absent = [e.id for e in MATRIX.runnable if e.channel == "stable" and e.id not in reported]
    if "--require-all" in session.posargs and absent:
        session.error(f"no report from {len(absent)} stable entries: {', '.join(absent)}")
    if not results:
        session.error(f"no entry reports under {REPORTS}")
    if any(r.gates for r in results):
        session.error(table.summary(results))


@nox.session(venv_backend="none", default=False)
def upgrade(session: nox.Session) -> None:
    """Upgrade rehearsal: XComs written under FROM, DB migrated and read under TO (-- [--db postgres] FROM TO).

    nox -s upgrade -- [--db sqlite|postgres] [--backend MODULE.CLASS] [--install SPEC]...
                      [--backend-env NAME=TEMPLATE]... [FROM TO]
    Default: the newest 2.x entry -> the newest 3.x entry, on SQLite. --backend/--install/--backend-env as for
    `nox -s matrix` (see `nox --usage matrix`): the specs go into BOTH venvs (.nox/backend/...).
    e.g. nox -s upgrade -- --db postgres --backend myteam.xcom.MyXCom --install ../myrepo 2.11 3.0
    """
    script = ROOT / "tests" / "e2e" / "rehearsal.py"
    try:
        words, db = take_db(list(session.posargs))
        words, choice = take_backend(words)
        specs = backend_install.parse_specs(choice.installs, Path(session.invoked_from))
    except (ValueError, backend_install.BackendInstallFailed) as err:
        session.error(str(err))
    if len(words) not in (0, 2) or any(w.startswith("-") for w in words):
        session.error(
            "usage: nox -s upgrade -- [--db sqlite|postgres] [--backend MODULE.CLASS] [--install SPEC]... "
            "[--backend-env NAME=TEMPLATE]... FROM TO   "
            "(e.g. -- --db postgres 2.11 3.0; default: newest 2.x -> newest 3.x on SQLite)"
        )
    _use_local_pythons()
    _start_run()
    source = _pick(words[0]) if words else _newest(2)
    target = _pick(words[1], like=source) if words else _newest_like(3, source)
    built = {}
    for entry in (source, target):
        try:
            built[entry.id], installed = run_entry.entry_venv(
                session, ROOT, entry, specs, home=ROOT / ".nox" / "upgrade"
            )
        except (run_entry.InstallFailed, backend_install.BackendInstallFailed) as err:
            session.error(f"{entry.id}: {err}")
        session.log(f"{entry.id}: {installed}")
    endpoint = s3server.endpoint(session, ROOT, MATRIX.tool_python)
    bucket = endpoint.bucket_for(f"upgrade-{source.id}-{target.id}")
    to_venv = built[target.id]
    env = {
        **to_venv.env(),
        **endpoint.env(bucket),
        **run_entry.backend_env(choice, choice.backend or ""),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "compat"), str(ROOT / "backend")]),
    }
    backend = ["--backend", choice.backend] if choice.backend else []
    session.log(f"rehearsing {source.id} -> {target.id}" + (f" with {choice.backend}" if choice.backend else ""))
    session.run(
        str(to_venv.python), str(script),
        "--from-python", str(built[source.id].python), "--to-python", str(to_venv.python),
        "--s3-endpoint", endpoint.url, "--bucket", bucket, "--db", db or "sqlite", *backend,
        env=env, external=True,
    )  # fmt: skip


def _bench_stacks() -> tuple[str, list[str]]:
    """The bench's Python and stacks from matrix.yaml: the newest stable 3.x on pandas 3 and the newest 2.x on
    pandas 2 (``af332-pandas3``: bench/requirements-<stack>.txt), on the newest Python matrix.yaml runs both on,
    so one interpreter measures both."""
    newest = [MATRIX.newest(3, pandas=3), MATRIX.newest(2, pandas=2)]
    shared = set.intersection(
        *({e.python_tuple for e in MATRIX.runnable if (e.version, e.pandas) == (n.version, n.pandas)} for n in newest)
    )
    python = ".".join(map(str, max(shared)))
    return python, [f"af{n.airflow.replace('.', '')}-pandas{n.pandas}" for n in newest]


BENCH_PYTHON, BENCH_STACKS = _bench_stacks()


@nox.session(python=pythons.interpreter(BENCH_PYTHON), default=False)
@nox.parametrize("stack", BENCH_STACKS)
def bench(session: nox.Session, stack: str) -> None:
    """DataFrame round trips vs CSV, common-io and the Parquet floor, and pyarrow Tables and polars frames each vs
    its own Parquet floor -> bench/results.md, bench/ratios.png."""
    requirements = ROOT / "bench" / f"requirements-{stack}.txt"
    if not requirements.is_file():
        session.error(f"{requirements.relative_to(ROOT)} missing: compile it from its .in (see its header)")
    session.install("-r", str(requirements.relative_to(ROOT)))
    session.run("python", "bench/run.py", *session.posargs)  # e.g. -- --sizes 1MB,100MB,1GB --runs 5


@nox.session(venv_backend="none", default=False)
def vendor(session: nox.Session) -> None:
    """Copy the shims (and the backend) into your project: -- PATH [--with-backend] [--package NAME]."""
    session.run(sys.executable, str(ROOT / "tools" / "vendor.py"), *session.posargs, external=True)


@nox.session(venv_backend="none", default=False)
def examples(session: nox.Session) -> None:
    """The example backends through `matrix --backend ... --install examples/...`, findings asserted.

    nox -s examples -- [SELECTION...] [--only naive_xcom|portable_xcom]

    tools/examples_check.py runs each example on one 2.x and one 3.x entry (its ENTRIES; selection words as for the
    matrix keep a subset, `stable` keeps both) and fails unless the naive backend shows each of its known faults
    and the portable one is green. Reports go to reports/examples/<name>/.
    """
    session.run(sys.executable, str(ROOT / "tools" / "examples_check.py"), *session.posargs, external=True)


@nox.session(name="gate-check", venv_backend="none", default=False)
def gate_check(session: nox.Session) -> None:
    """Mutant backends must fail exactly where they are wrong: tools/gate_check.py in each selected entry's venv."""
    selection = _selection(session)
    if selection.choice:
        session.error("gate-check runs mutants of xcom_s3's backend: --backend/--install/--backend-env do not apply")
    chosen = [e for e in MATRIX.runnable if selection.matches(e)]
    if not chosen:
        session.error(f"no runnable matrix.yaml entry matches `{selection}`")
    _use_local_pythons()
    _start_run()
    endpoint = s3server.endpoint(session, ROOT, MATRIX.tool_python)
    broken = []
    for entry in chosen:
        lock_path = _checked_lock(session, entry)
        venv = venvs.build(session, lock_path, entry.python, ROOT / ".nox" / "matrix" / entry.id)
        try:
            run_entry.assert_versions(venv, entry, lock_path)
        except run_entry.InstallFailed as err:
            session.error(f"{entry.id}: {err}")
        env = {
            **venv.env(),
            **endpoint.env(endpoint.bucket_for(f"gate-{entry.id}")),
            "PYTHONPATH": os.pathsep.join([str(ROOT / "compat"), str(ROOT / "backend")]),
        }
        session.log(f"gate check on {entry.id}")
        try:
            session.run(str(venv.python), str(ROOT / "tools" / "gate_check.py"), *selection.pytest_args, env=env)
        except nox.command.CommandFailed:
            broken.append(entry.id)
    if broken:
        session.error(f"gate broken on {', '.join(broken)}")


@nox.session(venv_backend="none", default=False)
def mutants(session: nox.Session) -> None:
    """Mutation score of compat/ and backend/ (mutmut) on one 2.x and one 3.x entry -> reports/mutants.md.

    nox -s mutants -- [SELECTION...] [--fresh] [--report-only] [--max-children N] [--lock] [-- PYTEST_ARGS...]

    Default entries: af2.10.5-py3.11-pd3 and af3.3.2-py3.12-pd2 (selection words as for the matrix choose
    others). Each gets its own venv (.nox/mutants/<entry>/venv: the entry's lock plus locks/mutants/<entry>.txt)
    and mutmut state (.nox/mutants/<entry>/work); a rerun re-tests only changed functions, and the survivors
    when tests/ changed. --fresh starts over; --report-only rewrites the report from the state; --lock
    (re)writes locks/mutants/<entry>.txt. Words after a second -- narrow the tests (e.g. --deselect ...).
    """
    _use_local_pythons()
    mutation.session(session, MATRIX, ROOT, REPORTS)


def _pick(word: str, like: entries.Entry | None = None) -> entries.Entry:
    """The entry a FROM/TO word names; among several, the one closest to ``like`` (Python, pandas), then newest."""
    chosen = [e for e in MATRIX.runnable if Selection.parse([word], MATRIX).matches(e)]
    if not chosen:
        raise entries.MatrixError(f"no runnable matrix.yaml entry matches {word!r}")
    return rehearsals.closest(chosen, like)


def _newest_like(major: int, like: entries.Entry) -> entries.Entry:
    return _pick(str(_newest(major).version), like=like)


def _gist(uv_error: str) -> str:
    """uv's first lines and its hints; the derivation in between can run to hundreds of lines."""
    lines = uv_error.splitlines()
    hints = [line for line in lines if line.startswith("hint:")]
    return "\n".join([*lines[:3], *(["  ..."] if len(lines) > 3 else []), *hints[:5]])


def _requires_python_floor() -> str:
    """The oldest Python the noxfile runs on (PEP 723 `requires-python`), for the universal runner lock."""
    spec: str = nox.project.load_toml(Path(__file__))["requires-python"]
    return spec.removeprefix(">=")


if __name__ == "__main__":
    nox.main()
