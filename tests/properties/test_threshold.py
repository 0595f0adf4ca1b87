"""(4) The threshold decides inline vs offloaded at the exact byte of the default-serialized size."""

from __future__ import annotations

import json

import pytest
from airflow_io import IS_3X, default_round_trip, load, store, through_db
from hypothesis import given
from hypothesis import strategies as st
from strategies import contexts, ids, sized_values
from xcom_compat import BaseXCom

from properties.budget import share
from properties.same_value import assert_same_value
from properties.stored import reference

#: Keys the scheduler reads from the DB: never offloaded (contract).
SCHEDULER_KEYS = ("skipmixin_key", "past_depends_met")

pytestmark = pytest.mark.ours_only  # THRESHOLD and the scheduler keys are xcom_s3's own settings


def default_size(value, ctx) -> int:
    """The contract's size, computed here independently of the backend and of compat's helper."""
    stored = store(BaseXCom, value, ctx)
    if not IS_3X:
        return len(stored)
    return len(json.dumps(stored, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


@given(value=sized_values(), ctx=contexts(key=ids().filter(lambda k: k not in SCHEDULER_KEYS)))
def test_threshold_splits_at_the_exact_byte(backend, xcom_s3_env, value, ctx):
    """size == THRESHOLD - 1: inline, exactly the default's row; size == THRESHOLD: offloaded, one object."""
    xcom_s3_env.new_prefix()
    size = default_size(value, ctx)
    expected = default_round_trip(value, ctx)

    xcom_s3_env.set("threshold", size + 1)
    inline = through_db(store(backend, value, ctx))
    assert reference(inline) is None, f"offloaded at size {size} < THRESHOLD {size + 1}"
    assert inline == through_db(store(BaseXCom, value, ctx)), "the inline row differs from the default's"
    assert xcom_s3_env.keys() == []
    assert_same_value(load(backend, inline, ctx), expected)

    xcom_s3_env.set("threshold", size)
    offloaded = through_db(store(backend, value, ctx))
    assert reference(offloaded) is not None, f"kept inline at size {size} == THRESHOLD"
    assert len(xcom_s3_env.keys()) == 1
    assert_same_value(load(backend, offloaded, ctx), expected)


@share(0.3)
@given(value=sized_values(), key=st.sampled_from(SCHEDULER_KEYS), ctx=contexts())
def test_scheduler_keys_always_stay_inline(backend, xcom_s3_env, value, key, ctx):
    """skipmixin_key and past_depends_met stay the default's row at THRESHOLD=0: the scheduler reads them."""
    xcom_s3_env.set("threshold", 0)
    ctx = type(ctx)(key=key, task_id=ctx.task_id, dag_id=ctx.dag_id, run_id=ctx.run_id, map_index=ctx.map_index)
    assert store(backend, value, ctx) == store(BaseXCom, value, ctx)
    assert xcom_s3_env.keys() == []
