"""The upgrade rehearsal's reader: a task of the NEW release pulling every XCom an older release wrote.

It reads the XComs listed in ``$XCOM_S3_REHEARSAL_MANIFEST`` (taken from the migrated DB) through the Task
SDK's ``XCom.get_one`` -- the execution API hands the task the migrated row, the backend's
``deserialize_value`` turns it into the value -- and writes them in e2e_canon's form to
``$XCOM_S3_REHEARSAL_OUT``. A read that raises is recorded with its error, so one bad value hides no other.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pendulum
from airflow_release import airflow_version, import_airflow_xcom

try:  # Airflow 3.x: the Task SDK
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x (a 2.x -> 2.y rehearsal)
    from airflow.decorators import dag, task

READER_DAG_ID = "xcom_s3_rehearsal_reader"
_V = airflow_version()
_SCHEDULE: dict[str, Any] = {"schedule": None} if _V >= (2, 4) else {"schedule_interval": None}


@dag(dag_id=READER_DAG_ID, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, **_SCHEDULE)
def xcom_s3_rehearsal_reader() -> None:
    @task
    def read_all() -> None:
        from e2e_canon import canonical

        # 2.6-2.8's XCom.get_one bypasses custom backends (airflow-xcom-api.md §2b): rehearse to 2.9+ or 3.x
        xcom = import_airflow_xcom().XCom
        manifest = json.loads(Path(os.environ["XCOM_S3_REHEARSAL_MANIFEST"]).read_text())
        results = []
        for item in manifest:
            try:
                value = xcom.get_one(
                    key=item["key"],
                    dag_id=item["dag_id"],
                    task_id=item["task_id"],
                    run_id=item["run_id"],
                    map_index=item["map_index"],
                )
                results.append({**item, "value": canonical(value), "type": type(value).__qualname__})
            except Exception as exc:
                results.append({**item, "error": f"{type(exc).__module__}.{type(exc).__name__}: {exc}"})
        Path(os.environ["XCOM_S3_REHEARSAL_OUT"]).write_text(json.dumps(results, indent=1))

    read_all()


reader_dag = xcom_s3_rehearsal_reader()
