"""The e2e fixtures: per test module one Airflow home, one DB init and one Airflow process for the scenario.

The scenario process (e2e_runner.scenario) runs the DAG, snapshots the DB and S3, reruns three tasks of the
same run, snapshots again, then runs the DAG at another date with S3 unreachable. The tests assert on those
snapshots, so a release costs two Airflow start-ups, not one per check.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from e2e_airflow import E2E_DAG_ID, AirflowHome, DBView, Step, XComRow
from e2e_s3 import list_objects
from pg_server import PostgresCluster, PostgresUnavailable

#: sqlite (default) or postgres: the metadata DB of every Airflow home here (`nox -s matrix -- --db postgres`).
DB_VAR = "XCOM_S3_TEST_DB"
DB_CHOICES = ("sqlite", "postgres")

GOOD_DATE = "2024-01-01T00:00:00+00:00"
DOWN_DATE = "2024-01-02T00:00:00+00:00"
#: Rerun the frame producer as is (same key, overwritten), and two offloading producers returning a small
#: inline value instead (XCOM_S3_E2E_SHRINK): their old objects survive only where Airflow skips purge.
RERUN_STEPS = [
    {"task_id": "produce_frame"},
    {"task_id": "big_dict", "env": {"XCOM_S3_E2E_SHRINK": "1"}},
    {"task_id": "make_part", "map_index": 1, "env": {"XCOM_S3_E2E_SHRINK": "1"}},
]


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
    if not found["ok"]:
        tail = scenario.tail()
        pytest.fail(f"scenario stage {stage!r} raised:\n{found['error']}\n--- log tail ---\n{tail}")


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


@pytest.fixture(scope="module")
def e2e_scenario(
    s3_server: Any, postgres: PostgresCluster | None, tmp_path_factory: pytest.TempPathFactory
) -> Scenario:
    """A fresh absolute AIRFLOW_HOME and DB, initialised the release's way, then the scenario process."""
    from s3_server import free_port

    home = AirflowHome.create(
        tmp_path_factory.mktemp("airflow_home"),
        python=sys.executable,
        s3_env=s3_server.env(),
        prefix=f"e2e-{uuid.uuid4().hex[:12]}",
        threshold=1024,
        db_url=postgres.database("e2e") if postgres else None,
    )
    init = home.init_db()
    if init.returncode:
        pytest.fail(f"airflow db init/migrate failed ({init.log}):\n{init.tail()}", pytrace=False)
    out = home.home / "scenario"
    down = f"http://127.0.0.1:{free_port()}"
    step = home.scenario(out, good=GOOD_DATE, down=DOWN_DATE, down_endpoint=down, steps=RERUN_STEPS)
    info = json.loads((out / "info.json").read_text()) if (out / "info.json").exists() else {}
    return Scenario(home, s3_server, step, out, info, down)


def _stages(scenario: Scenario) -> dict[str, Any]:
    path = scenario.out / "stages.json"
    return json.loads(path.read_text()) if path.exists() else {}


@dataclass
class MainRun:
    info: dict[str, Any]
    snap: Snapshot
    #: the end of the scenario's output, for failure messages
    tail: str


@pytest.fixture(scope="module")
def e2e_main(e2e_scenario: Scenario) -> MainRun:
    """The DAG run with S3 up, as it stood before any rerun."""
    stages = _stages(e2e_scenario)
    for stage in ("info", "main", "main_snapshot"):
        _fail(e2e_scenario.step, stages, stage)
    return MainRun(e2e_scenario.info, e2e_scenario.saved("main"), e2e_scenario.step.tail(80))


@dataclass
class Rerun:
    before: Snapshot
    after: Snapshot


@pytest.fixture(scope="module")
def e2e_rerun(e2e_scenario: Scenario, e2e_main: MainRun) -> Rerun:
    """The same run after ``airflow tasks test`` reran RERUN_STEPS."""
    stages = _stages(e2e_scenario)
    for stage in ("rerun", "rerun_snapshot"):
        _fail(e2e_scenario.step, stages, stage)
    return Rerun(e2e_main.snap, e2e_scenario.saved("rerun"))


@dataclass
class DownRun:
    endpoint_url: str
    snap: Snapshot
    logs: str
    tail: str


@pytest.fixture(scope="module")
def e2e_unreachable(e2e_scenario: Scenario) -> DownRun:
    """The run at DOWN_DATE, made with the backend pointed at a closed loopback port."""
    _fail(e2e_scenario.step, _stages(e2e_scenario), "s3_down")
    return DownRun(
        e2e_scenario.down_endpoint,
        e2e_scenario.live(DOWN_DATE),
        e2e_scenario.home.logs_text(),
        e2e_scenario.step.tail(),
    )
