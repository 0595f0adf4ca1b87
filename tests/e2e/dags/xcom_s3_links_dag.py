"""The links DAG: an operator extra link stored in XCom, and a dag result, read back through the REST API.

tests/e2e/test_rest_api.py reads what its runs left through the release's own REST API: the links of ``linked``
(``.../taskInstances/linked/links``), and on 3.1+ the ``return_value`` of ``result`` through the dag-run wait
endpoint (``?result=result``; 3.3+ also as the dag's marked result). The operator and its links live in the plugin
module xcom_s3_links.py (the home's plugins folder).
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow_release import airflow_version
from xcom_s3_links import URL_TEMPLATE, LinkOperator

try:  # Airflow 3.x: the Task SDK
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task

DAG_ID = "xcom_s3_e2e_links"
#: What ``result`` returns: small (inline at the e2e threshold), JSON.
RESULT = {"status": "ok", "rows": 3}

_V = airflow_version()
_SCHEDULE: dict[str, Any] = {"schedule": None} if _V >= (2, 4) else {"schedule_interval": None}


@dag(dag_id=DAG_ID, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, **_SCHEDULE)
def xcom_s3_e2e_links() -> Any:
    LinkOperator(task_id="linked", url=URL_TEMPLATE)

    @task
    def result() -> Any:
        return RESULT

    # 3.3+: the dag function's return value marks its task as the dag's result (XComModel.dag_result); 2.x-3.2
    # ignore it.
    return result()


# A module global: 2.3's DagBag only finds DAGs there.
links_dag = xcom_s3_e2e_links()
