"""Read XComs of a finished run the ways Airflow itself reads them, inside one release's interpreter.

Executed as a script by e2e_fixtures.e2e_reads in the e2e scenario's Airflow home (its DB, its S3 settings), once
per session: one Airflow start for every read. For each XCom named on the command line it writes, as JSON, what
each read path hands back; with ``--rest`` it then asks the release's REST API too (e2e_rest_reads.py). 2.x: the
ORM rows of ``XCom.get_many()`` (``row.value``, what the UI, the REST API and code reading rows see),
``XCom.get_one()`` and a task instance's ``xcom_pull()``. 3.x: the ``XComModel`` rows the API server reads
(``row.value`` and ``XComModel.deserialize_value(row)``), and the resolved backend's ``deserialize_value`` on the
row's stored value, which is what ``xcom_pull`` in a task returns (a task's pull needs the supervisor, so the hook
is called directly).
"""

from __future__ import annotations

import argparse
import inspect
import json
from pathlib import Path
from typing import Any

from airflow_release import import_airflow_xcom


def shown(value: Any) -> dict[str, Any]:
    """A read's result as JSON: a frame by its shape and dtypes, a JSON value as itself, anything else by repr."""
    kind = type(value).__qualname__
    if kind == "DataFrame":
        return {"type": kind, "shape": list(value.shape), "dtypes": [str(d) for d in value.dtypes]}
    try:
        return {"type": kind, "value": json.loads(json.dumps(value))}
    except (TypeError, ValueError):
        return {"type": kind, "repr": repr(value)}


def attempt(read: Any) -> dict[str, Any]:
    """``shown(read())``, or the exception it raised: one path failing must not hide what the others give."""
    try:
        return shown(read())
    except Exception as exc:
        return {"error": f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"}


def rows_of(model: Any, session: Any, **filters: Any) -> list[Any]:
    """The ORM rows ``model.get_many(**filters)`` selects: a Query (2.x, 3.0) or a Select to execute (3.1+)."""
    if "session" in inspect.signature(model.get_many).parameters:
        filters["session"] = session
    found = model.get_many(**filters)
    return list(found.all()) if hasattr(found, "all") else list(session.scalars(found).all())


def reads_2x(dag_id: str, run_id: str, ident: tuple[str, int, str], session: Any) -> dict[str, Any]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XCom

    task_id, map_index, key = ident
    where = {"run_id": run_id, "key": key, "dag_ids": dag_id, "task_ids": task_id, "map_indexes": map_index}
    rows = rows_of(XCom, session, **where)
    # What the UI's XCom list and the REST API's /xcomEntries select: rows of the resolved class.
    row_key = {"dag_id": dag_id, "run_id": run_id, "task_id": task_id, "map_index": map_index, "key": key}
    resolved_rows = session.query(XCom).filter_by(**row_key).all()
    puller = session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id, task_id=task_id).first()
    return {
        "rows": len(rows),
        "get_many": attempt(lambda: rows[0].value),
        "orm_query": attempt(lambda: resolved_rows[0].value),
        "get_one": attempt(
            lambda: XCom.get_one(
                run_id=run_id, key=key, task_id=task_id, dag_id=dag_id, map_index=map_index, session=session
            )
        ),
        "xcom_pull": attempt(
            lambda: puller.xcom_pull(task_ids=task_id, key=key, map_indexes=map_index, session=session)
        ),
    }


def reads_3x(dag_id: str, run_id: str, ident: tuple[str, int, str], session: Any) -> dict[str, Any]:
    from airflow.models.xcom import XComModel
    from airflow.sdk.execution_time.comms import XComResult
    from airflow.sdk.execution_time.xcom import XCom

    task_id, map_index, key = ident
    where = {"run_id": run_id, "key": key, "dag_ids": dag_id, "task_ids": task_id, "map_indexes": map_index}
    rows = rows_of(XComModel, session, **where)
    return {
        "rows": len(rows),
        "get_many": attempt(lambda: rows[0].value),
        "model_deserialize_value": attempt(lambda: XComModel.deserialize_value(rows[0])),
        "task_pull": attempt(lambda: XCom.deserialize_value(XComResult(key=key, value=rows[0].value))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dag-id", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("xcoms", nargs="*", help="TASK_ID:MAP_INDEX:KEY")
    parser.add_argument("--rest", help="what to ask the REST API, JSON (e2e_rest_reads.read)")
    parser.add_argument("--rest-out", type=Path, help="where its answers go")
    args = parser.parse_args()
    import_airflow_xcom()  # resolves the configured backend, as Airflow's processes do; compat after it
    from airflow.utils.session import create_session
    from xcom_compat import AIRFLOW_V_3_0_PLUS

    reads = reads_3x if AIRFLOW_V_3_0_PLUS else reads_2x
    found = {}
    with create_session() as session:
        for name in args.xcoms:
            task_id, map_index, key = name.split(":", 2)
            found[name] = reads(args.dag_id, args.run_id, (task_id, int(map_index), key), session)
    args.out.write_text(json.dumps(found, indent=1))
    if args.rest and args.rest_out:
        from e2e_rest_reads import read

        args.rest_out.write_text(json.dumps(read(json.loads(args.rest)), indent=1))


if __name__ == "__main__":
    main()
    from e2e_runner import exit_without_teardown

    exit_without_teardown(0)  # 3.x: the API app's hundreds of thousands of objects, freed one by one, cost seconds
