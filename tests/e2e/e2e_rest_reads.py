"""Ask the release's own REST API about a finished run, in this process: what a webserver / API server answers.

Imported by e2e_orm_reader.py (one Airflow process for every read after the scenario) once the backend has resolved,
so the release is xcom_compat's. The app is the release's
real one: 2.x ``airflow.www.app.create_app`` with Flask's test client, 3.x ``airflow.api_fastapi.app.create_app``
(the core API) with Starlette's. Only authentication is set up for a test: 2.x's ``[api] auth_backends`` =
``airflow.api.auth.backend.default`` and FAB's public role = Admin (e2e_fixtures.REST_READER_ENV, and
``AUTH_ROLE_PUBLIC`` here), 3.x's SimpleAuthManager with ``simple_auth_manager_all_admins`` and the token it issues
to everyone then.

Every answer is recorded as it came (status, content type, JSON body or text): the tests judge them.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from typing import Any, Protocol
from urllib.parse import quote

from xcom_compat import AIRFLOW_V_3_0_PLUS

#: Text kept of a body that is not JSON (an HTML error page).
_TEXT = 4000


class Client(Protocol):
    def __call__(self, path: str, params: dict[str, Any]) -> dict[str, Any]: ...


def answer(status: int, content_type: str, text: str) -> dict[str, Any]:
    """One response as JSON: the body parsed when it is JSON, NDJSON as a list of lines, else the text."""
    found: dict[str, Any] = {"status": status, "type": content_type.split(";")[0].strip()}
    try:
        found["json"] = json.loads(text)
    except ValueError:
        try:
            found["lines"] = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError:
            found["text"] = text[:_TEXT]
    return found


@contextlib.contextmanager
def flask_client() -> Iterator[Client]:
    """2.x: the webserver app. PROPAGATE_EXCEPTIONS off: an error is answered as a real webserver answers it
    (``testing=True`` would raise it into the test client instead)."""
    from airflow.www.app import create_app

    app = create_app(config={"AUTH_ROLE_PUBLIC": "Admin"}, testing=True)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()

    def get(path: str, params: dict[str, Any]) -> dict[str, Any]:
        response = client.get(path, query_string=params)
        return answer(response.status_code, response.content_type or "", response.get_data(as_text=True))

    yield get


@contextlib.contextmanager
def fastapi_client() -> Iterator[Client]:
    """3.x: the API server's core app, errors answered as the server answers them (not raised into the client).
    Entered as a server runs it: its lifespan, and one event loop for every request (the async engine's pooled
    PostgreSQL connections belong to one loop)."""
    from airflow.api_fastapi.app import create_app
    from airflow.api_fastapi.auth.managers.simple.services.login import SimpleAuthManagerLogin
    from fastapi.testclient import TestClient

    with TestClient(create_app(apps="core"), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {SimpleAuthManagerLogin.create_token_all_admins()}"

        def get(path: str, params: dict[str, Any]) -> dict[str, Any]:
            response = client.get(path, params=params)
            return answer(response.status_code, response.headers.get("content-type", ""), response.text)

        yield get


def _ti_path(dag_id: str, run_id: str, task_id: str) -> str:
    api = "/api/v2" if AIRFLOW_V_3_0_PLUS else "/api/v1"
    return f"{api}/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}"


def read_run(get: Client, plan: dict[str, Any], run_id: str) -> dict[str, Any]:
    """Every request on every release (an endpoint a release lacks answers 404; the tests say what applies):
    the links task's links, the result task's value through the wait endpoint (``?result=`` and, 3.3+, the dag's
    marked results) and through ``xcomEntries/return_value?deserialize=true``."""
    dag_id, result_task = plan["dag_id"], plan["result_task"]
    run_path = _ti_path(dag_id, run_id, "").rsplit("/taskInstances/", 1)[0]
    value_path = _ti_path(dag_id, run_id, result_task) + "/xcomEntries/return_value"
    return {
        "links": get(_ti_path(dag_id, run_id, plan["links_task"]) + "/links", {}),
        "wait_result": get(f"{run_path}/wait", {"interval": 0.1, "result": result_task}),
        "wait_marked": get(f"{run_path}/wait", {"interval": 0.1}),
        "deserialize": get(value_path, {"deserialize": "true"}),
    }


@contextlib.contextmanager
def _without(names: list[str]) -> Iterator[None]:
    """The environment without ``names`` for a block: the backend reads its settings per call, so this process
    then answers as a webserver started without them."""
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def read(plan: dict[str, Any]) -> dict[str, Any]:
    """``plan``: ``dag_id``, ``links_task``, ``result_task``, ``runs`` ({name: run_id}), and optionally
    ``without`` ({"run": name, "env": [variable, ...]}): that run read again with those variables removed.

    Returns {name: read_run(...)}, plus "without" when asked; or {"error": ...} if the app could not be built."""
    try:
        with fastapi_client() if AIRFLOW_V_3_0_PLUS else flask_client() as get:
            found: dict[str, Any] = {name: read_run(get, plan, run_id) for name, run_id in plan["runs"].items()}
            without = plan.get("without")
            if without:
                with _without(without["env"]):
                    found["without"] = read_run(get, plan, plan["runs"][without["run"]])
    except Exception as exc:
        return {"error": f"the release's API app raised {type(exc).__module__}.{type(exc).__name__}: {exc}"}
    return found
