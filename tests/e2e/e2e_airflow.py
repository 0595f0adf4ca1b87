"""Drive one Airflow release from the outside: a fresh home, its DB, its runs, and what they left behind.

Standard library only: the pytest process (any matrix venv) and rehearsal.py (whatever Python nox runs it
with) both use it, and neither imports Airflow. Every Airflow step is a subprocess of the release's own
interpreter with an environment built here, so the backend is configured by environment variables alone.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DAGS = HERE / "dags"
RUNNER = HERE / "e2e_runner.py"
E2E_DAG_FILE = "xcom_s3_e2e_dag.py"
E2E_DAG_ID = "xcom_s3_e2e"
BACKEND = "xcom_s3.S3XComBackend"
MARKER = "__xcom_s3__"
PYCACHE = Path(tempfile.gettempdir()) / "xcom-s3-e2e-pycache"
#: A reference is a URI, a codec, a size, a checksum and a shape: far below this.
MAX_REFERENCE_BYTES = 1024


def release_version(python: str) -> tuple[int, int, int]:
    """The Airflow version installed for ``python``, read from package metadata without importing Airflow."""
    code = (
        "import importlib.metadata as m\n"
        "for d in ('apache-airflow', 'apache-airflow-core'):\n"
        "    try:\n        print(m.version(d)); break\n"
        "    except m.PackageNotFoundError:\n        pass\n"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    if not out:
        raise RuntimeError(f"{python} has no apache-airflow installed")
    parts = [int("".join(c for c in p if c.isdigit()) or 0) for p in out.split(".")[:3]]
    return parts[0], parts[1], parts[2]


@dataclass
class Step:
    """One Airflow subprocess: what ran, how long it took, and where its output went."""

    name: str
    argv: list[str]
    returncode: int
    seconds: float
    log: Path

    def tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


@dataclass(frozen=True)
class XComRow:
    """One ``xcom`` row; ``raw`` is the column's JSON text (bytes on 2.x, a JSON document on 3.x)."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    key: str
    raw: bytes

    @property
    def decoded(self) -> Any:
        return json.loads(self.raw)

    @property
    def is_reference(self) -> bool:
        value = self.decoded
        return isinstance(value, dict) and value.get(MARKER) == 1 and value.get("kind") == "ref"

    @property
    def ident(self) -> tuple[str, int, str]:
        return self.task_id, self.map_index, self.key


