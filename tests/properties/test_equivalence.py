"""(1) Equivalence with the release's default backend, inline and offloaded, through the real hooks."""

from __future__ import annotations

import pytest
from airflow_io import IS_3X, default_round_trip, round_trip, store, through_db
from hypothesis import example, given
from strategies import contexts, xcom_values
from xcom_compat import BaseXCom, XComContext
from xcom_s3 import S3XComBackend

from properties.same_value import assert_same_value
from properties.stored import attempt, is_escape, reference

CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)
#: THRESHOLD per mode: nothing offloaded but frames / everything offloaded.
THRESHOLDS = {"inline": 10**9, "offloaded": 0}


@pytest.mark.parametrize("mode", list(THRESHOLDS))
@given(value=xcom_values(), ctx=contexts())
# 3.x: the real push rejects inf/NaN (httpx allow_nan=False); an offloaded copy must not smuggle them through.
@example(value={"": float("inf")}, ctx=CTX)
def test_values_round_trip_as_the_default_backend_does(xcom_s3_env, mode, value, ctx):
    """Whatever the default returns, ours returns with the same types; whatever it rejects, ours rejects."""
    xcom_s3_env.set("threshold", THRESHOLDS[mode])
    expected = attempt(default_round_trip, value, ctx)
    got = attempt(round_trip, S3XComBackend, value, ctx)
    if not expected.ok:
        assert not got.ok, (
            f"the default backend rejects this value ({expected.error!r}); ours returned {got.value!r}"
        )
        return
    assert got.ok, f"the default backend round-trips this value; ours raised {got.error!r}"
    assert_same_value(got.value, expected.value)

    stored = through_db(store(S3XComBackend, value, ctx))
    if mode == "offloaded" and ctx.key not in ("skipmixin_key", "past_depends_met"):
        assert reference(stored) is not None, f"THRESHOLD=0 but the value stayed inline: {stored!r}"
    elif mode == "inline" and not is_escape(stored):
        # Not escaped: the DB must hold exactly what the default backend would have written.
        assert stored == through_db(store(BaseXCom, value, ctx))


@given(value=xcom_values(), ctx=contexts())
def test_inline_values_are_stored_as_the_default_stores_them(xcom_s3_env, value, ctx):
    """Under the threshold the DB row is byte-for-byte the default's (unless the value had to be escaped)."""
    xcom_s3_env.set("threshold", THRESHOLDS["inline"])
    expected = attempt(lambda: through_db(store(BaseXCom, value, ctx)))
    got = attempt(lambda: through_db(store(S3XComBackend, value, ctx)))
    assert got.ok == expected.ok, f"default: {expected.error or 'ok'!r}; ours: {got.error or 'ok'!r}"
    if got.ok and not is_escape(got.value):
        assert type(got.value) is type(expected.value)
        assert got.value == expected.value
        if not IS_3X:
            assert isinstance(got.value, bytes)
    assert xcom_s3_env.keys() == [], "an inline value wrote to S3"
