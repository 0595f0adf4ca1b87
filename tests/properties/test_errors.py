"""Bad input fails at push as the default backend fails (any backend); ours names what to fix and writes nothing
to S3, and bad configuration names the setting (ours only). That every kind of failure is an XComS3Error naming the
object or the setting is robustness/test_robust_errors.py's business (it provokes each for real)."""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import inspect
import json
import sys
import warnings

import airflow
import pandas as pd
import pytest
from airflow_io import IS_3X, is_ours, load, store, through_db
from s3_server import free_port
from xcom_compat import BaseXCom, XComContext, capabilities
from xcom_s3.errors import ConfigError, StorageError, UnsupportedFrameError

from properties.checks import frame_round_trips, require_push_and_pull, round_trips_as_default
from properties.stored import attempt

CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="manual__2024-01-01T00:00:00+00:00", map_index=-1)
BIG = {"data": "x" * 200}


#: Values some release's default backend refuses to store: the backend under test must refuse them too.
REJECTED_BY_SOME_DEFAULT = {
    "object": object(),
    "inf": {"v": float("inf")},  # 3.x: the real push posts JSON with allow_nan=False
    "big-inf": {"v": float("-inf"), "pad": "x" * 5000},  # ... also when a backend would offload it
}


@pytest.mark.parametrize("threshold", [10**9, 0], ids=["inline", "offloaded"])
@pytest.mark.parametrize("value", list(REJECTED_BY_SOME_DEFAULT.values()), ids=list(REJECTED_BY_SOME_DEFAULT))
def test_what_the_default_rejects_is_rejected(backend, xcom_s3_env, threshold, value):
    """Any backend: a value the default backend cannot store fails at push, never later at pull (not reached when
    every push fails: the rejection would say nothing)."""
    xcom_s3_env.set("threshold", threshold)
    require_push_and_pull(backend, CTX)
    round_trips_as_default(backend, value, CTX)


@pytest.mark.ours_only
def test_missing_bucket_names_the_setting(backend, xcom_s3_env):
    xcom_s3_env.set("threshold", 0)
    xcom_s3_env.set("bucket", None)
    for value in (BIG, pd.DataFrame({"a": [1]})):
        with pytest.raises(ConfigError, match="AIRFLOW__XCOM_S3__BUCKET"):
            store(backend, value, CTX)
    assert xcom_s3_env.keys() == []


@pytest.mark.ours_only
def test_small_values_need_no_bucket(backend, xcom_s3_env):
    """2.x schedulers push XComs without S3 settings: below the threshold only the threshold is read."""
    xcom_s3_env.set("bucket", None)
    assert store(backend, {"a": 1}, CTX) == store(BaseXCom, {"a": 1}, CTX)


@pytest.mark.ours_only
def test_unreachable_endpoint_names_the_endpoint(backend, xcom_s3_env):
    xcom_s3_env.set("threshold", 0)
    stored = through_db(store(backend, BIG, CTX))  # written while the endpoint still works
    dead = f"http://127.0.0.1:{free_port()}"
    xcom_s3_env.set("endpoint_url", dead)
    xcom_s3_env.set("max_attempts", 1)
    xcom_s3_env.set("connect_timeout", 1)
    backend.reset_client()
    with pytest.raises(StorageError, match=dead):
        store(backend, BIG, XComContext(key="k2", task_id="t", dag_id="d", run_id="r", map_index=-1))
    with pytest.raises(StorageError, match=dead):
        load(backend, stored, CTX)
    xcom_s3_env.set("endpoint_url", xcom_s3_env.endpoint.endpoint_url)
    backend.reset_client()
    assert len(xcom_s3_env.keys()) == 1  # only the object written before the endpoint went away


@pytest.mark.ours_only
def test_an_api_request_gets_the_error_as_the_apis_own_response(backend, xcom_s3_env):
    """``xcomEntries?deserialize=true`` calls the backend in the 2.x webserver and the 3.0 API server: one without
    the bucket setting answers with the API's own error response naming the setting (2.x: connexion's JSON problem,
    3.0: FastAPI's ``{"detail": …}``), never the bare 500 that any other exception becomes. Outside an API request
    (a task's pull, the UI's pages) the error is our own."""
    xcom_s3_env.set("threshold", 0)
    stored = through_db(store(backend, BIG, CTX))
    xcom_s3_env.set("bucket", None)
    if IS_3X:
        from airflow.models.xcom import XComModel
        from fastapi import HTTPException

        row = XComModel(dag_id=CTX.dag_id, task_id=CTX.task_id, run_id=CTX.run_id, key=CTX.key, value=stored)
        with pytest.raises(HTTPException) as raised:  # what 3.0's get_xcom_entry passes: its XComModel row
            backend.deserialize_value(row)
        status, detail, outside = raised.value.status_code, raised.value.detail, [contextlib.nullcontext()]
        title, _, detail = detail.partition(". ")  # FastAPI's detail is one text: "<title>. <detail>"
    else:
        import flask
        from connexion import ProblemException

        app = flask.Flask(__name__)
        api_request = app.test_request_context("/api/v1/dags/d/dagRuns/r/taskInstances/t/xcomEntries/return_value")
        with api_request, pytest.raises(ProblemException) as raised:
            load(backend, stored, CTX)
        status, title, detail = raised.value.status, raised.value.title, raised.value.detail
        outside = [app.test_request_context("/xcom/list/"), contextlib.nullcontext()]
    assert status == 500
    # The title names the backend class (the user's, when they subclass ours); the detail starts with our error.
    assert title == f"The XCom backend {backend.__module__}.{backend.__qualname__} could not read this value"
    assert detail == (
        f"ConfigError: {raised.value.__cause__} The webserver / API server reads offloaded values only when it has "
        "the backend's settings and credentials, as the workers do; give it them, or turn deserialization off with "
        "AIRFLOW__API__ENABLE_XCOM_DESERIALIZE_SUPPORT=False."
    )
    assert "AIRFLOW__XCOM_S3__BUCKET" in detail, detail
    assert isinstance(raised.value.__cause__, ConfigError)
    for outside_the_api in outside:
        with outside_the_api, pytest.raises(ConfigError, match="AIRFLOW__XCOM_S3__BUCKET"):
            load(backend, stored, CTX)


