"""(2.x) What the UI and the REST API show for a row of the backend's class: Airflow calls ``orm_deserialize_value``
on every ORM load of a row, so it must never do the backend's I/O. Ours shows its own objects (a reference, an
escape) as stored, and everything else exactly as BaseXCom's own ORM view shows it.

test_orm_reads checks the same on a real metadata DB after a real DAG run, for three values; this checks it for every
value, in process (so the mutation runs, which leave tests/e2e out, reach the hook too).
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from airflow_io import IS_3X, orm_row, store, through_db
from hypothesis import given
from hypothesis import strategies as st
from strategies import contexts, json_values, lookalikes
from xcom_compat import AIRFLOW_VERSION, XComContext

from properties.stored import decode, is_escape, reference

pytestmark = [
    pytest.mark.ours_only,
    pytest.mark.skipif(IS_3X, reason="n/a: Airflow 3 has no orm_deserialize_value: its UI and API never call backends"),
]


@pytest.mark.parametrize("threshold", [10**9, 0], ids=["inline", "offloaded"])
@given(value=st.one_of(json_values(), lookalikes()), ctx=contexts(key=st.just("return_value")))
def test_the_ui_shows_our_objects_as_stored_and_every_other_value_as_the_default_does(
    backend, xcom_s3_env, threshold, value, ctx
):
    xcom_s3_env.set("threshold", threshold)
    stored = through_db(store(backend, value, ctx))
    row = backend(key=ctx.key, task_id=ctx.task_id, dag_id=ctx.dag_id, run_id=ctx.run_id, value=stored)
    shown = row.orm_deserialize_value()
    if reference(stored) is not None or is_escape(stored):
        assert shown == decode(stored)
    else:
        assert shown == orm_row(stored, ctx).value


@pytest.mark.skipif(
    AIRFLOW_VERSION < (2, 6, 0),
    reason="n/a: before 2.6 Airflow's own ORM view has no display text for a datetime (2.3-2.4 store plain JSON, "
    "2.5's decoder raises AttributeError)",
)
def test_a_lookalike_holding_a_datetime_shows_as_stored_not_as_airflows_display_text(backend, xcom_s3_env):
    """Airflow's own ORM view turns a serialized datetime inside a value into display text; the escape of a look-alike
    is shown as stored, so the UI shows exactly what the row holds (and what a pull gives back)."""
    xcom_s3_env.set("threshold", 10**9)
    ctx = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)
    stored = through_db(store(backend, {"__xcom_s3__": 1, "when": datetime(2024, 1, 2, tzinfo=timezone.utc)}, ctx))
    assert is_escape(stored)
    shown = backend(key=ctx.key, task_id=ctx.task_id, dag_id=ctx.dag_id, run_id=ctx.run_id, value=stored)
    assert shown.orm_deserialize_value() == decode(stored)
    assert orm_row(stored, ctx).value != decode(stored)  # what the override is for: BaseXCom would show text


@pytest.mark.skipif(
    AIRFLOW_VERSION < (2, 6, 0),
    reason="n/a: before 2.6 Airflow's own ORM view has no display text for a datetime (2.3-2.4 store plain JSON, "
    "2.5's decoder raises AttributeError)",
)
def test_a_plain_dict_holding_a_datetime_shows_as_airflows_own_view_does(backend, xcom_s3_env):
    """The other side of the look-alike above: a plain dict holding a datetime is no object of ours, so the UI shows
    Airflow's own display text for it, not the JSON the row holds (a JSON object is not ours just by being one)."""
    xcom_s3_env.set("threshold", 10**9)
    ctx = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)
    stored = through_db(store(backend, {"when": datetime(2024, 1, 2, tzinfo=timezone.utc)}, ctx))
    assert reference(stored) is None and not is_escape(stored)
    shown = backend(key=ctx.key, task_id=ctx.task_id, dag_id=ctx.dag_id, run_id=ctx.run_id, value=stored)
    assert shown.orm_deserialize_value() == orm_row(stored, ctx).value != decode(stored)
