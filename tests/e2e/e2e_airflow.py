"""Drive one Airflow release from the outside: a fresh home, its DB, its runs, and what they left behind.

Standard library only: the pytest process (any matrix venv) and rehearsal.py (whatever Python nox runs it
with) both use it, and neither imports Airflow. Every Airflow step is a subprocess of the release's own
interpreter with an environment built here, so the backend is configured by environment variables alone.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
# xcom_s3.xcom_table (standard library only): the metadata DB's XCom layout, shared with `xcom-s3 gc`.
if str(REPO / "backend") not in sys.path:
    sys.path.append(str(REPO / "backend"))
from airflow_release import release_text, release_version  # noqa: E402
from xcom_s3 import xcom_table  # noqa: E402

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
MARKER = "__xcom_s3__"
PYCACHE = Path(tempfile.gettempdir()) / "xcom-s3-e2e-pycache"
#: Bump when what a migrated SQLite template holds, or how it is made, changes (AirflowHome.init_db): templates
#: made before are then never read.
TEMPLATE_FORMAT = 1
MANIFEST = "manifest.json"
#: A reference is a URI, a codec, a size, a checksum and a shape: far below this.
MAX_REFERENCE_BYTES = 1024


def _is_this_interpreter(python: str) -> bool:
    """Same path as sys.executable, not resolved: a venv's python links to a base interpreter other venvs share."""
    return os.path.abspath(python) == os.path.abspath(sys.executable)


def installed() -> dict[str, Any]:
    """What a migration depends on besides settings, for this interpreter: Python, the SQLite library, and every
    distribution (name and version) in its site-packages: Airflow, providers, SQLAlchemy, alembic."""
    import site

    dirs = [Path(d) for d in site.getsitepackages() if Path(d).is_dir()]
    dists = sorted(e.name for d in dirs for e in os.scandir(d) if e.name.endswith((".dist-info", ".egg-info")))
    return {"python": sys.version, "sqlite": sqlite3.sqlite_version, "dists": dists}


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


#: How psql prints NULL in CSV (an empty field would be indistinguishable from an empty string); no backslash,
#: which psql would read as an escape inside the quotes of its pset command.
_PG_NULL = "<NULL:xcom-s3>"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