def _raw(value: Any) -> bytes:
    """The column's JSON text: bytes on 2.x; on 3.x text, or a number (SQLite affinity of a JSON column)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value).encode("utf-8")


@dataclass(frozen=True)
class DBView:
    """Read-only queries on an Airflow SQLite metadata DB with the stdlib sqlite3 module."""

    path: Path

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def run_id_for(self, dag_id: str, date: str) -> str:
        """The run at logical date ``date``: ids differ (``manual__<now>`` on 3.x, ``backfill__`` on 2.4)."""
        columns = {row[1] for row in self.query("PRAGMA table_info(dag_run)")}
        column = "logical_date" if "logical_date" in columns else "execution_date"
        stamp = date[:19].replace("T", " ")  # SQLite holds "YYYY-MM-DD HH:MM:SS.ffffff" in UTC
        sql = f"SELECT run_id FROM dag_run WHERE dag_id = ? AND {column} LIKE ?"
        rows = self.query(sql, dag_id, f"{stamp}%")
        if len(rows) != 1:
            raise LookupError(f"expected one run of {dag_id} at {date}, found {rows}")
        return str(rows[0][0])

    def run_state(self, run_id: str) -> str:
        return str(self.query("SELECT state FROM dag_run WHERE run_id = ?", run_id)[0][0])

    def task_states(self, run_id: str) -> dict[tuple[str, int], str | None]:
        rows = self.query("SELECT task_id, map_index, state FROM task_instance WHERE run_id = ?", run_id)
        return {(str(t), int(m)): s for t, m, s in rows}

    def xcom_rows(self, run_id: str | None = None) -> list[XComRow]:
        sql = "SELECT dag_id, run_id, task_id, map_index, key, value FROM xcom"
        rows = self.query(sql + " WHERE run_id = ?", run_id) if run_id else self.query(sql)
        out = [XComRow(d, r, t, int(m), k, _raw(v)) for d, r, t, m, k, v in rows]
        return sorted(out, key=lambda r: (r.run_id, r.task_id, r.map_index, r.key))


def _pythonpath(extra: list[Path]) -> str:
    parts = [str(p) for p in extra]
    parts += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p not in parts]
    return os.pathsep.join(parts)


@dataclass
class AirflowHome:
    """A fresh, absolute AIRFLOW_HOME with a SQLite DB, driven through one release's interpreter."""

    python: str
    home: Path
    s3_env: dict[str, str]
    prefix: str
    threshold: int = 1024
    version: tuple[int, int, int] = (0, 0, 0)
    db_file: Path | None = None
    steps: list[Step] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        home: Path,
        *,
        python: str,
        s3_env: dict[str, str],
        prefix: str,
        threshold: int = 1024,
        dag_files: tuple[str, ...] = (E2E_DAG_FILE,),
        db_file: Path | None = None,
    ) -> AirflowHome:
        """A new home with copies of ``dag_files``; ``db_file`` shares another home's DB (the rehearsal)."""
        home = home.resolve()
        (home / "dags").mkdir(parents=True, exist_ok=True)
        (home / "steps").mkdir(exist_ok=True)
        for name in dag_files:
            shutil.copy(DAGS / name, home / "dags" / name)
        db = (db_file or home / "airflow.db").resolve()
        return cls(python, home, dict(s3_env), prefix, threshold, release_version(python), db)

    @property
    def db(self) -> DBView:
        return DBView(self.db_file or self.home / "airflow.db")

    @property
    def dag_file(self) -> Path:
        return self.home / "dags" / E2E_DAG_FILE

    def env(self, **overrides: str) -> dict[str, str]:
        """The process environment: no AIRFLOW* variable inherited, every one that matters set here."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        # Airflow imports ~1000 modules per process: with PYTHONDONTWRITEBYTECODE set (as on our dev machines)
        # each process compiles them all again, 10-15 s of CPU. Cache the bytecode outside the repo instead.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.setdefault("PYTHONPYCACHEPREFIX", str(PYCACHE))
        env.update(self.s3_env)
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.home / "dags"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                # 2.3/2.4's `dags test` is a backfill whose job heartbeat sleeps out this interval (5 s by
                # default) on every loop; nothing XCom-related depends on it.
                "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "1",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db.path}",
                "AIRFLOW__CORE__XCOM_BACKEND": BACKEND,
                "AIRFLOW__XCOM_S3__PREFIX": self.prefix,
                "AIRFLOW__XCOM_S3__THRESHOLD": str(self.threshold),
                "PYTHONPATH": _pythonpath([REPO / "compat", REPO / "backend", HERE]),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(overrides)
        return env

    def run(self, name: str, argv: list[str], **env: str) -> Step:
        """Run one Airflow subprocess, its output to ``steps/<n>-<name>.log``."""
        log = self.home / "steps" / f"{len(self.steps):02d}-{name}.log"
        start = time.monotonic()
        with log.open("w") as out:
            env_ = self.env(**env)
            proc = subprocess.run(argv, env=env_, stdout=out, stderr=subprocess.STDOUT, cwd=self.home)
        step = Step(name, argv, proc.returncode, time.monotonic() - start, log)
        self.steps.append(step)
        return step

    def airflow(self, name: str, *args: str, **env: str) -> Step:
        return self.run(name, [self.python, "-m", "airflow", *args], **env)

    def init_db(self) -> Step:
        """``db init`` up to 2.6, ``db migrate`` from 2.7 (install-notes.md)."""
        command = "migrate" if self.version >= (2, 7, 0) else "init"
        return self.airflow(f"db-{command}", "db", command)

    def run_dag(
        self,
        date: str,
        name: str = "dag-run",
        *,
        dag_file: str = E2E_DAG_FILE,
        dag_id: str = E2E_DAG_ID,
        **env: str,
    ) -> Step:
        """One run of a DAG in this home's dags folder at ``date``, in its own process."""
        argv = [self.python, str(RUNNER), "run-dag", "--dag-file", str(self.home / "dags" / dag_file)]
        return self.run(name, [*argv, "--dag-id", dag_id, "--date", date], **env)

    def dump(self, out: Path) -> Step:
        """Every xcom row of the DB read back through this release's backend (e2e_runner.dump)."""
        argv = [self.python, str(RUNNER), "dump", "--db", str(self.db.path), "--out", str(out)]
        return self.run("dump", argv)

    def scenario(self, out: Path, *, good: str, down: str, down_endpoint: str, steps: list[Any]) -> Step:
        """The whole e2e scenario in one Airflow process (e2e_runner.scenario); snapshots go to ``out``."""
        out.mkdir(parents=True, exist_ok=True)
        argv = [
            self.python,
            str(RUNNER),
            "scenario",
            "--dag-file",
            str(self.dag_file),
            "--dag-id",
            E2E_DAG_ID,
        ]
        argv += ["--db", str(self.db.path), "--out", str(out), "--good", good, "--down", down]
        argv += ["--down-endpoint", down_endpoint, "--steps", json.dumps(steps)]
        return self.run("scenario", argv)

    def logs_text(self) -> str:
        """Every step's output and task log file: where a task's error ends up varies by release."""
        texts = [step.log.read_text(errors="replace") for step in self.steps]
        logs = self.home / "logs"
        if logs.is_dir():
            texts += [p.read_text(errors="replace") for p in sorted(logs.rglob("*")) if p.is_file()]
        return "\n".join(texts)
