"""Read an Airflow metadata DB (SQLite or PostgreSQL) from outside Airflow: runs, task instances, XCom rows.

Through SQLAlchemy and the driver of the URL Airflow was given (``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN``): every
caller runs in an Airflow venv, which has both (the pytest process, the scenario and reader processes, rehearsal.py
on the TO release's interpreter). SQLAlchemy is imported at the first query, so importing this module stays cheap.
Where each release keeps its XCom rows is xcom_s3.xcom_table's, the layout `xcom-s3 gc` reads too.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# xcom_s3.xcom_table (standard library only): the metadata DB's XCom layout, shared with `xcom-s3 gc`.
if (_BACKEND := str(Path(__file__).resolve().parents[2] / "backend")) not in sys.path:
    sys.path.append(_BACKEND)
from xcom_s3 import xcom_table

#: The key xcom_s3's stored JSON objects carry (1 for a reference, with ``"kind": "ref"``).
MARKER = "__xcom_s3__"


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


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


@functools.cache
def _engine(url: str) -> Any:
    """One engine per DB; a connection per query (NullPool), so none stays open on a DB that another process
    migrates or drops. SQLite is opened read-only (a missing file is an error, never a new empty DB); PostgreSQL
    in UTC, so a timestamp cast to text reads the same whatever the server's time zone."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    if url.startswith("sqlite:///"):
        return create_engine(f"sqlite:///file:{url.removeprefix('sqlite:///')}?mode=ro&uri=true", poolclass=NullPool)
    return create_engine(url, poolclass=NullPool, connect_args={"options": "-c timezone=UTC"})


def _plain(cell: Any) -> Any:
    """A value as SQLite could store it: a binary column's bytes (psycopg2 hands a memoryview), a UUID as text."""
    if isinstance(cell, memoryview):
        return cell.tobytes()
    if isinstance(cell, uuid.UUID):
        return str(cell)
    return cell


@dataclass(frozen=True)
class DBView:
    """Read-only queries on an Airflow metadata DB; ``url`` is the SQLAlchemy URL Airflow was given."""

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
        """Rows of ``sql`` with ``?`` placeholders, values as the driver reads them (bytes, UUIDs as text)."""
        from sqlalchemy import text

        pieces = sql.split("?")
        if len(pieces) - 1 != len(params):
            raise ValueError(f"{len(params)} parameters for {len(pieces) - 1} placeholders: {sql}")
        statement = pieces[0] + "".join(f":p{i}" + piece for i, piece in enumerate(pieces[1:]))
        with _engine(self.url).connect() as connection:
            rows = connection.execute(text(statement), {f"p{i}": value for i, value in enumerate(params)}).fetchall()
        return [tuple(_plain(cell) for cell in row) for row in rows]

    def _reflected(self, table: str) -> list[dict[str, Any]]:
        """``table``'s columns as SQLAlchemy reflects them, in the schema Airflow uses; [] if there is no table."""
        from sqlalchemy import exc, inspect

        try:
            return list(inspect(_engine(self.url)).get_columns(table))
        except exc.NoSuchTableError:
            return []

    def columns(self, table: str) -> set[str]:
        return {str(column["name"]) for column in self._reflected(table)}

    def column_type(self, table: str, column: str) -> str | None:
        """A column's type as the DB names it, lower case (PostgreSQL: ``bytea``, ``jsonb``, ...)."""
        dialect = _engine(self.url).dialect
        types = {str(c["name"]): str(c["type"].compile(dialect=dialect)).lower() for c in self._reflected(table)}
        return types.get(column)

    def has_table(self, table: str) -> bool:
        from sqlalchemy import inspect

        return bool(inspect(_engine(self.url)).has_table(table))

    def count(self, table: str) -> int | None:
        """Rows in ``table``, None when it does not exist."""
        return int(self.query(f"SELECT count(*) FROM {table}")[0][0]) if self.has_table(table) else None

    def run_id_for(self, dag_id: str, date: str) -> str:
        """The run at logical date ``date``: ids differ (``manual__<now>`` on 3.x, ``backfill__`` on 2.4)."""
        column = "logical_date" if "logical_date" in self.columns("dag_run") else "execution_date"
        # SQLite holds "YYYY-MM-DD HH:MM:SS.ffffff", PostgreSQL reads "YYYY-MM-DD HH:MM:SS+00" (in UTC: _engine)
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

    def _value_text(self) -> str:
        """The value column as its JSON text: PostgreSQL's driver hands 3.x's jsonb back parsed, so it is read as
        the document's text, which is what SQLite holds; 2.x's bytes as they are."""
        if self.dialect == "postgresql":
            table = xcom_table.live_tables(self.has_table)[0]
            if self.column_type(table, "value") in ("json", "jsonb"):
                return "CAST(value AS TEXT)"
        return "value"

    def xcom_rows(self, run_id: str | None = None) -> list[XComRow]:
        sql = (
            f"SELECT dag_id, run_id, task_id, map_index, key, {self._value_text()} FROM ({self._xcom_select()}) AS rows"
        )
        rows = self.query(sql + " WHERE run_id = ?", run_id) if run_id else self.query(sql)
        out = [XComRow(d, r, t, int(m), k, _raw(v)) for d, r, t, m, k, v in rows]
        return sorted(out, key=lambda r: (r.run_id, r.task_id, r.map_index, r.key))

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
