"""The e2e fixtures: per session one Airflow home, one DB init and one Airflow process for the scenario.

On SQLite the DB init is a copy of what ``db migrate``/``db init`` left in an earlier session's home (TEMPLATES),
made by the first session in the venv: the migration is the same for every session of one venv.

The scenario process (e2e_runner.scenario) runs the DAG, snapshots the DB and S3, reruns three tasks of the
same run, snapshots again, runs the links DAG for test_rest_api.py (api_runs), then (xcom_s3 only) runs the DAG at
another date with S3 unreachable. One reader process (e2e_reads) then reads what the runs left, as Airflow's own
components and its REST API read it. The tests assert on those snapshots and reads, so a release costs three
Airflow start-ups (one with a template), not one per check. The backend is the selected one (--backend /
XCOM_S3_TEST_BACKEND), configured by environment only, its own settings from XCOM_S3_TEST_BACKEND_ENV
(s3_server.backend_env); for another backend the snapshots also list the whole bucket.
"""

from __future__ import annotations

import json
import os
import re
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from e2e_airflow import (
    DEFAULT_BACKEND,
    E2E_DAG_FILE,
    E2E_DAG_ID,
    LINKS_DAG_FILE,
    LINKS_DAG_ID,
    LINKS_PLUGIN_FILE,
    AirflowHome,
    Step,
)
from e2e_db import DBView, XComRow
from e2e_s3 import list_objects
from pg_server import PostgresCluster, PostgresUnavailable

#: sqlite (default) or postgres: the metadata DB of every Airflow home here (`nox -s matrix -- --db postgres`).
DB_VAR = "XCOM_S3_TEST_DB"
DB_CHOICES = ("sqlite", "postgres")

#: Migrated SQLite DBs this venv made for earlier sessions: `db migrate` costs 4-5 CPU-seconds, 2.3-2.6's `db init`
#: 15, a copy nothing (e2e_airflow.AirflowHome.init_db). On 2.x FAB's permissions are in them too (`sync-perm`, once),
#: which the REST reads' webserver app would otherwise write every session. In the venv, so a rebuilt venv starts
#: without.
TEMPLATES = Path(sys.prefix) / ".xcom-s3-cache" / "airflow-db"

GOOD_DATE = "2024-01-01T00:00:00+00:00"
DOWN_DATE = "2024-01-02T00:00:00+00:00"
#: Rerun the frame producer as is (same key, overwritten), and two offloading producers returning a small
#: inline value instead (XCOM_S3_E2E_SHRINK): their old objects survive only where Airflow skips purge.
RERUN_STEPS: list[dict[str, Any]] = [
    {"task_id": "produce_frame"},
    {"task_id": "big_dict", "env": {"XCOM_S3_E2E_SHRINK": "1"}},
    {"task_id": "make_part", "map_index": 1, "env": {"XCOM_S3_E2E_SHRINK": "1"}},
]


#: The scenario's [xcom_s3] threshold: the frames and the large dict go to S3, the small values stay inline.
SCENARIO_THRESHOLD = 1024


@dataclass(frozen=True)
class ApiRun:
    """A run of the links DAG that test_rest_api.py reads through the REST API, with its tasks' extra settings."""

    name: str
    date: str
    env: dict[str, str]


