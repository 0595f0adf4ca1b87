"""Run inside one Airflow release's interpreter: run a DAG, read XComs back, or the whole e2e scenario.

Executed as a script (``python e2e_runner.py ...``) by tests/e2e and rehearsal.py with the environment
that configures Airflow and the backend. Runs use the release's own entry points: ``dag.test()`` (2.5+) or
``airflow dags test`` (2.3/2.4), and ``airflow tasks test`` for reruns, the CLI ones called through
Airflow's own argument parser so several share one process: on 3.x each process pays for the imports and
for building the in-process execution API, which dominate an e2e session.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib.util
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from airflow_release import airflow_version, import_airflow_xcom

IDENT = ("dag_id", "run_id", "task_id", "map_index", "key")
#: Where the DAG's on_failure_callback records failed tasks (dags/xcom_s3_e2e_dag.py).
FAILURES_VAR = "XCOM_S3_E2E_FAILURES"
#: Read before the backend resolves, so not xcom_compat's (airflow_release says why).
VERSION = airflow_version()


def _resolve_backend() -> None:
    """Import Airflow's XCom module first, as Airflow's own processes do, so the backend resolves normally."""
    import_airflow_xcom()
    _one_execution_api_per_process()


def _one_execution_api_per_process() -> bool:
    """Build the in-process task execution API once per process on 3.0-3.2, as 3.3 does itself.

    ``dag.test()`` runs each task against an in-process execution API. 3.0-3.2 build it, a whole versioned FastAPI
    app, for every task (2-3 CPU seconds each, four fifths of an e2e session there); 3.3 made
    ``supervisor.in_process_api_server`` an ``lru_cache(maxsize=1)``. The same cache here: every XCom still goes
    through that API's real routes and the backend Airflow resolved; only the app is not rebuilt. Recorded in
    info.json (``execution_api_shared``).
    """
    if not (3, 0) <= VERSION < (3, 3):
        return False
    from airflow.sdk.execution_time import supervisor

    if not hasattr(supervisor.in_process_api_server, "cache_info"):
        supervisor.in_process_api_server = functools.lru_cache(maxsize=1)(supervisor.in_process_api_server)
    return True


def write_info(path: Path) -> None:
    """What the release offers (xcom_compat.capabilities) plus the XCom class Airflow resolved."""
    _resolve_backend()
    import xcom_compat

    XCom = import_airflow_xcom().XCom
    info: dict[str, Any] = dataclasses.asdict(xcom_compat.capabilities())
    info["resolved_xcom"] = f"{XCom.__module__}.{XCom.__qualname__}"
    selected = os.environ.get("AIRFLOW__CORE__XCOM_BACKEND", "")
    info["selected_xcom"] = selected
    info["resolved_is_selected"] = bool(selected) and XCom is _import_class(selected)
    info["execution_api_shared"] = _one_execution_api_per_process()
    info["python"] = sys.version.split()[0]
    path.write_text(json.dumps(info, indent=2))


def _import_class(path: str) -> Any:
    """``module.Class`` imported directly (its import error, if any, is the real one), to compare with what
    Airflow resolved."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _cli(*argv: str) -> None:
    """An ``airflow ...`` command in this process, through the release's own CLI parser."""
    from airflow.cli import cli_parser

    args = cli_parser.get_parser().parse_args(list(argv))
    args.func(args)


