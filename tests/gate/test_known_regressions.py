"""Known Airflow regressions, each asserting the installed release's real behaviour and that the backend under
test (``backend``) is immune. A check outside the release range a regression belongs to is n/a, naming the range."""

from __future__ import annotations

import inspect
import re
import types

import airflow
import pytest
from airflow_io import IS_3X, result_for, round_trip, store, through_db
from properties.checks import repeat_push_leaves_one_copy
from properties.stored import reference
from xcom_compat import AIRFLOW_VERSION, BaseXCom, XComContext, capabilities

CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)
BIG = {"data": "x" * 200}


def test_2_6_to_2_8_get_one_bypasses_custom_deserialize_value(xcom_s3_env, backend):
    """2.6.0-2.8.x: ``XCom.get_one``/``get_value`` return ``BaseXCom.deserialize_value(result)`` (fixed in 2.9).

    There the caller gets the stored reference dict, not the value; ``ti.xcom_pull`` (``XCom.deserialize_value``)
    still resolves it, which is the path tasks use.
    """
    if IS_3X:
        pytest.skip("n/a: 2.6.0-2.8.x only: 3.x get_one/get_value call cls.deserialize_value")
    from airflow.models.xcom import BaseXCom as OrmBaseXCom

    source = inspect.getsource(OrmBaseXCom.get_one)
    bypass = re.search(r"\bBaseXCom\.deserialize_value\(", source) is not None
    assert bypass == ((2, 6, 0) <= AIRFLOW_VERSION < (2, 9, 0)), f"Airflow {airflow.__version__}: {source}"

    xcom_s3_env.set("threshold", 0)
    stored = through_db(store(backend, BIG, CTX))
    row = result_for(stored, CTX)
    # ti.xcom_pull's path: the resolved backend's deserialize_value.
    assert backend.deserialize_value(row) == BIG
    if bypass:
        # get_one's path on 2.6-2.8: the base decoder hands back the stored object, never a wrong value.
        assert reference(OrmBaseXCom.deserialize_value(row)) is not None


def test_pandas_3_frames_fail_airflows_serializer_up_to_3_2(xcom_s3_env, backend):
    """pandas 3 names the class ``pandas.DataFrame``; serde registers only that name from 3.3 (sdk 1.3)."""
    import pandas as pd

    if int(pd.__version__.split(".")[0]) < 3:
        pytest.skip(f"n/a: pandas {pd.__version__}: the regression needs pandas >= 3 (Airflow 2.6-3.2)")
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    broken = AIRFLOW_VERSION < (3, 3, 0)
    if broken:
        with pytest.raises(TypeError, match=r"DataFrame is not JSON serializable|serialize object of type .*DataFrame"):
            BaseXCom.serialize_value(frame, key="k", task_id="t", dag_id="d", run_id="r", map_index=-1)
    else:
        BaseXCom.serialize_value(frame, key="k", task_id="t", dag_id="d", run_id="r", map_index=-1)
    pd.testing.assert_frame_equal(round_trip(backend, frame, CTX), frame)


def _delete_calls_pass_map_index() -> bool:
    from airflow.sdk.execution_time import task_runner

    calls = re.findall(r"XCom\.delete\((.*?)\)", inspect.getsource(task_runner), flags=re.S)
    assert calls, "the task runner no longer calls XCom.delete: re-check the 3.0.x mapped purge bug"
    return all("map_index" in call for call in calls)


def test_3_0_mapped_purge_gap_is_harmless_because_keys_repeat(xcom_s3_env, storage, backend):
    """3.0.x: the task runner calls ``XCom.delete`` without map_index, so mapped TIs are never purged.

    Immunity: a rerun of a mapped task writes the same object key, so the old object is overwritten, not
    orphaned (releases that never purge, 2.3-2.8, rely on the same property).
    """
    caps = capabilities()
    if IS_3X:
        passes = _delete_calls_pass_map_index()
        assert passes == (AIRFLOW_VERSION >= (3, 1, 0)), f"Airflow {airflow.__version__}"
        assert caps.purge_called_for_mapped == passes
    mapped = XComContext(key="return_value", task_id="m", dag_id="d", run_id="r", map_index=3)
    xcom_s3_env.set("threshold", 0)
    repeat_push_leaves_one_copy(backend, storage, mapped, {"try": 1, "pad": "x" * 50}, {"try": 2, "pad": "x" * 50})


def test_3_4_loop_task_groups_need_store_value(backend, monkeypatch):
    """3.4: Dags with a LoopTaskGroup refuse backends whose serialize_value is closer in the MRO than
    store_value (``_is_preferred_over``); ours must be picked through store_value."""
    if AIRFLOW_VERSION < (3, 4, 0):
        pytest.skip(f"n/a: Airflow {airflow.__version__}: store_value and loop task groups exist from 3.4 (3.4.0b2)")
    from airflow.sdk.execution_time import task_runner

    loop_group = object.__new__(task_runner.LoopTaskGroup)
    dag = types.SimpleNamespace(
        dag_id="loops", task_group=types.SimpleNamespace(get_task_group_dict=lambda: {"loop": loop_group})
    )

    class Legacy(BaseXCom):  # type: ignore[misc,valid-type]
        serialize_value = BaseXCom.serialize_value

    monkeypatch.setattr(task_runner, "XCom", Legacy)
    with pytest.raises(TypeError, match="store_value"):  # the real check refuses a legacy backend
        task_runner.check_xcom_backend_supports_loops(dag)
    monkeypatch.setattr(task_runner, "XCom", backend)
    task_runner.check_xcom_backend_supports_loops(dag)  # ours: no TypeError
