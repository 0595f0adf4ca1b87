"""A throwaway PostgreSQL cluster on 127.0.0.1 for the e2e runs and the upgrade rehearsal.

    python tests/pg_server.py check      # can a cluster start here? exit 0, or say what to install

``PostgresCluster.start()`` runs Debian's ``initdb`` + ``pg_ctl`` on a free port in a temporary directory, as an
unprivileged user when this process is root (PostgreSQL refuses to run as root); ``stop()`` stops it and removes the
directory. ``database()`` makes a fresh database and returns the SQLAlchemy URL Airflow is given.
XCOM_S3_TEST_POSTGRES_URL points at a server that already runs instead (``postgresql://user[:password]@host:port``;
each database is still made fresh).

Standard library only: `.ci/run` runs ``check`` with the system's ``python3``, before any venv exists. So databases
are made, and a server is checked, with PostgreSQL's own ``psql`` client, not SQLAlchemy (which reads them: e2e_db).

Durability is switched off (fsync, synchronous_commit, full_page_writes): the cluster lives for one test session.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

# tools.matrix.moto_process (standard library only) has the port finder. The suite has the repo root on sys.path
# (conftest); run as a script (`python3 tests/pg_server.py check`), this file puts it there.
if (_ROOT := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.append(_ROOT)
from tools.matrix.moto_process import free_port

#: Set to use a running server instead of starting one (its user must be allowed to CREATE DATABASE).
URL_VAR = "XCOM_S3_TEST_POSTGRES_URL"
#: Set to the directory holding initdb/pg_ctl when they are neither on PATH nor under /usr/lib/postgresql.
BINDIR_VAR = "XCOM_S3_PG_BINDIR"
#: Where throwaway clusters go (default: the temp dir; /tmp when the server runs as another account).
DIR_VAR = "XCOM_S3_PG_DIR"
#: The unprivileged account a root process runs the server as (Debian's package creates it).
SERVER_USER = "postgres"
#: The superuser the cluster is created with; local TCP connections are trusted.
DB_USER = "xcom_s3"
INSTALL_HINT = (
    "install PostgreSQL's server (Debian/Ubuntu: `apt-get install -y postgresql`), or set "
    f"{BINDIR_VAR} to the directory holding initdb and pg_ctl, or set {URL_VAR} to a running server"
)


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be started or reached here; the message says what to install or set."""


def find_bindir() -> Path:
    """The directory with initdb and pg_ctl: $XCOM_S3_PG_BINDIR, PATH, or the newest /usr/lib/postgresql/*/bin."""
    candidates = [os.environ.get(BINDIR_VAR, "")]
    found = shutil.which("initdb")
    candidates.append(str(Path(found).resolve().parent) if found else "")
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted(versions, key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0)[::-1]
    for candidate in filter(None, candidates):
        path = Path(candidate)
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    raise PostgresUnavailable(f"PostgreSQL's initdb and pg_ctl were not found: {INSTALL_HINT}")


def find_psql() -> str:
    """The psql client that makes databases and checks a server answers."""
    for candidate in (shutil.which("psql"), *sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))[::-1]):
        if candidate:
            return candidate
    raise PostgresUnavailable(f"PostgreSQL's psql client was not found: {INSTALL_HINT}")


def airflow_url(server_url: str, database: str) -> str:
    """The SQLAlchemy URL for ``database`` on ``server_url`` with the driver every release's lock carries."""
    parts = urlparse(server_url)
    return f"postgresql+psycopg2://{parts.netloc}/{database}"


def psql_url(url: str) -> str:
    """A URL psql accepts: SQLAlchemy's ``postgresql+driver://`` scheme without the driver."""
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+')[0]}://{rest}"


