"""The throwaway PostgreSQL cluster: it starts, isolates databases, cleans up, and says what is wrong when it can't."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pg_server
import pytest
from e2e_db import DBView
from e2e_fixtures import DB_VAR
from pg_server import PostgresCluster, PostgresUnavailable


def _installed() -> bool:
    try:
        pg_server.find_bindir()
        pg_server.find_psql()
    except PostgresUnavailable:
        return False
    return True


def _checked_elsewhere() -> str | None:
    """In a matrix entry whose e2e runs on SQLite, where this harness is checked instead: the entries that use it.
    The cluster is the suite's own harness, not Airflow's; outside the matrix it is always checked."""
    import os

    from tools.matrix import entries, rehearsals

    entry = os.environ.get(rehearsals.ENTRY_VAR)
    if not entry or os.environ.get(DB_VAR, "sqlite") == "postgres":
        return None
    matrix = entries.load(Path(__file__).resolve().parents[2] / "matrix.yaml")
    users = sorted(e.id for e in matrix.runnable if e.db == "postgres")
    return f"the PostgreSQL harness is checked in the entries that run on it ({', '.join(users)}); {entry} uses SQLite"


ELSEWHERE = _checked_elsewhere()
needs_postgres = pytest.mark.skipif(
    not _installed() or ELSEWHERE is not None,
    reason=f"n/a: {ELSEWHERE}"
    if ELSEWHERE
    else "PostgreSQL's server is not installed here (apt-get install postgresql)",
)


def test_missing_server_names_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(pg_server.BINDIR_VAR, str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(pg_server.glob, "glob", lambda pattern: [])
    with pytest.raises(PostgresUnavailable) as caught:
        pg_server.PostgresCluster.start()
    message = str(caught.value)
    assert "initdb" in message and "apt-get install -y postgresql" in message
    assert pg_server.BINDIR_VAR in message and pg_server.URL_VAR in message


@pytest.mark.skipif(ELSEWHERE is not None, reason=f"n/a: {ELSEWHERE}")
def test_unreachable_given_server_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    if not _installed():
        pytest.skip("n/a: needs PostgreSQL's psql, not installed here (.ci/run installs it for db: postgres)")
    url = f"postgresql://nobody@127.0.0.1:{pg_server.free_port()}"
    monkeypatch.setenv(pg_server.URL_VAR, url)
    with pytest.raises(PostgresUnavailable, match=re.escape(url)):
        PostgresCluster.start()


@needs_postgres
def test_port_taken_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(pg_server.URL_VAR, raising=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setattr(pg_server, "free_port", lambda: port)
        with pytest.raises(PostgresUnavailable) as caught:
            PostgresCluster.start()
    assert f"port {port} taken?" in str(caught.value)


@needs_postgres
def test_cluster_gives_fresh_databases_and_removes_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(pg_server.URL_VAR, raising=False)
    with PostgresCluster.start() as cluster:
        first, second = cluster.database("a"), cluster.database("a")
        assert first != second and first.startswith("postgresql+psycopg2://")
        pg_server.psql(first, "CREATE TABLE t (v bytea); INSERT INTO t VALUES ('\\x7b7d'::bytea)")
        view = DBView(first)
        assert view.count("t") == 1 and DBView(second).count("t") is None
        assert view.column_type("t", "v") == "bytea"
        assert view.query("SELECT v FROM t WHERE ? = ?", "it's", "it's") == [(b"{}",)]
        directory = cluster.directory
        assert directory is not None and directory.exists()
    assert not directory.exists()