#: Every value offloaded, and the scenario's settings. Another backend runs only the second (with its own settings:
#: THRESHOLD is xcom_s3's).
OFFLOAD_ALL = ApiRun("THRESHOLD=0", "2024-01-03T00:00:00+00:00", {"AIRFLOW__XCOM_S3__THRESHOLD": "0"})
SCENARIO_SETTINGS = ApiRun(f"THRESHOLD={SCENARIO_THRESHOLD}", "2024-01-04T00:00:00+00:00", {})
#: The reads of rows and pulls test_orm_reads.py makes on the main run: TASK_ID:MAP_INDEX:KEY.
FRAME = "produce_frame:-1:return_value"  # offloaded as Parquet: a reference in the DB
LOOKALIKE = "lookalike:-1:return_value"  # "xcom_s3://not-a-reference", escaped in the DB
SUMMARY = "reduce_parts:-1:return_value"  # a small dict, inline
ORM_XCOMS = (FRAME, LOOKALIKE, SUMMARY)
READER = Path(__file__).resolve().parent / "e2e_orm_reader.py"
#: The reader's settings for the REST API's test clients (e2e_rest_reads.py): 2.x's API auth backend that lets every
#: request through and ``deserialize=true`` (off by default from 2.7; 3.0 checks it too), 3.x's SimpleAuthManager
#: treating everyone as admin, and a fixed JWT secret (64+ bytes: no short-key warning).
REST_READER_ENV = {
    "AIRFLOW__API__AUTH_BACKENDS": "airflow.api.auth.backend.default",
    "AIRFLOW__API__ENABLE_XCOM_DESERIALIZE_SUPPORT": "True",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
    "AIRFLOW__API_AUTH__JWT_SECRET": "xcom-s3-e2e-" + "0" * 64,
}
#: The webserver setting test_rest_api.py removes to show what a webserver without it answers (xcom_s3's own).
BUCKET_VAR = "AIRFLOW__XCOM_S3__BUCKET"


@dataclass
class Snapshot:
    """What one DAG run left behind: its state, its TIs, its xcom rows and the objects under its run id."""

    run_id: str
    state: str
    tasks: dict[tuple[str, int], str | None]
    rows: list[XComRow]
    #: key -> {"size", "sha256", "last_modified"}
    objects: dict[str, dict[str, Any]]
    #: (task_id, map_index) -> task instance id (3.x)
    ti_ids: dict[tuple[str, int], str]

    def row(self, task_id: str, map_index: int = -1, key: str = "return_value") -> XComRow:
        found = [r for r in self.rows if r.ident == (task_id, map_index, key)]
        assert len(found) == 1, f"expected one xcom row {task_id}[{map_index}].{key}, found {found}"
        return found[0]


def snapshot(db: DBView, objects: dict[str, dict[str, Any]], prefix: str, date: str) -> Snapshot:
    """One run's part of a DB and an object listing."""
    run_id = db.run_id_for(E2E_DAG_ID, date)
    run_prefix = f"{prefix}/{quote(E2E_DAG_ID, safe='')}/{quote(run_id, safe='')}/"
    mine = {k: v for k, v in objects.items() if k.startswith(run_prefix)}
    states, rows = db.task_states(run_id), db.xcom_rows(run_id)
    return Snapshot(run_id, db.run_state(run_id), states, rows, mine, db.ti_ids(run_id))


@dataclass
class Scenario:
    """The module's Airflow home after the scenario process, and the S3 endpoint it wrote to."""

    home: AirflowHome
    endpoint: Any  # tests/s3_server.S3Endpoint
    step: Step
    out: Path
    info: dict[str, Any]
    down_endpoint: str
    #: the selected backend is xcom_s3's (or derived from it): its layout is known and S3-down applies
    ours: bool

    @property
    def prefix(self) -> str:
        return self.home.prefix

    @property
    def bucket(self) -> str:
        return str(self.endpoint.bucket)

    def saved(self, name: str, date: str = GOOD_DATE) -> Snapshot:
        """A snapshot the scenario process wrote between stages."""
        objects = json.loads((self.out / f"{name}.s3.json").read_text())
        return snapshot(DBView.sqlite(self.out / f"{name}.db"), objects, self.prefix, date)

    def live(self, date: str) -> Snapshot:
        """The DB and the bucket as they are now."""
        objects = list_objects(self.endpoint.client(), self.bucket, self.prefix + "/")
        return snapshot(self.home.db, objects, self.prefix, date)