def _load_dag(dag_file: Path, dag_id: str) -> Any:
    spec = importlib.util.spec_from_file_location(dag_file.stem, dag_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[dag_file.stem] = module
    spec.loader.exec_module(module)
    for value in vars(module).values():
        if getattr(value, "dag_id", None) == dag_id and hasattr(value, "task_dict"):
            return value
    raise SystemExit(f"{dag_file} defines no DAG {dag_id!r}")


def run_dag(dag_file: Path, dag_id: str, date: str) -> Any:
    """One DAG run at ``date``: ``dag.test()`` where the release has it (2.5+), else ``airflow dags test``.
    Returns the DAG object."""
    _resolve_backend()
    dag = _load_dag(dag_file, dag_id)
    logical = datetime.fromisoformat(date)
    if VERSION >= (3, 0):
        dag.test(logical_date=logical)
    elif hasattr(dag, "test"):
        dag.test(execution_date=logical)
    else:  # 2.3 / 2.4: no dag.test(); the CLI runs a backfill with the DebugExecutor.
        _cli("dags", "test", dag_id, date)
    return dag


def run_for_the_api(dag_file: Path, dag_id: str, date: str, env: dict[str, str]) -> None:
    """One run of a DAG the REST API is then asked about, with ``env`` set for its tasks (a backend setting);
    raises if the run did not succeed."""
    from e2e_db import DBView

    with _environ(env):
        dag = run_dag(dag_file, dag_id, date)
    _publish_serialized(dag, dag_file)
    db = DBView(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    run_id = db.run_id_for(dag_id, date)
    if db.run_state(run_id) != "success":
        failed = sorted(f"{task}[{index}]: {state}" for (task, index), state in db.task_states(run_id).items())
        raise RuntimeError(f"{dag_id} {run_id} ended {db.run_state(run_id)}; its tasks: {', '.join(failed)}")


def run_dag_through_failures(dag_file: Path, dag_id: str, date: str) -> None:
    """A DAG run in which tasks fail, carried to its end (for the S3-unreachable stage).

    2.5's ``dag.test()`` re-raises the first task failure and abandons the run (state ``running``, the other
    tasks never run; 2.6 catches it). There the run goes through the backfill with the DebugExecutor, as 2.3/2.4's
    ``airflow dags test`` does; it raises at the end because tasks failed.
    """
    if (2, 5) <= VERSION[:2] < (2, 6):
        _resolve_backend()
        from airflow.executors.debug_executor import DebugExecutor

        logical = datetime.fromisoformat(date)
        dag = _load_dag(dag_file, dag_id)
        dag.run(executor=DebugExecutor(), start_date=logical, end_date=logical, run_at_least_once=True)
    else:
        run_dag(dag_file, dag_id, date)


def rerun(dag_id: str, run_id: str, steps: list[dict[str, Any]]) -> None:
    """``airflow tasks test`` for each step's task instance; a step may set env vars for its task.

    Every step runs even when one raises, so the objects the others leave are still counted."""
    _resolve_backend()
    errors = []
    for step in steps:
        argv = ["tasks", "test", dag_id, step["task_id"], run_id]
        if step.get("map_index", -1) >= 0:
            argv += ["--map-index", str(step["map_index"])]
        try:
            with _environ(step.get("env", {})):
                _cli(*argv)
        except BaseException as exc:  # SystemExit from the CLI included
            traceback.print_exc()
            errors.append(f"rerunning {step['task_id']}[{step.get('map_index', -1)}]: {type(exc).__name__}: {exc}")
    if errors:
        raise RuntimeError("; ".join(errors))


def _publish_serialized(dag: Any, dag_file: Path) -> None:
    """Write the serialized DAG the webserver / API server reads, as the DAG processor would, where ``dag.test()``
    does not: 2.x and 3.0 (3.1+ sync the DAG's bundle themselves)."""
    if VERSION < (3, 0):
        from airflow.models.serialized_dag import SerializedDagModel

        dag.sync_to_db()
        SerializedDagModel.write_dag(dag)
    elif VERSION < (3, 1):
        from airflow.dag_processing.bundles.manager import DagBundlesManager
        from airflow.models.dagbag import DagBag

        DagBundlesManager().sync_bundles_to_db()
        # "dags-folder": the default [dag_processor] dag_bundle_config_list's bundle, the home's dags folder
        DagBag(dag_folder=str(dag_file), include_examples=False).sync_to_db("dags-folder", None)


class _environ:
    """Set environment variables for a block (the DAG's tasks read them at run time)."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.saved = {name: os.environ.get(name) for name in values}

    def __enter__(self) -> None:
        os.environ.update(self.values)

    def __exit__(self, *exc: object) -> None:
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _snapshot(db_url: str, out: Path, name: str, whole_bucket: bool) -> None:
    """Freeze the metadata DB and list the backend's objects, so later stages cannot hide what this one left.

    ``whole_bucket``: also every key in the bucket (``<name>.bucket.json``), for a backend whose layout is
    unknown; nothing else writes to the bucket while the scenario runs."""
    from e2e_db import DBView
    from e2e_s3 import client_from_env, list_keys, list_objects

    DBView(db_url).snapshot(out / f"{name}.db")
    client, bucket = client_from_env(), os.environ["AIRFLOW__XCOM_S3__BUCKET"]
    prefix = os.environ["AIRFLOW__XCOM_S3__PREFIX"].strip("/") + "/"
    objects = list_objects(client, bucket, prefix)
    (out / f"{name}.s3.json").write_text(json.dumps(objects, indent=2))
    if whole_bucket:
        (out / f"{name}.bucket.json").write_text(json.dumps(list_keys(client, bucket)))


def _cpu() -> float:
    """CPU seconds of this process and its waited-for children: what a stage costs, whatever the load."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class _Stages:
    """The scenario's stages as they finish, rewritten to stages.json after each one."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.done: dict[str, Any] = {}

    def run(self, name: str, action: Callable[[], None]) -> bool:
        """Run one stage; record whether it raised, its wall and CPU seconds, and when it started and ended (epoch
        seconds) with the process's CPU total by then: what came before the first stage is start-up."""
        start, started, cpu = time.monotonic(), time.time(), _cpu()
        try:
            action()
            self.done[name] = {"ok": True}
        except BaseException as exc:  # SystemExit from a CLI command included
            self.done[name] = {"ok": False, "error": "".join(traceback.format_exception(exc))}
        self.done[name]["seconds"] = round(time.monotonic() - start, 2)
        end_cpu = _cpu()
        self.done[name].update(cpu_seconds=round(end_cpu - cpu, 2), cpu_total=round(end_cpu, 2))
        self.done[name].update(started=round(started, 2), ended=round(time.time(), 2))
        (self.out / "stages.json").write_text(json.dumps(self.done, indent=2))
        return bool(self.done[name]["ok"])

    def passed(self, name: str) -> bool:
        return name in self.done and bool(self.done[name]["ok"])


def _main_run(args: argparse.Namespace) -> None:
    """The DAG's run on the good date, its failed tasks recorded for the test to name."""
    os.environ[FAILURES_VAR] = str(args.out / "main.failures.jsonl")
    try:
        run_dag(args.dag_file, args.dag_id, args.good)
    finally:
        os.environ.pop(FAILURES_VAR, None)


def _run_with_s3_down(args: argparse.Namespace) -> None:
    """The DAG again with the backend pointed at a closed port: its tasks must fail, saying why."""
    os.environ.update(
        {
            "AIRFLOW__XCOM_S3__ENDPOINT_URL": args.down_endpoint,
            "AIRFLOW__XCOM_S3__MAX_ATTEMPTS": "2",
            "AIRFLOW__XCOM_S3__CONNECT_TIMEOUT": "2",
        }
    )
    # ours' contract: call it when the endpoint changes
    reset = getattr(import_airflow_xcom().XCom, "reset_client", None)
    if reset is not None:
        reset()
    try:
        run_dag_through_failures(args.dag_file, args.dag_id, args.down)
    except Exception:  # 2.3-2.5's backfill raises when tasks fail, as they must here
        traceback.print_exc()


def scenario(args: argparse.Namespace) -> int:
    """The e2e stages in one process: run, snapshot, rerun three tasks, snapshot, the runs the REST API checks
    read (--api-runs, one stage each), run again with S3 down."""
    out: Path = args.out
    stages = _Stages(out)
    steps = json.loads(args.steps)
    whole = args.whole_bucket
    ok = stages.run("info", lambda: write_info(out / "info.json"))
    if ok:  # what a failed run left is still looked at
        ran = stages.run("main", lambda: _main_run(args))
        ok = stages.run("main_snapshot", lambda: _snapshot(args.db_url, out, "main", whole)) and ran
    if stages.passed("main_snapshot"):  # reruns' objects count even if one raised
        reran = stages.run("rerun", lambda: rerun(args.dag_id, _run_id(args.db_url, args.dag_id, args.good), steps))
        snapped = stages.run("rerun_snapshot", lambda: _snapshot(args.db_url, out, "rerun", whole))
        ok = ok and reran and snapped
    if stages.passed("info"):  # another DAG, whatever the main run left; never gates s3_down
        for run in json.loads(args.api_runs):
            action = functools.partial(run_for_the_api, Path(run["dag_file"]), run["dag_id"], run["date"], run["env"])
            stages.run(run["stage"], action)
    if ok and args.down:  # last: it points the backend at a closed port for the rest of the process
        ok = stages.run("s3_down", lambda: _run_with_s3_down(args))
    return 0 if ok else 1


def dump(db_url: str, out: Path) -> None:
    """Every xcom row read back through the resolved backend as ``ti.xcom_pull`` gets it (e2e_canon form).

    The row object is what the release passes ``deserialize_value``: ``.value`` is the raw bytes on 2.x and
    the decoded JSON on 3.x (airflow-xcom-api.md §2b).
    """
    _resolve_backend()
    from collections import namedtuple

    from e2e_canon import canonical
    from e2e_db import DBView

    XCom = import_airflow_xcom().XCom
    Row = namedtuple("Row", ["value"])
    results = []
    for row in DBView(db_url).xcom_rows():
        item: dict[str, Any] = {k: getattr(row, k) for k in IDENT}
        stored = row.raw if VERSION < (3, 0) else json.loads(row.raw)
        try:
            value = XCom.deserialize_value(Row(stored))
            item.update(value=canonical(value), type=type(value).__qualname__)
        except Exception as exc:
            item["error"] = f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
        item["stored_bytes"] = len(row.raw)
        item["reference"] = row.is_reference
        results.append(item)
    out.write_text(json.dumps(results, indent=1))


def migrate(sqlite_foreign_keys_off: bool) -> None:
    """``airflow db migrate``; optionally with SQLite's foreign keys off on every connection it opens.

    On SQLite, 3.0's migration 0032 (rename execution_date) rebuilds ``dag_run`` with a batch ALTER while
    Airflow's connect hook has ``PRAGMA foreign_keys=ON``: dropping the old table cascades and deletes every
    task instance and XCom row. Postgres and MySQL alter in place. The migration opens its connections on an
    engine it builds itself (``reconfigure_orm``), so the hook goes where Airflow installs its own, after it.
    """
    if sqlite_foreign_keys_off:
        from airflow import settings
        from sqlalchemy import event

        def foreign_keys_off(dbapi_connection: Any, record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=OFF")
            cursor.close()

        original = settings.setup_event_handlers

        def setup_event_handlers(engine: Any) -> None:
            original(engine)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", foreign_keys_off)

        settings.setup_event_handlers = setup_event_handlers  # type: ignore[assignment]
        settings.reconfigure_orm()
    _cli("db", "migrate")


def _run_id(db_url: str, dag_id: str, date: str) -> str:
    from e2e_db import DBView

    return DBView(db_url).run_id_for(dag_id, date)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="write the release's capabilities as JSON")
    info.add_argument("--out", type=Path, required=True)
    run = sub.add_parser("run-dag", help="run one DAG file once at a logical date")
    run.add_argument("--dag-file", type=Path, required=True)
    run.add_argument("--dag-id", required=True)
    run.add_argument("--date", required=True, help="ISO logical date, e.g. 2024-01-01T00:00:00+00:00")
    dmp = sub.add_parser("dump", help="read every xcom row back through the backend, as JSON")
    dmp.add_argument("--db-url", required=True, help="the SQLAlchemy URL of the metadata DB")
    dmp.add_argument("--out", type=Path, required=True)
    mig = sub.add_parser("migrate", help="airflow db migrate, in this process")
    mig.add_argument("--sqlite-foreign-keys-off", action="store_true")
    scen = sub.add_parser("scenario", help="the e2e stages, snapshots written to --out")
    scen.add_argument("--dag-file", type=Path, required=True)
    scen.add_argument("--dag-id", required=True)
    scen.add_argument("--db-url", required=True, help="the SQLAlchemy URL of the metadata DB")
    scen.add_argument("--out", type=Path, required=True)
    scen.add_argument("--good", required=True, help="logical date of the run with S3 up")
    scen.add_argument("--down", help="logical date of the run with S3 unreachable (omitted: no such run)")
    scen.add_argument("--down-endpoint", required=True, help="an endpoint URL nothing listens on")
    scen.add_argument("--steps", required=True, help='reruns, JSON: [{"task_id", "map_index", "env"}]')
    scen.add_argument("--whole-bucket", action="store_true", help="also list every key in the bucket")
    scen.add_argument(
        "--api-runs",
        default="[]",
        help='runs of other DAGs for the REST API checks, JSON: [{"stage", "dag_file", "dag_id", "date", "env"}]',
    )
    args = parser.parse_args(argv)
    if args.command == "info":
        write_info(args.out)
    elif args.command == "run-dag":
        run_dag(args.dag_file, args.dag_id, args.date)
    elif args.command == "dump":
        dump(args.db_url, args.out)
    elif args.command == "migrate":
        migrate(args.sqlite_foreign_keys_off)
    else:
        return scenario(args)
    return 0


def exit_without_teardown(code: int) -> NoReturn:
    """Exit as Python would, minus freeing every object one by one: after a scenario that teardown alone costs
    about 2 CPU-seconds on 3.x (750,000 objects: the execution API's routes, pydantic models), 0.7 on 2.10. Still
    done first: waiting for non-daemon threads, exit handlers (Airflow disposes its engine, logging flushes and
    closes its handlers, weakref finalizers stop the in-process API's loop), flushing stdout and stderr."""
    import atexit
    import threading

    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    code = main()
    if sys.argv[1:2] == ["scenario"]:  # read by the tests only once this process has gone
        exit_without_teardown(code)
    sys.exit(code)
