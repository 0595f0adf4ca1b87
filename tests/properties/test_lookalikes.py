"""(3) Nothing is misinterpreted: look-alike values come back as themselves, never as what they name."""

from __future__ import annotations

import pytest
from airflow_io import store, through_db
from hypothesis import given
from hypothesis import strategies as st
from strategies import contexts, json_values, lookalikes

from properties.budget import share
from properties.checks import lookalike_comes_back, reference_pushed_as_a_value_is_just_a_value
from properties.stored import is_escape, reference


@pytest.mark.parametrize("threshold", [10**9, 0], ids=["inline", "offloaded"])
@given(value=lookalikes(), ctx=contexts(key=st.just("return_value")))
def test_lookalikes_come_back_as_themselves(backend, xcom_s3_env, threshold, value, ctx):
    """Any backend: s3:// and xcom_s3:// strings and marker dicts (also nested) round-trip like any value."""
    xcom_s3_env.set("threshold", threshold)
    lookalike_comes_back(backend, value, ctx)


@pytest.mark.ours_only
@given(value=st.one_of(lookalikes(), st.just("s3://xcom-s3-test/x")), ctx=contexts(key=st.just("return_value")))
def test_top_level_lookalikes_are_escaped_inline(backend, xcom_s3_env, value, ctx):
    """Below the threshold a top-level look-alike is stored as an escape, never a reference; S3 untouched."""
    xcom_s3_env.set("threshold", 10**9)
    stored = through_db(store(backend, value, ctx))
    top_level = isinstance(value, str) or (isinstance(value, dict) and "__xcom_s3__" in value)
    assert reference(stored) is None
    assert is_escape(stored) == top_level, f"escaped={is_escape(stored)} for {value!r}"
    assert xcom_s3_env.keys() == []


@share(0.3)
@given(original=json_values(), ctx=contexts(key=st.just("return_value")), other=contexts(key=st.just("copy")))
def test_a_real_reference_pushed_as_a_value_is_just_a_value(backend, xcom_s3_env, storage, original, ctx, other):
    """Any backend: what the DB holds for an offloaded value, pushed as a user value, comes back as itself
    (inline and offloaded, for ours); purging that copy deletes nothing."""
    xcom_s3_env.new_prefix()
    xcom_s3_env.set("threshold", 0)
    first = through_db(store(backend, original, ctx))
    for threshold in (10**9, 0):
        xcom_s3_env.set("threshold", threshold)
        reference_pushed_as_a_value_is_just_a_value(backend, storage, first, ctx, original, other)