def _fail(scenario: Step, stages: dict[str, Any], stage: str) -> None:
    found = stages.get(stage)
    if found is None:
        pytest.fail(f"the scenario never reached {stage!r} (exit {scenario.returncode}):\n{scenario.tail()}")
    elif not found["ok"]:
        tail = scenario.tail()
        pytest.fail(f"scenario stage {stage!r} raised:\n{found['error']}\n--- log tail ---\n{tail}")


def require_stage(scenario: Scenario, stage: str) -> None:
    """Fail, with its error and the log's end, unless the scenario process ran ``stage`` without raising."""
    _fail(scenario.step, _stages(scenario), stage)


def chosen_db() -> str:
    db = os.environ.get(DB_VAR, "sqlite") or "sqlite"
    if db not in DB_CHOICES:
        raise pytest.UsageError(f"{DB_VAR}={db!r}: choose one of {', '.join(DB_CHOICES)}")
    return db


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster | None]:
    """The session's PostgreSQL server when XCOM_S3_TEST_DB=postgres, else None. Never a silent skip: a
    server that cannot start fails the e2e tests with what to install or set."""
    if chosen_db() != "postgres":
        yield None
        return
    try:
        cluster = PostgresCluster.start()
    except PostgresUnavailable as exc:
        pytest.fail(f"{DB_VAR}=postgres, but {exc}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def e2e_scenario(
    s3_server: Any,
    postgres: PostgresCluster | None,
    tmp_path_factory: pytest.TempPathFactory,
    backend_path: str,
    request: pytest.FixtureRequest,
) -> Scenario:
    """A fresh absolute AIRFLOW_HOME and DB, initialised the release's way, then the scenario process, with
    the selected backend configured by environment only (its own settings from XCOM_S3_TEST_BACKEND_ENV).

    One per session: test_e2e_dag.py asserts on its snapshots, test_gc_metadata_db.py runs gc on its live DB,
    test_orm_reads.py and test_rest_api.py read what it left (a DAG run costs seconds, so no module pays for
    another). The links DAG's runs (api_runs) are stages of the same process."""
    from s3_server import backend_env, free_port

    ours = _is_ours(backend_path, request)
    prefix = f"e2e-{uuid.uuid4().hex[:12]}"
    home = AirflowHome.create(
        tmp_path_factory.mktemp("airflow_home"),
        python=sys.executable,
        s3_env=s3_server.env() | backend_env(s3_server, prefix),
        prefix=prefix,
        threshold=SCENARIO_THRESHOLD,
        dag_files=(E2E_DAG_FILE, LINKS_DAG_FILE),
        plugin_files=(LINKS_PLUGIN_FILE,),
        db_url=postgres.database("e2e") if postgres else None,
        backend=backend_path,
    )
    init = home.init_db(templates=TEMPLATES)
    if init.returncode:
        pytest.fail(f"airflow db init/migrate failed ({init.log}):\n{init.tail()}", pytrace=False)
    out = home.home / "scenario"
    down = f"http://127.0.0.1:{free_port()}"
    step = home.scenario(
        out,
        good=GOOD_DATE,
        down=DOWN_DATE if ours else None,
        down_endpoint=down,
        steps=RERUN_STEPS,
        whole_bucket=not ours,
        api_runs=[
            {"stage": api_stage(run), "dag_file": LINKS_DAG_FILE, "dag_id": LINKS_DAG_ID, "date": run.date}
            | {"env": run.env}
            for run in api_runs(ours)
        ],
    )
    info = json.loads((out / "info.json").read_text()) if (out / "info.json").exists() else {}
    return Scenario(home, s3_server, step, out, info, down, ours)


def api_runs(ours: bool) -> tuple[ApiRun, ...]:
    """The links DAG's runs for the selected backend: both for xcom_s3, the scenario settings' for another."""
    return (OFFLOAD_ALL, SCENARIO_SETTINGS) if ours else (SCENARIO_SETTINGS,)


