"""Run one Airflow release from the outside: a fresh home, and each Airflow step in it as a subprocess.

Every step is a subprocess of the release's own interpreter with an environment built here, so the backend is
configured by environment variables alone; its output goes to a log in the home. Standard library only: the pytest
process (any matrix venv) and rehearsal.py import it without importing Airflow. What the steps leave in the DB is
read with e2e_db; a migrated SQLite DB is kept per venv by e2e_db_template; the release's version comes from
airflow_release.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_release import release_text, release_version
from e2e_db import DBView, sqlite_url
from e2e_db_template import TEMPLATE_FORMAT, copy_template, installed, save_template

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DAGS = HERE / "dags"
RUNNER = HERE / "e2e_runner.py"
E2E_DAG_FILE = "xcom_s3_e2e_dag.py"
E2E_DAG_ID = "xcom_s3_e2e"
#: The REST API checks' DAG (test_rest_api.py) and the plugin module its operator and links live in.
LINKS_DAG_FILE = "xcom_s3_links_dag.py"
LINKS_DAG_ID = "xcom_s3_e2e_links"
LINKS_PLUGIN_FILE = "xcom_s3_links.py"
#: The backend unless the caller names another (--backend, XCOM_S3_TEST_BACKEND).
DEFAULT_BACKEND = "xcom_s3.S3XComBackend"
PYCACHE = Path(tempfile.gettempdir()) / "xcom-s3-e2e-pycache"
#: A reference is a URI, a codec, a size, a checksum and a shape: far below this.
MAX_REFERENCE_BYTES = 1024


def _is_this_interpreter(python: str) -> bool:
    """Same path as sys.executable, not resolved: a venv's python links to a base interpreter other venvs share."""
    return os.path.abspath(python) == os.path.abspath(sys.executable)


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


def _pythonpath(extra: list[Path]) -> str:
    parts = [str(p) for p in extra]
    parts += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p not in parts]
    return os.pathsep.join(parts)


