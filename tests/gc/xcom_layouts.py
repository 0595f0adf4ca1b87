"""The XCom tables of each release, as gc's tests build them: the table and column names the release reads
(3.4's from its model and migration 0142), one row in each naming where it is.

``up-to-3.3``: one ``xcom`` table. ``3.4``: ``xcom_v1`` (rows from before the upgrade) and ``xcom_v2`` keyed by
``task_instance_id``, whose ``task_instance`` row holds the dag/run/task and ``region_index``. 3.0's upgrade adds
``_xcom_archive`` (pickles of 2.x rows) beside either.
"""

from __future__ import annotations

import uuid
from typing import Any

TI_ID = "0190a1b2c3d47e5f8a9b0c1d2e3f4a5b"
#: table -> (DDL, rows): the columns each release reads, with one row naming what it is
LAYOUTS: dict[str, dict[str, tuple[str, list[dict[str, Any]]]]] = {
    "up-to-3.3": {
        "xcom": (
            "CREATE TABLE xcom (dag_run_id INTEGER, task_id VARCHAR(250), map_index INTEGER, key VARCHAR(512), "
            "dag_id VARCHAR(250), run_id VARCHAR(250), value BLOB, timestamp TIMESTAMP)",
            [{"dag_id": "d", "run_id": "r", "task_id": "t", "map_index": -1, "key": "k", "value": b'"in xcom"'}],
        ),
    },
    "3.4": {
        "xcom_v1": (
            "CREATE TABLE xcom_v1 (dag_run_id INTEGER, task_id VARCHAR(250), map_index INTEGER, key VARCHAR(512), "
            "dag_result BOOLEAN, dag_id VARCHAR(250), run_id VARCHAR(250), value JSON, timestamp TIMESTAMP, "
            "mapped_length INTEGER)",
            [{"dag_id": "d", "run_id": "r0", "task_id": "t", "map_index": 2, "key": "k", "value": '"in v1"'}],
        ),
        "xcom_v2": (
            "CREATE TABLE xcom_v2 (id CHAR(32), task_instance_id CHAR(32), key VARCHAR(512), value JSON, "
            "timestamp TIMESTAMP, dag_result BOOLEAN, mapped_length INTEGER)",
            [{"id": "1", "task_instance_id": TI_ID, "key": "k", "value": '"in v2"'}],
        ),
        "task_instance": (
            "CREATE TABLE task_instance (id CHAR(32), dag_id VARCHAR(250), run_id VARCHAR(250), "
            "task_id VARCHAR(250), region_index INTEGER)",
            [{"id": TI_ID, "dag_id": "d", "run_id": "r", "task_id": "t", "region_index": 1}],
        ),
    },
}
ARCHIVE = (
    "CREATE TABLE _xcom_archive (dag_run_id INTEGER, task_id VARCHAR(250), map_index INTEGER, key VARCHAR(512), "
    "dag_id VARCHAR(250), run_id VARCHAR(250), value BLOB, timestamp TIMESTAMP)",
    [{"dag_id": "d", "run_id": "r", "task_id": "t", "map_index": -1, "key": "k", "value": b"\x80\x04pickled"}],
)
#: layout -> what DBView.xcom_rows reads: (dag_id, run_id, task_id, map_index, key, raw value)
EXPECTED_ROWS = {
    "up-to-3.3": [("d", "r", "t", -1, "k", b'"in xcom"')],
    "3.4": [("d", "r", "t", 1, "k", b'"in v2"'), ("d", "r0", "t", 2, "k", b'"in v1"')],
}
#: layout -> the table a new row goes to
NEW_ROWS = {"up-to-3.3": "xcom", "3.4": "xcom_v2"}

Tables = dict[str, tuple[str, list[dict[str, Any]]]]


def create(conn: Any, tables: Tables) -> None:
    """Create ``tables`` with their rows through a SQLAlchemy connection."""
    for table, (ddl, rows) in tables.items():
        conn.execute(_text(ddl))
        for row in rows:
            insert(conn, table, row)


def insert(conn: Any, table: str, row: dict[str, Any]) -> None:
    names = ", ".join(row)
    conn.execute(_text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + n for n in row)})"), row)


def add_value(conn: Any, layout: str, value: Any) -> None:
    """A row holding ``value`` where the release writes new XComs (3.4: for the layout's task instance)."""
    name = uuid.uuid4().hex
    if NEW_ROWS[layout] == "xcom_v2":
        insert(conn, "xcom_v2", {"id": name, "task_instance_id": TI_ID, "key": name, "value": value})
    else:
        row = {"dag_id": "d", "run_id": "r", "task_id": name, "map_index": -1, "key": "k", "value": value}
        insert(conn, "xcom", row)


def _text(sql: str) -> Any:
    from sqlalchemy import text

    return text(sql)