def api_stage(run: ApiRun) -> str:
    """The scenario stage (stages.json) that ran ``run``."""
    return f"links {run.name}"


def _is_ours(backend_path: str, request: pytest.FixtureRequest) -> bool:
    """Ours (or derived from it: a mutant)? Only another backend is resolved here: importing Airflow in the
    pytest process costs seconds the Airflow subprocesses pay anyway."""
    if backend_path == DEFAULT_BACKEND:
        return True
    from airflow_io import is_ours

    return bool(is_ours(request.getfixturevalue("backend")))


def _stages(scenario: Scenario) -> dict[str, Any]:
    path = scenario.out / "stages.json"
    return json.loads(path.read_text()) if path.exists() else {}


@dataclass
class MainRun:
    info: dict[str, Any]
    snap: Snapshot
    #: the end of the scenario's output, for failure messages
    tail: str
    #: what the DAG's on_failure_callback recorded: [{"task_id", "map_index", "error"}]
    failures: list[dict[str, Any]]
    #: what the DAG run itself raised ("" if nothing): 2.3/2.4's backfill raises when tasks failed
    error: str
    #: (task_id, map_index) -> the last exception line of its section of the log (3.x's dag.test() marks them),
    #: for releases whose failure callback gets no exception (3.0)
    log_errors: dict[tuple[str, int], str]


@pytest.fixture(scope="module")
def e2e_main(e2e_scenario: Scenario) -> MainRun:
    """The DAG run with S3 up, as it stood before any rerun. A run whose tasks failed is still a MainRun
    (the tests say which tasks failed and why); only a stage that raised fails here."""
    stages = _stages(e2e_scenario)
    # ours must run clean; another backend's failed run is what the tests report on
    required = ("info", "main", "main_snapshot") if e2e_scenario.ours else ("info", "main_snapshot")
    for stage in required:
        _fail(e2e_scenario.step, stages, stage)
    main = stages.get("main", {})
    error = "" if main.get("ok", True) else str(main.get("error", ""))
    path = e2e_scenario.out / "main.failures.jsonl"
    failures = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    log_errors = errors_from_log(e2e_scenario.step.log.read_text(errors="replace"))
    snap, tail = e2e_scenario.saved("main"), e2e_scenario.step.tail(80)
    return MainRun(e2e_scenario.info, snap, tail, failures, error, log_errors)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TASK_START = re.compile(r"\[DAG TEST\] starting task_id=(\S+) map_index=(-?\d+)")
_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Exit|Interrupt|Failure)\w*: \S.*")


def errors_from_log(text: str) -> dict[tuple[str, int], str]:
    """The last exception line in each task's section of the first DAG run (``[DAG TEST] starting ...`` opens a
    section on 3.x; colour codes removed: 3.0 renders tracebacks with rich)."""
    found: dict[tuple[str, int], str] = {}
    current: tuple[str, int] | None = None
    seen: set[tuple[str, int]] = set()
    for line in _ANSI.sub("", text).splitlines():
        start = _TASK_START.search(line)
        if start:
            ident = (start.group(1), int(start.group(2)))
            current = None if ident in seen else ident  # a later run's section (reruns) is not the first run's
            seen.add(ident)
        elif current is not None and _EXCEPTION_LINE.match(line.strip()):
            found[current] = line.strip()
    return found


@dataclass
class Rerun:
    before: Snapshot
    after: Snapshot
    #: every key in the bucket before and after the reruns (a backend of unknown layout), else None
    bucket_before: list[str] | None
    bucket_after: list[str] | None
    #: what the rerun stage raised ("" if nothing)
    error: str