@dataclass(frozen=True)
class DBView:
    """Read-only queries on an Airflow metadata DB: SQLite with the stdlib, PostgreSQL through psql.

    ``url`` is the SQLAlchemy URL Airflow was given. No driver is imported here, so any Python can read the
    DB (the rehearsal driver runs on nox's).
    """

    url: str

    @classmethod
    def sqlite(cls, path: Path) -> DBView:
        return cls(sqlite_url(path))

    @property
    def dialect(self) -> str:
        return "postgresql" if self.url.startswith("postgresql") else "sqlite"

    @property
    def path(self) -> Path:
        if self.dialect != "sqlite":
            raise ValueError(f"{self.url} is not a SQLite database")
        return Path(self.url.removeprefix("sqlite:///"))

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` with ``?`` placeholders; PostgreSQL values arrive as text (None for NULL)."""
        if self.dialect == "sqlite":
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            try:
                return con.execute(sql, params).fetchall()
            finally:
                con.close()
        from pg_server import psql

        pieces = sql.split("?")
        if len(pieces) - 1 != len(params):
            raise ValueError(f"{len(params)} parameters for {len(pieces) - 1} placeholders: {sql}")
        text = pieces[0] + "".join(f":'p{i}'" + piece for i, piece in enumerate(pieces[1:]))
        variables = {f"p{i}": str(value) for i, value in enumerate(params)}
        out = psql(self.url, f"\\pset null '{_PG_NULL}'\n{text};\n", variables=variables, csv=True)
        rows = list(csv.reader(io.StringIO(out)))[1:]
        return [tuple(None if cell == _PG_NULL else cell for cell in row) for row in rows]

    def columns(self, table: str) -> set[str]:
        if self.dialect == "sqlite":
            return {str(row[1]) for row in self.query(f"PRAGMA table_info({table})")}
        sql = (
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ?"
        )
        return {str(row[0]) for row in self.query(sql, table)}

    def column_type(self, table: str, column: str) -> str | None:
        """The declared type of a column (PostgreSQL: ``bytea``, ``jsonb``, ...)."""
        if self.dialect == "sqlite":
            types = {str(r[1]): str(r[2]).lower() for r in self.query(f"PRAGMA table_info({table})")}
            return types.get(column)
        sql = (
            "SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ? AND column_name = ?"
        )
        rows = self.query(sql, table, column)
        return str(rows[0][0]) if rows else None

    def run_id_for(self, dag_id: str, date: str) -> str:
        """The run at logical date ``date``: ids differ (``manual__<now>`` on 3.x, ``backfill__`` on 2.4)."""
        column = "logical_date" if "logical_date" in self.columns("dag_run") else "execution_date"
        # SQLite holds "YYYY-MM-DD HH:MM:SS.ffffff", PostgreSQL prints "YYYY-MM-DD HH:MM:SS+00" (psql runs in UTC)
        stamp = date[:19].replace("T", " ")
        sql = f"SELECT run_id FROM dag_run WHERE dag_id = ? AND CAST({column} AS TEXT) LIKE ?"
        rows = self.query(sql, dag_id, f"{stamp}%")
        if len(rows) != 1:
            raise LookupError(f"expected one run of {dag_id} at {date}, found {rows}")
        return str(rows[0][0])

    def run_state(self, run_id: str) -> str:
        return str(self.query("SELECT state FROM dag_run WHERE run_id = ?", run_id)[0][0])

    def _ti_index(self) -> str:
        """3.4 stores the map index as ``region_index`` (loop iterations share the column)."""
        return xcom_table.ti_index_column(self.columns("task_instance"))

    def task_states(self, run_id: str) -> dict[tuple[str, int], str | None]:
        sql = f"SELECT task_id, {self._ti_index()}, state FROM task_instance WHERE run_id = ?"
        return {(str(t), int(m)): s for t, m, s in self.query(sql, run_id)}

    def ti_ids(self, run_id: str) -> dict[tuple[str, int], str]:
        """Task instance ids (3.x; 3.4 keys objects by them), canonical UUID text; empty on 2.x."""
        if "id" not in self.columns("task_instance"):
            return {}
        sql = f"SELECT task_id, {self._ti_index()}, id FROM task_instance WHERE run_id = ?"
        return {(str(t), int(m)): _uuid_text(i) for t, m, i in self.query(sql, run_id)}

    def _xcom_select(self) -> str:
        """One ``xcom`` table up to 3.3; 3.4 keeps older rows in ``xcom_v1`` and writes new ones to ``xcom_v2``,
        keyed by the task attempt's id: xcom_s3.xcom_table, the layout `xcom-s3 gc` reads too."""
        return xcom_table.rows_select(self.has_table, self.columns)

    def xcom_rows(self, run_id: str | None = None) -> list[XComRow]:
        sql = f"SELECT dag_id, run_id, task_id, map_index, key, value FROM ({self._xcom_select()}) AS rows"
        rows = self.query(sql + " WHERE run_id = ?", run_id) if run_id else self.query(sql)
        out = [XComRow(d, r, t, int(m), k, _raw(self._value(v))) for d, r, t, m, k, v in rows]
        return sorted(out, key=lambda r: (r.run_id, r.task_id, r.map_index, r.key))

    def _value(self, cell: Any) -> Any:
        """psql prints a bytea (2.x's column) as ``\\x<hex>``; JSON text never starts with a backslash."""
        if self.dialect == "postgresql" and isinstance(cell, str) and cell.startswith("\\x"):
            return bytes.fromhex(cell[2:])
        return cell

    def has_table(self, table: str) -> bool:
        if self.dialect == "sqlite":
            return bool(self.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", table))
        return self.query("SELECT to_regclass(?)", table)[0][0] is not None

    def count(self, table: str) -> int | None:
        """Rows in ``table``, None when it does not exist."""
        return int(self.query(f"SELECT count(*) FROM {table}")[0][0]) if self.has_table(table) else None

    def snapshot(self, dest: Path) -> None:
        """Freeze what DBView reads into a SQLite file in the pre-3.4 layout, whatever the release and dialect."""
        date = "logical_date" if "logical_date" in self.columns("dag_run") else "execution_date"
        runs = self.query(f"SELECT dag_id, run_id, state, CAST({date} AS TEXT) FROM dag_run")
        ti_id = "id" if "id" in self.columns("task_instance") else "NULL"
        tis = self.query(f"SELECT dag_id, run_id, task_id, {self._ti_index()}, state, {ti_id} FROM task_instance")
        xcoms = [(r.dag_id, r.run_id, r.task_id, r.map_index, r.key, r.raw) for r in self.xcom_rows()]
        with sqlite3.connect(dest) as dst:
            dst.execute(f"CREATE TABLE dag_run (dag_id, run_id, state, {date})")
            dst.execute("CREATE TABLE task_instance (dag_id, run_id, task_id, map_index, state, id)")
            dst.execute("CREATE TABLE xcom (dag_id, run_id, task_id, map_index, key, value)")
            dst.executemany("INSERT INTO dag_run VALUES (?, ?, ?, ?)", runs)
            dst.executemany("INSERT INTO task_instance VALUES (?, ?, ?, ?, ?, ?)", tis)
            dst.executemany("INSERT INTO xcom VALUES (?, ?, ?, ?, ?, ?)", xcoms)


def _uuid_text(value: Any) -> str:
    """SQLite holds 3.x's UUID ids as 32 hex digits, PostgreSQL as uuid: one text form for both (2.10+ has its own
    string ids, kept as they are)."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(value)


def alembic_head(path: Path) -> str:
    """The one alembic revision of a SQLite DB that passes SQLite's own check; ValueError if it has none.
    Read as immutable: a read-only open of a WAL-mode DB (3.x) would leave -wal and -shm files beside it."""
    con = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        check = con.execute("PRAGMA quick_check").fetchall()
        heads = con.execute("SELECT version_num FROM alembic_version").fetchall()
    finally:
        con.close()
    if check != [("ok",)] or len(heads) != 1:
        raise ValueError(f"{path}: integrity {check[:3]}, alembic heads {heads}")
    return str(heads[0][0])


def save_template(home: Path, template: Path) -> None:
    """What a migration just left at the top of ``home`` (the DB, airflow.cfg, 2.x's webserver_config.py) becomes
    ``template``, a directory with a manifest (sha256 of each file), made aside and renamed into place: a reader
    never sees part of one. Another process saving the same template at once: one rename wins, both are copies
    of one migration. A directory that cannot be written costs only the next session's migration."""
    if any(home.glob("*-wal")) or any(home.glob("*-journal")):
        return  # part of the DB is not in its file
    part = template.with_name(f".{template.name}.{uuid.uuid4().hex}.part")
    try:
        part.mkdir(parents=True)
        files = {}
        for path in sorted(p for p in home.iterdir() if p.is_file()):
            shutil.copyfile(path, part / path.name)
            files[path.name] = {"sha256": _sha256((part / path.name).read_bytes()), "mode": path.stat().st_mode & 0o777}
        alembic_head(part / "airflow.db")
        (part / MANIFEST).write_text(json.dumps({"home": str(home), "files": files}, indent=1))
        shutil.rmtree(template, ignore_errors=True)  # an unreadable one (a readable one is used), or a racer's
        os.rename(part, template)
    except (OSError, sqlite3.Error, ValueError):
        shutil.rmtree(part, ignore_errors=True)


def copy_template(template: Path, home: Path) -> str:
    """The template's files into ``home`` (its own path where they named the template's home), and the DB's
    alembic head; OSError/ValueError/sqlite3.Error, nothing left behind, if any file is missing or altered."""
    written: list[Path] = []
    try:
        manifest = json.loads((template / MANIFEST).read_text())
        old, new = str(manifest["home"]).encode(), str(home).encode()
        for name, meta in manifest["files"].items():
            data = (template / name).read_bytes()
            if _sha256(data) != meta["sha256"]:
                raise ValueError(f"{template / name} is not the file the migration left")
            dest = home / name
            written.append(dest)
            dest.write_bytes(data if name == "airflow.db" else data.replace(old, new))
            dest.chmod(int(meta["mode"]))
        return alembic_head(home / "airflow.db")
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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

        ``templates``: where this interpreter's venv keeps what that command left in a home (template_key names
        one). There is one: a copy, the files a migration here would leave (the DB holds no path; airflow.cfg's
        paths become this home's). None yet, or unreadable: the migration, whose result becomes the template.
        PostgreSQL, a DB outside the home and another interpreter than this one always migrate."""
        own_sqlite = self.db.dialect == "sqlite" and self.db.path == self.home / "airflow.db"
        if templates is None or not own_sqlite or not _is_this_interpreter(self.python):
            return self.airflow(f"db-{self.init_command}", "db", self.init_command)
        template = templates / f"airflow-{release_text(self.python)}-{self.template_key()}"
        start = time.monotonic()
        try:
            head = copy_template(template, self.home)
        except (OSError, ValueError, KeyError, TypeError, sqlite3.Error):
            step = self.airflow(f"db-{self.init_command}", "db", self.init_command)
            if step.returncode == 0:
                save_template(self.home, template)
            return step
        log = self.home / "steps" / f"{len(self.steps):02d}-db-template.log"
        log.write_text(f"copied {template}: what `airflow db {self.init_command}` left here, alembic head {head}\n")
        step = Step("db-template", ["cp", "-r", str(template), str(self.home)], 0, time.monotonic() - start, log)
        self.steps.append(step)
        return step

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
