"""(3) Nothing is misinterpreted: look-alike values come back as themselves, never as what they name."""

from __future__ import annotations

import pytest
from airflow_io import default_round_trip, load, purge, round_trip, store, through_db
from hypothesis import given
from hypothesis import strategies as st
from strategies import contexts, json_values, lookalikes
from xcom_s3 import S3XComBackend

from properties.budget import share
from properties.same_value import assert_same_value
from properties.stored import is_escape, reference


@pytest.mark.parametrize("threshold", [10**9, 0], ids=["inline", "offloaded"])
@given(value=lookalikes(), ctx=contexts(key=st.just("return_value")))
def test_lookalikes_come_back_as_themselves(xcom_s3_env, threshold, value, ctx):
    """s3:// and xcom_s3:// strings and marker dicts (also nested) round-trip like any other value."""
    xcom_s3_env.set("threshold", threshold)
    got = round_trip(S3XComBackend, value, ctx)
    assert_same_value(got, default_round_trip(value, ctx))
    assert got == value


@given(
    value=st.one_of(lookalikes(), st.just("s3://xcom-s3-test/x")), ctx=contexts(key=st.just("return_value"))
)
def test_top_level_lookalikes_are_escaped_inline(xcom_s3_env, value, ctx):
    """Below the threshold a top-level look-alike is stored as an escape, never a reference; S3 untouched."""
    xcom_s3_env.set("threshold", 10**9)
    stored = through_db(store(S3XComBackend, value, ctx))
    top_level = isinstance(value, str) or (isinstance(value, dict) and "__xcom_s3__" in value)
    assert reference(stored) is None
    assert is_escape(stored) == top_level, f"escaped={is_escape(stored)} for {value!r}"
    assert xcom_s3_env.keys() == []


@share(0.3)
@given(original=json_values(), ctx=contexts(key=st.just("return_value")), other=contexts(key=st.just("copy")))
def test_a_real_reference_pushed_as_a_value_is_just_a_dict(xcom_s3_env, original, ctx, other):
    """A genuine reference pushed as a user value comes back as the dict; purging the copy deletes nothing."""
    xcom_s3_env.new_prefix()
    xcom_s3_env.set("threshold", 0)
    first = through_db(store(S3XComBackend, original, ctx))
    ref = reference(first)
    assert ref is not None
    objects = xcom_s3_env.keys()
    assert len(objects) == 1

    for threshold in (10**9, 0):
        xcom_s3_env.set("threshold", threshold)
        stored = through_db(store(S3XComBackend, ref, other))
        back = load(S3XComBackend, stored, other)
        assert back == ref, f"got {back!r} back instead of the reference dict"
        copy_ref = reference(stored)
        assert copy_ref is None or copy_ref["uri"] != ref["uri"], "copy stored as the original ref"
        purge(S3XComBackend, stored, other)  # purging the copy must not touch the original's object
        assert set(objects) <= set(xcom_s3_env.keys()), "purging the copy deleted the original's object"
        assert load(S3XComBackend, first, ctx) == original
