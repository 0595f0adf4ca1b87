"""(1) Equivalence with the release's default backend, inline and offloaded, through the real hooks."""

from __future__ import annotations

import pytest
from airflow_io import IS_3X, store, through_db
from hypothesis import assume, example, given
from strategies import contexts, xcom_values
from xcom_compat import BaseXCom, XComContext

from properties.budget import share
from properties.checks import round_trips_as_default
from properties.stored import attempt, is_escape, reference

CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)
#: THRESHOLD per mode: nothing offloaded but frames / everything offloaded (ours; others ignore it).
THRESHOLDS = {"inline": 10**9, "offloaded": 0}
SCHEDULER_KEYS = ("skipmixin_key", "past_depends_met")


@pytest.mark.parametrize("mode", list(THRESHOLDS))
@given(value=xcom_values(), ctx=contexts())
# 3.x: the real push rejects inf/NaN (httpx allow_nan=False); an offloaded copy must not smuggle them through.
@example(value={"": float("inf")}, ctx=CTX)
@example(value="123", ctx=CTX)
def test_values_round_trip_as_the_default_backend_does(backend, xcom_s3_env, mode, value, ctx):
    """Any backend: whatever the default returns comes back with the same types; whatever it rejects is
    rejected."""
    xcom_s3_env.set("threshold", THRESHOLDS[mode])
    round_trips_as_default(backend, value, ctx)


@pytest.mark.ours_only
@given(value=xcom_values(), ctx=contexts())
def test_inline_values_are_stored_as_the_default_stores_them(backend, xcom_s3_env, value, ctx):
    """Under the threshold the DB row is byte-for-byte the default's (unless the value had to be escaped)."""
    xcom_s3_env.set("threshold", THRESHOLDS["inline"])
    expected = attempt(lambda: through_db(store(BaseXCom, value, ctx)))
    got = attempt(lambda: through_db(store(backend, value, ctx)))
    assert got.ok == expected.ok, f"default: {expected.error or 'ok'!r}; ours: {got.error or 'ok'!r}"
    if got.ok and not is_escape(got.value):
        assert type(got.value) is type(expected.value)
        assert got.value == expected.value
        if not IS_3X:
            assert isinstance(got.value, bytes)
    assert xcom_s3_env.keys() == [], "an inline value wrote to S3"


@pytest.mark.ours_only
@share(0.8)  # about 4 in 5 draws can be stored: as many stored values as when rejected draws counted as examples
@given(value=xcom_values(), ctx=contexts())
def test_offloaded_values_are_stored_as_references(backend, xcom_s3_env, value, ctx):
    """At THRESHOLD=0 every value the default can store leaves a reference (scheduler keys excepted)."""
    xcom_s3_env.set("threshold", THRESHOLDS["offloaded"])
    # Values the default rejects say nothing here (test_values_round_trip_as_the_default_backend_does checks ours
    # rejects them too): assume() draws others instead, and fails the test if (nearly) none can be stored.
    assume(attempt(lambda: through_db(store(BaseXCom, value, ctx))).ok)
    stored = through_db(store(backend, value, ctx))
    if ctx.key not in SCHEDULER_KEYS:
        assert reference(stored) is not None, f"THRESHOLD=0 but the value stayed inline: {stored!r:.200}"