def psql(url: str, sql: str) -> str:
    """Run ``sql`` (fed on stdin) with psql; its rows unaligned, without headers."""
    argv = [find_psql(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--no-psqlrc", "-d", psql_url(url), "-A", "-t"]
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    proc = subprocess.run(argv, input=sql, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"psql on {psql_url(url)} failed (exit {proc.returncode}): {proc.stderr.strip()}\n{sql}")
    return proc.stdout


@dataclass
class PostgresCluster:
    """One server for a test session: started here (initdb + pg_ctl) or given by XCOM_S3_TEST_POSTGRES_URL."""

    server_url: str = ""
    directory: Path | None = None
    bindir: Path | None = None
    run_as: str | None = None
    databases: list[str] = field(default_factory=list)

    @classmethod
    def start(cls) -> PostgresCluster:
        """A running server: the one XCOM_S3_TEST_POSTGRES_URL names, else a new throwaway cluster."""
        given = os.environ.get(URL_VAR)
        if given:
            cluster = cls(server_url=given.rstrip("/"))
            cluster._check_reachable()
            return cluster
        bindir = find_bindir()
        find_psql()
        run_as = _server_user()
        # The server's account must reach its directory: under a root-only TMPDIR (the matrix sets one per
        # session) that is not the case, so a root run puts the cluster in the system's temp dir.
        base = os.environ.get(DIR_VAR) or ("/tmp" if run_as else None)
        directory = Path(tempfile.mkdtemp(prefix="xcom-s3-pg-", dir=base))
        if run_as:
            account = pwd.getpwnam(run_as)
            os.chown(directory, account.pw_uid, account.pw_gid)
        cluster = cls(directory=directory, bindir=bindir, run_as=run_as)
        try:
            cluster._init_and_start()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _command(self, *argv: str) -> list[str]:
        return ["runuser", "-u", self.run_as, "--", *argv] if self.run_as else list(argv)

    def _run(self, what: str, *argv: str) -> None:
        proc = subprocess.run(self._command(*argv), capture_output=True, text=True, check=False, cwd="/")
        if proc.returncode != 0:
            raise PostgresUnavailable(
                f"PostgreSQL {what} failed (exit {proc.returncode}): {(proc.stdout + proc.stderr).strip()[-2000:]}"
            )

    def _init_and_start(self) -> None:
        assert self.directory is not None and self.bindir is not None
        data, sockets = self.directory / "data", self.directory / "sockets"
        sockets.mkdir()
        if self.run_as:
            account = pwd.getpwnam(self.run_as)
            os.chown(sockets, account.pw_uid, account.pw_gid)
        initdb = [str(self.bindir / "initdb"), "-D", str(data), "-U", DB_USER, "--auth=trust", "-E", "UTF8"]
        self._run("initdb", *initdb, "--locale=C.UTF-8" if _has_c_utf8() else "--locale=C", "--no-sync")
        port = free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        log = self.directory / "server.log"
        start = [str(self.bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60"]
        try:
            self._run("start", *start, "start")
        except PostgresUnavailable as exc:
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise PostgresUnavailable(f"{exc}\nserver log:\n{tail}\n(port {port} taken? {INSTALL_HINT})") from exc
        self.server_url = f"postgresql://{DB_USER}@127.0.0.1:{port}"
        self._check_reachable()

    def _check_reachable(self) -> None:
        try:
            psql(self.server_url + "/postgres", "SELECT 1")
        except RuntimeError as exc:
            raise PostgresUnavailable(f"PostgreSQL at {self.server_url} does not answer: {exc}") from exc

    def database(self, prefix: str = "airflow") -> str:
        """A new empty database; returns Airflow's SQLAlchemy URL for it."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        psql(self.server_url + "/postgres", f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return airflow_url(self.server_url, name)

    def stop(self) -> None:
        """Stop a cluster started here and remove its directory; drop the databases made on a given server."""
        if self.directory is None:
            for name in self.databases:
                try:
                    psql(self.server_url + "/postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                except RuntimeError as exc:  # leave it; the server is the user's
                    print(f"pg_server: could not drop {name}: {exc}", file=sys.stderr)
            return
        if self.bindir is not None and (self.directory / "data" / "postmaster.pid").exists():
            stop = [str(self.bindir / "pg_ctl"), "-D", str(self.directory / "data"), "-m", "immediate", "-w"]
            subprocess.run(self._command(*stop, "stop"), capture_output=True, check=False, cwd="/")
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _server_user() -> str | None:
    """None when this process may run the server itself; else the unprivileged account to run it as."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError as exc:
        raise PostgresUnavailable(
            f"running as root and there is no {SERVER_USER!r} account to run PostgreSQL as (it refuses root): "
            f"{INSTALL_HINT}"
        ) from exc
    if shutil.which("runuser") is None:
        raise PostgresUnavailable("running as root and `runuser` (util-linux) is missing to drop privileges")
    return SERVER_USER


def _has_c_utf8() -> bool:
    out = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout.lower()
    return "c.utf8" in out or "c.utf-8" in out


def main(argv: list[str]) -> int:
    if argv[1:] != ["check"]:
        print(__doc__)
        return 2
    try:
        with PostgresCluster.start() as cluster:
            url = cluster.database("check")
            print(f"PostgreSQL OK: {url}")
    except PostgresUnavailable as exc:
        print(f"PostgreSQL unavailable: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
