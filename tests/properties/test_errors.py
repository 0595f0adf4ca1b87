"""Bad input and bad configuration fail with a clear error that names what to fix, and write nothing to S3."""

from __future__ import annotations

import importlib
import importlib.abc
import inspect
import json
import sys
import warnings

import airflow
import pandas as pd
import pytest
from airflow_io import IS_3X, load, store, through_db
from s3_server import free_port
from xcom_compat import BaseXCom, XComContext, capabilities
from xcom_s3 import S3XComBackend
from xcom_s3.errors import ConfigError, StorageError, UnsupportedFrameError, XComS3Error

CTX = XComContext(
    key="return_value", task_id="t", dag_id="d", run_id="manual__2024-01-01T00:00:00+00:00", map_index=-1
)
BIG = {"data": "x" * 200}


def test_missing_bucket_names_the_setting(xcom_s3_env):
    xcom_s3_env.set("threshold", 0)
    xcom_s3_env.set("bucket", None)
    for value in (BIG, pd.DataFrame({"a": [1]})):
        with pytest.raises(ConfigError, match="AIRFLOW__XCOM_S3__BUCKET"):
            store(S3XComBackend, value, CTX)
    assert xcom_s3_env.keys() == []


def test_small_values_need_no_bucket(xcom_s3_env):
    """2.x schedulers push XComs without S3 settings: below the threshold only the threshold is read."""
    xcom_s3_env.set("bucket", None)
    assert store(S3XComBackend, {"a": 1}, CTX) == store(BaseXCom, {"a": 1}, CTX)


def test_unreachable_endpoint_names_the_endpoint(xcom_s3_env):
    xcom_s3_env.set("threshold", 0)
    stored = through_db(store(S3XComBackend, BIG, CTX))  # written while the endpoint still works
    dead = f"http://127.0.0.1:{free_port()}"
    xcom_s3_env.set("endpoint_url", dead)
    xcom_s3_env.set("max_attempts", 1)
    xcom_s3_env.set("connect_timeout", 1)
    S3XComBackend.reset_client()
    with pytest.raises(StorageError, match=dead):
        store(S3XComBackend, BIG, XComContext(key="k2", task_id="t", dag_id="d", run_id="r", map_index=-1))
    with pytest.raises(StorageError, match=dead):
        load(S3XComBackend, stored, CTX)
    xcom_s3_env.set("endpoint_url", xcom_s3_env.endpoint.endpoint_url)
    S3XComBackend.reset_client()
    assert len(xcom_s3_env.keys()) == 1  # only the object written before the endpoint went away


@pytest.mark.parametrize(
    ("frame", "column", "reason"),
    [
        (pd.DataFrame([[1, 2, 3]], columns=["a", "dup", "dup"]), "dup", "duplicate"),
        (pd.DataFrame({"ok": [1, 2], "mixed": pd.Series([1, "a"], dtype=object)}), "mixed", "type"),
        (pd.DataFrame({"ok": [1], "bad_text": pd.Series(["\ud800"], dtype=object)}), "bad_text", ""),
    ],
    ids=["duplicate-columns", "mixed-object-column", "unencodable-text"],
)
def test_frames_parquet_cannot_hold_name_the_column(xcom_s3_env, frame, column, reason):
    """The error is ours (UnsupportedFrameError), names the column and says why; S3 stays empty."""
    with pytest.raises(UnsupportedFrameError) as info:
        store(S3XComBackend, frame, CTX)
    message = str(info.value)
    assert repr(column) in message or f'"{column}"' in message, message
    assert reason.lower() in message.lower(), message
    assert xcom_s3_env.keys() == []


def test_every_error_is_an_xcom_s3_error():
    for name in (
        "ConfigError",
        "StorageError",
        "ObjectMissingError",
        "IntegrityError",
        "ForeignReferenceError",
    ):
        assert issubclass(getattr(__import__("xcom_s3.errors", fromlist=[name]), name), XComS3Error)


class _Refuse(importlib.abc.MetaPathFinder):
    """A finder that makes importing the named top-level packages fail."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        if fullname.split(".")[0] in self.names:
            raise ImportError(f"{fullname} imported while importing xcom_s3")


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