@pytest.fixture(scope="module")
def e2e_rerun(e2e_scenario: Scenario, e2e_main: MainRun) -> Rerun:
    """The same run after ``airflow tasks test`` reran RERUN_STEPS (for ours, every rerun must succeed)."""
    stages = _stages(e2e_scenario)
    if e2e_scenario.ours:
        _fail(e2e_scenario.step, stages, "rerun")
    _fail(e2e_scenario.step, stages, "rerun_snapshot")
    error = "" if stages["rerun"]["ok"] else stages["rerun"]["error"]
    bucket = [e2e_scenario.out / f"{name}.bucket.json" for name in ("main", "rerun")]
    before, after = (json.loads(p.read_text()) if p.exists() else None for p in bucket)
    return Rerun(e2e_main.snap, e2e_scenario.saved("rerun"), before, after, error)


@dataclass
class DownRun:
    endpoint_url: str
    snap: Snapshot
    logs: str
    tail: str


@pytest.fixture(scope="module")
def e2e_unreachable(e2e_scenario: Scenario) -> DownRun:
    """The run at DOWN_DATE, made with the backend pointed at a closed loopback port."""
    if not e2e_scenario.ours:
        pytest.skip(
            "n/a: the S3-down run points xcom_s3's own endpoint setting (AIRFLOW__XCOM_S3__ENDPOINT_URL) at a "
            "closed port; how another backend is pointed elsewhere is unknown to the harness"
        )
    _fail(e2e_scenario.step, _stages(e2e_scenario), "s3_down")
    return DownRun(
        e2e_scenario.down_endpoint,
        e2e_scenario.live(DOWN_DATE),
        e2e_scenario.home.logs_text(),
        e2e_scenario.step.tail(),
    )


@dataclass
class Reads:
    """What the reader process (e2e_orm_reader.py) found after the scenario: one Airflow start for all reads."""

    step: Step
    #: TASK_ID:MAP_INDEX:KEY -> each read path's result (test_orm_reads.py); empty for another backend
    orm: dict[str, Any]
    #: ApiRun name (and "without") -> each REST request's answer (e2e_rest_reads.read); {} if none was made
    rest: dict[str, Any]
    #: ApiRun name -> its run id, for the runs that exist
    run_ids: dict[str, str]


def _run_id_or_none(db: DBView, dag_id: str, date: str) -> str | None:
    try:
        return db.run_id_for(dag_id, date)
    except LookupError:
        return None


@pytest.fixture(scope="session")
def e2e_reads(e2e_scenario: Scenario) -> Reads:
    """Read the scenario's runs in one Airflow process: xcom_s3's ORM reads of the main run, then the release's
    REST API on the links DAG's runs (and, for xcom_s3, the offloading run again without BUCKET_VAR). A run that
    does not exist is not asked about: the tests that need it say so."""
    scenario, db = e2e_scenario, e2e_scenario.home.db
    home = scenario.home
    main_run = _run_id_or_none(db, E2E_DAG_ID, GOOD_DATE)
    runs = {run.name: _run_id_or_none(db, LINKS_DAG_ID, run.date) for run in api_runs(scenario.ours)}
    run_ids = {name: run_id for name, run_id in runs.items() if run_id}
    orm_out, rest_out = home.home / "orm_reads.json", home.home / "rest_reads.json"
    names = list(ORM_XCOMS) if scenario.ours and main_run else []
    argv = [home.python, str(READER), "--dag-id", E2E_DAG_ID, "--run-id", main_run or "-", "--out", str(orm_out)]
    argv += names
    if run_ids:
        plan: dict[str, Any] = {"dag_id": LINKS_DAG_ID, "links_task": "linked", "result_task": "result"}
        plan["runs"] = run_ids
        if scenario.ours and OFFLOAD_ALL.name in run_ids:
            plan["without"] = {"run": OFFLOAD_ALL.name, "env": [BUCKET_VAR]}
        argv += ["--rest", json.dumps(plan), "--rest-out", str(rest_out)]
    step = home.run("reads", argv, **REST_READER_ENV)
    orm = json.loads(orm_out.read_text()) if orm_out.exists() else {}
    rest = json.loads(rest_out.read_text()) if rest_out.exists() else {}
    return Reads(step, orm, rest, run_ids)