@dataclass
class AirflowHome:
    """A fresh, absolute AIRFLOW_HOME and its metadata DB, driven through one release's interpreter."""

    python: str
    home: Path
    s3_env: dict[str, str]
    prefix: str
    threshold: int = 1024
    version: tuple[int, int, int] = (0, 0, 0)
    db_url: str = ""
    #: ``module.Class`` Airflow is configured with ([core] xcom_backend)
    backend: str = DEFAULT_BACKEND
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
        plugin_files: tuple[str, ...] = (),
        db_url: str | None = None,
        backend: str = DEFAULT_BACKEND,
    ) -> AirflowHome:
        """A new home with copies of ``dag_files`` and of ``plugin_files`` (into its plugins folder, Airflow's
        default ``$AIRFLOW_HOME/plugins``; both from tests/e2e/dags); its own SQLite DB unless ``db_url`` names one
        (PostgreSQL, or another home's DB in the rehearsal). ``s3_env`` holds the backend's own settings too
        (s3_server.backend_env)."""
        home = home.resolve()
        (home / "dags").mkdir(parents=True, exist_ok=True)
        (home / "steps").mkdir(exist_ok=True)
        for name in dag_files:
            shutil.copy(DAGS / name, home / "dags" / name)
        if plugin_files:
            (home / "plugins").mkdir(exist_ok=True)
        for name in plugin_files:
            shutil.copy(DAGS / name, home / "plugins" / name)
        url = db_url or sqlite_url(home / "airflow.db")
        return cls(python, home, dict(s3_env), prefix, threshold, release_version(python), url, backend)

    @property
    def db(self) -> DBView:
        return DBView(self.db_url)

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
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.db_url,
                "AIRFLOW__CORE__XCOM_BACKEND": self.backend,
                "AIRFLOW__XCOM_S3__PREFIX": self.prefix,
                "AIRFLOW__XCOM_S3__THRESHOLD": str(self.threshold),
                "PYTHONPATH": _pythonpath([REPO / "compat", REPO / "backend", HERE, HERE.parent]),
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

    @property
    def init_command(self) -> str:
        """``db init`` up to 2.6, ``db migrate`` from 2.7 (install-notes.md)."""
        return "migrate" if self.version >= (2, 7, 0) else "init"

    def init_db(self, templates: Path | None = None) -> Step:
        """Initialise the DB the release's way (init_command).

        ``templates``: where this interpreter's venv keeps what that command, then on 2.x ``airflow sync-perm``,
        left in a home (template_key names one). There is one: a copy, the files those commands here would leave
        (the DB holds no path; airflow.cfg's paths become this home's). None yet, or unreadable: the commands, whose
        result becomes the template. PostgreSQL, a DB outside the home and another interpreter than this one always
        migrate (and sync nothing)."""
        own_sqlite = self.db.dialect == "sqlite" and self.db.path == self.home / "airflow.db"
        if templates is None or not own_sqlite or not _is_this_interpreter(self.python):
            return self.airflow(f"db-{self.init_command}", "db", self.init_command)
        template = templates / f"airflow-{release_text(self.python)}-{self.template_key()}"
        start = time.monotonic()
        try:
            head = copy_template(template, self.home)
        except (OSError, ValueError, KeyError, TypeError, sqlite3.Error):
            step = self.airflow(f"db-{self.init_command}", "db", self.init_command)
            if step.returncode == 0 and self._sync_permissions():
                save_template(self.home, template)
            return step
        log = self.home / "steps" / f"{len(self.steps):02d}-db-template.log"
        made = f"`airflow db {self.init_command}`" + (" and `airflow sync-perm`" if self.version < (3, 0, 0) else "")
        log.write_text(f"copied {template}: what {made} left here, alembic head {head}\n")
        step = Step("db-template", ["cp", "-r", str(template), str(self.home)], 0, time.monotonic() - start, log)
        self.steps.append(step)
        return step

    def _sync_permissions(self) -> bool:
        """2.x: FAB's roles and permissions written into what becomes the template (``airflow sync-perm``), where
        the 2.x webserver app (e2e_rest_reads) would write them into every session's fresh DB (hundreds of commits:
        2 s a session on 2.3, 5 s and more on 2.9). False if that failed: no template then, the next session tries
        again. 3.x has no FAB."""
        return self.version >= (3, 0, 0) or self.airflow("sync-perm", "sync-perm").returncode == 0

    def template_key(self) -> str:
        """What a migrated SQLite DB depends on: the installed code and every Airflow setting but the ones naming
        this home, its DB and the backend (a migration reads none of them; the backend's settings hold a
        per-session prefix and endpoint). Bump TEMPLATE_FORMAT when what a template is changes."""
        per_home = {"AIRFLOW_HOME", "AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"}
        per_home |= {"AIRFLOW__CORE__XCOM_BACKEND", *self.s3_env}
        settings = {
            k: v
            for k, v in self.env().items()
            if k.startswith("AIRFLOW") and k not in per_home and not k.startswith("AIRFLOW__XCOM_S3__")
        }
        facts = {"format": TEMPLATE_FORMAT, "command": self.init_command, "settings": settings, **installed()}
        return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]

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
        argv = [self.python, str(RUNNER), "dump", "--db-url", self.db_url, "--out", str(out)]
        return self.run("dump", argv)

    def scenario(
        self,
        out: Path,
        *,
        good: str,
        down: str | None,
        down_endpoint: str,
        steps: list[Any],
        whole_bucket: bool,
        api_runs: list[dict[str, Any]] | None = None,
    ) -> Step:
        """The whole e2e scenario in one Airflow process (e2e_runner.scenario); snapshots go to ``out``.

        ``down`` None skips the run with S3 unreachable; ``whole_bucket`` also lists every key in the bucket
        before and after the reruns (a backend whose layout the harness does not know); ``api_runs``: runs of
        other DAGs in this home's dags folder, ``{"stage", "dag_file", "dag_id", "date", "env"}`` with the file's
        name, one stage each, before the S3-down run."""
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
        argv += ["--db-url", self.db_url, "--out", str(out), "--good", good]
        argv += ["--down", down] if down else []
        argv += ["--down-endpoint", down_endpoint, "--steps", json.dumps(steps)]
        argv += ["--whole-bucket"] if whole_bucket else []
        runs = [run | {"dag_file": str(self.home / "dags" / run["dag_file"])} for run in api_runs or []]
        argv += ["--api-runs", json.dumps(runs)] if runs else []
        return self.run("scenario", argv)

    def logs_text(self) -> str:
        """Every step's output and task log file: where a task's error ends up varies by release."""
        texts = [step.log.read_text(errors="replace") for step in self.steps]
        logs = self.home / "logs"
        if logs.is_dir():
            texts += [p.read_text(errors="replace") for p in sorted(logs.rglob("*")) if p.is_file()]
        return "\n".join(texts)
