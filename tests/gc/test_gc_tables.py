"""gc reads every release's XCom tables (xcom_s3.xcom_table), the same layout code the e2e's DBView reads with.

Each DB here is built with the table and column names of its release (3.4's from its model and migration 0142):
``xcom`` up to 3.3; ``xcom_v1`` plus ``xcom_v2`` keyed by ``task_instance_id`` on 3.4; 3.0's ``_xcom_archive``
beside either. gc reads them through a SQLAlchemy session as it reads Airflow's; the real metadata DB of every
release, SQLite and PostgreSQL, is tests/e2e/test_gc_metadata_db.py's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_db import DBView
from xcom_layouts import ARCHIVE, EXPECTED_ROWS, LAYOUTS, Tables, create


@pytest.fixture
def session_on(tmp_path: Path) -> Iterator[Any]:
    """``session_on(tables)``: a SQLAlchemy session on a new SQLite DB holding those tables."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    sessions: list[Any] = []

    def make(tables: Tables) -> Any:
        engine = create_engine(f"sqlite:///{tmp_path / f'airflow-{len(sessions)}.db'}")
        with engine.begin() as conn:
            create(conn, tables)
        sessions.append(Session(engine))
        return sessions[-1]

    yield make
    for session in sessions:
        session.close()
        session.get_bind().dispose()


def _raw(value: Any) -> bytes:
    """A column value as bytes: BLOB columns hand back bytes, JSON columns text."""
    return bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode()


@pytest.mark.parametrize("archived", [False, True], ids=["", "with-archive"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_gc_reads_every_xcom_table_of_the_layout(session_on: Any, layout: str, archived: bool) -> None:
    from xcom_s3 import gc

    tables = dict(LAYOUTS[layout]) | ({"_xcom_archive": ARCHIVE} if archived else {})
    session = session_on(tables)
    expected = [_raw(row["value"]) for name, (_, rows) in tables.items() if name != "task_instance" for row in rows]
    assert sorted(_raw(v) for v in gc.stored_values(session)) == sorted(expected)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_the_e2e_reads_the_same_rows_through_the_same_layout(session_on: Any, layout: str) -> None:
    """DBView (the e2e's reads) and gc agree: one layout module serves both."""
    from xcom_s3 import gc

    session = session_on(LAYOUTS[layout])
    rows = DBView(str(session.get_bind().url)).xcom_rows()
    assert [(r.dag_id, r.run_id, r.task_id, r.map_index, r.key, r.raw) for r in rows] == EXPECTED_ROWS[layout]
    assert sorted(r.raw for r in rows) == sorted(_raw(v) for v in gc.stored_values(session))


def test_a_db_without_xcom_tables_is_an_error_never_no_rows(session_on: Any) -> None:
    """Reading "no references" from the wrong DB would make every object an orphan."""
    from xcom_s3 import gc

    session = session_on({"dag_run": ("CREATE TABLE dag_run (id INTEGER)", [])})
    with pytest.raises(gc.MetadataDBError) as unreadable:
        list(gc.stored_values(session))
    message = str(unreadable.value)
    assert "xcom, xcom_v1, xcom_v2" in message and str(session.get_bind().url.database) in message
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" in message and "airflow db check" in message


@pytest.mark.parametrize("index", ["map_index", "region_index"])
def test_xcom_v2_rows_take_the_map_index_from_whichever_column_task_instance_has(session_on: Any, index: str) -> None:
    """3.4 calls ``task_instance``'s map index ``region_index``; a ``task_instance`` still calling it ``map_index``
    is read from that column. Only ``task_instance``'s columns are asked for, by that name."""
    from sqlalchemy import inspect, text
    from xcom_s3 import xcom_table

    tables = dict(LAYOUTS["3.4"])
    ddl, ti_rows = tables["task_instance"]
    tables["task_instance"] = (
        ddl.replace("region_index", index),
        [{**{k: v for k, v in row.items() if k != "region_index"}, index: 7} for row in ti_rows],
    )
    session = session_on(tables)
    inspector = inspect(session.get_bind())
    asked: list[str] = []

    def columns(table: str) -> set[str]:
        asked.append(table)
        return {column["name"] for column in inspector.get_columns(table)} if table == "task_instance" else set()

    rows = session.execute(text(xcom_table.rows_select(inspector.has_table, columns))).all()
    assert xcom_table.ti_index_column(columns("task_instance")) == index
    assert asked == ["task_instance", "task_instance"]
    assert sorted(tuple(row) for row in rows) == [
        ("d", "r", "t", 7, "k", '"in v2"'),
        ("d", "r0", "t", 2, "k", '"in v1"'),
    ]