#: Frames Parquet cannot hold: (frame, the column at fault, why ours says it cannot be stored).
UNSTORABLE_FRAMES = [
    pytest.param(pd.DataFrame([[1, 2, 3]], columns=["a", "dup", "dup"]), "dup", "duplicate", id="duplicate-columns"),
    pytest.param(
        pd.DataFrame({"ok": [1, 2], "mixed": pd.Series([1, "a"], dtype=object)}), "mixed", "type", id="mixed-object"
    ),
    pytest.param(
        pd.DataFrame({"ok": [1], "bad_text": pd.Series(["\ud800"], dtype=object)}), "bad_text", "utf-8", id="bad-text"
    ),
]
PLAIN_FRAME = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})


@pytest.mark.parametrize(("frame", "column", "reason"), UNSTORABLE_FRAMES)
def test_frames_that_cannot_round_trip_fail_at_push(backend, xcom_s3_env, frame, column, reason):
    """Any backend: a frame it cannot keep exactly fails at push; one it accepts comes back identical (not
    reached when the backend cannot push and pull a plain frame either). Ours refuses each with
    UnsupportedFrameError naming the column and why, before anything reaches S3."""
    require_push_and_pull(backend, CTX, PLAIN_FRAME)
    xcom_s3_env.new_prefix()  # the plain frame's object is not counted below
    pushed = attempt(store, backend, frame, CTX)
    if not is_ours(backend):
        if pushed.ok:
            frame_round_trips(backend, frame, CTX)
        return
    assert isinstance(pushed.error, UnsupportedFrameError), f"expected UnsupportedFrameError, got {pushed.error!r}"
    message = str(pushed.error)
    assert repr(column) in message, f"the message does not name the column {column!r}: {message}"
    assert reason.lower() in message.lower(), f"the message does not say why ({reason!r}): {message}"
    assert xcom_s3_env.keys() == [], "a refused frame wrote to S3"


class _Refuse(importlib.abc.MetaPathFinder):
    """A finder that makes importing the named top-level packages fail."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        if fullname.split(".")[0] in self.names:
            raise ImportError(f"{fullname} imported while importing xcom_s3")


@pytest.mark.ours_only
def test_importing_the_backend_creates_no_client():
    """Every Airflow component imports the backend: no boto3/pandas/pyarrow, so no client or network.

    Re-imports xcom_s3 in this process with those packages unimportable, then puts every module back.
    """
    heavy = {"boto3", "botocore", "pandas", "pyarrow"}
    ours = {n: m for n, m in sys.modules.items() if n == "xcom_s3" or n.startswith("xcom_s3.")}
    hidden = {n: m for n, m in sys.modules.items() if n.split(".")[0] in heavy}
    refuse = _Refuse(heavy)
    for name in [*ours, *hidden]:
        del sys.modules[name]
    sys.meta_path.insert(0, refuse)
    try:
        # 2.x: the fresh class re-registers its name with SQLAlchemy's declarative registry; harmless here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fresh = importlib.import_module("xcom_s3")
            importlib.import_module("xcom_s3.backend")
        assert fresh.S3XComBackend is not ours["xcom_s3.backend"].S3XComBackend  # really imported again
    finally:
        sys.meta_path.remove(refuse)
        for name in [n for n in sys.modules if n == "xcom_s3" or n.startswith("xcom_s3.")]:
            del sys.modules[name]
        sys.modules.update(ours)
        sys.modules.update(hidden)


def test_capabilities_match_the_installed_release():
    """capabilities() agrees with what the installed Airflow's BaseXCom actually does."""
    caps = capabilities()
    assert caps.airflow_version == airflow.__version__
    sample = BaseXCom.serialize_value({"a": 1}, key="k", task_id="t", dag_id="d", run_id="r", map_index=-1)
    assert caps.stored_type == ("json" if IS_3X else "bytes")
    assert isinstance(sample, bytes) == (caps.stored_type == "bytes")
    if caps.stored_type == "json":
        json.dumps(sample)
    assert caps.passes_run_context == ("run_id" in inspect.signature(BaseXCom.serialize_value).parameters)
    assert caps.purge_called == hasattr(BaseXCom, "purge")
    assert caps.orm_deserialize_value == hasattr(BaseXCom, "orm_deserialize_value")
    assert caps.store_value_api == hasattr(BaseXCom, "store_value")
    assert caps.base_class == f"{BaseXCom.__module__}.{BaseXCom.__qualname__}"
