"""Where each Airflow release keeps its XCom rows, as SQL: gc and the e2e tests read the metadata DB through here.

Up to 3.3, one table: ``xcom`` (``value`` is bytes on 2.x, a JSON document on 3.x). 3.4 renamed it ``xcom_v1``
(rows written before the upgrade, still read) and writes new rows to ``xcom_v2``, keyed by ``task_instance_id``:
the dag, run, task and map index live on ``task_instance``, whose map index column 3.4 calls ``region_index``.
3.0's upgrade moved 2.x rows holding pickles to ``_xcom_archive``, which no release reads again; gc still reads
its values (:func:`value_selects`), so nothing a pickle there names is ever taken.

No Airflow, SQLAlchemy or driver import: the caller says which tables exist (gc through SQLAlchemy's inspector on
Airflow's own session, the e2e's DBView through its own engine's inspector) and runs the SQL built here. So the
message for a DB that cannot be read lives here too: the CLI needs it when Airflow itself fails to import.
"""

from __future__ import annotations

from collections.abc import Callable

LEGACY = "xcom"
V1 = "xcom_v1"
V2 = "xcom_v2"
ARCHIVE = "_xcom_archive"
#: Tables whose rows Airflow reads as XComs, oldest layout first.
LIVE_TABLES = (LEGACY, V1, V2)
#: Where Airflow finds its metadata DB.
DB_SETTING = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
#: The row identity :func:`rows_select` returns, in this order.
ROW_COLUMNS = ("dag_id", "run_id", "task_id", "map_index", "key", "value")

#: ``has_table(name)``: whether the metadata DB has that table (in the schema Airflow uses).
HasTable = Callable[[str], bool]


class NoXComTable(LookupError):
    """None of the XCom tables exists: not an Airflow metadata DB, or one that was never migrated."""


def live_tables(has_table: HasTable) -> list[str]:
    """The XCom tables this DB has; :class:`NoXComTable` if none (never read "no rows" from the wrong DB)."""
    found = [table for table in LIVE_TABLES if has_table(table)]
    if not found:
        raise NoXComTable(f"none of the XCom tables {', '.join(LIVE_TABLES)} exists")
    return found


def value_selects(has_table: HasTable) -> list[str]:
    """One ``SELECT value`` per table holding XCom values, the archive included.

    One statement per table, not a UNION: on PostgreSQL ``xcom_v2``'s jsonb and the archive's bytea do not unite.
    """
    tables = live_tables(has_table) + ([ARCHIVE] if has_table(ARCHIVE) else [])
    return [f"SELECT value FROM {table}" for table in tables]


def ti_index_column(task_instance_columns: set[str]) -> str:
    """``task_instance``'s map index column: ``region_index`` from 3.4 (loop iterations share the column)."""
    return "map_index" if "map_index" in task_instance_columns else "region_index"


def rows_select(has_table: HasTable, columns: Callable[[str], set[str]]) -> str:
    """Every live XCom row as :data:`ROW_COLUMNS`, whichever layout the DB has.

    ``columns(table)`` names a table's columns: asked only of ``task_instance``, which 3.4's ``xcom_v2`` joins.
    """
    parts = []
    for table in live_tables(has_table):
        if table == V2:
            index = ti_index_column(columns("task_instance"))
            parts.append(
                f"SELECT ti.dag_id, ti.run_id, ti.task_id, ti.{index} AS map_index, x.key, x.value "
                f"FROM {V2} x JOIN task_instance ti ON ti.id = x.task_instance_id"
            )
        else:
            parts.append(f"SELECT {', '.join(ROW_COLUMNS)} FROM {table}")
    return " UNION ALL ".join(parts)


def unreadable(problem: str) -> str:
    """The message for a metadata DB whose XCom tables cannot be read: what went wrong, which setting, where to run."""
    return (
        f"Cannot read the XCom tables of Airflow's metadata DB: {problem}. They are read from the DB Airflow is "
        f"configured with ({DB_SETTING}, or [database] sql_alchemy_conn in airflow.cfg): run where `airflow db "
        "check` works, with the scheduler's configuration, on a DB that `airflow db migrate` has set up."
    )


def one_line(exc: BaseException) -> str:
    """The exception's type and first line: drivers append SQL and links that bury what went wrong."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
