"""(8) Airflow 2.x with ``[core] enable_xcom_pickling = True``: every value behaves as the default backend's does.

With pickling on, the default stores ``pickle.dumps(value)`` and pulls back whatever unpickles, so "the same value
back" means pickle's round trip, not JSON's. The suite's own checks run here unchanged: the default they compare
against is the release's BaseXCom, which reads the same setting. Ours keeps that pickle in the metadata DB whatever
its size (the threshold is about JSON; nothing in the bucket is ever unpickled); DataFrames still go to S3 as
Parquet; a top-level dict holding our marker, or a string holding one's JSON text, is stored as an escape that
keeps the pickle, so a purge (which sees the row as Airflow unpickled it) never takes it for a reference.
"""

from __future__ import annotations

import codecs
import pickle
from collections.abc import Iterator

import pytest
from airflow_io import IS_3X, load, store, through_db
from hypothesis import example, given
from hypothesis import strategies as st
from strategies import contexts, frames, json_values, lookalikes, xcom_values
from xcom_compat import BaseXCom, XComContext
from xcom_s3.errors import XComS3Error

from properties.budget import share
from properties.checks import (
    assert_frames_identical,
    lookalike_comes_back,
    reference_pushed_as_a_value_is_just_a_value,
    round_trips_as_default,
    text_of_a_reference_pushed_as_a_value_is_just_a_value,
)
from properties.stored import attempt, is_escape, is_pickle, reference
from properties.test_lookalike_texts import ESCAPE_TEXT, lookalike_texts

CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)
#: THRESHOLD per mode: nothing offloaded but frames / everything the backend would offload (ours; others ignore it).
THRESHOLDS = {"inline": 10**9, "offloaded": 0}
PICKLING = "AIRFLOW__CORE__ENABLE_XCOM_PICKLING"
#: The issue's look-alikes: pushing either raised a bare AssertionError with pickling on.
S3_STRING = "s3://xcom-s3-test/xcom/d/r/t/-1/return_value.json.zst"
MARKER_DICT = {"__xcom_s3__": 1, "kind": "ref", "uri": S3_STRING}


@pytest.fixture
def pickling(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``[core] enable_xcom_pickling = True`` for the test; Airflow reads it at every (de)serialization."""
    if IS_3X:
        pytest.skip("n/a: Airflow 3 has no XCom pickling")
    monkeypatch.setenv(PICKLING, "True")
    yield


@pytest.mark.parametrize("mode", list(THRESHOLDS))
@given(value=xcom_values(), ctx=contexts())
@example(value=S3_STRING, ctx=CTX)
@example(value=MARKER_DICT, ctx=CTX)
def test_values_round_trip_as_the_pickling_default_does(backend, xcom_s3_env, pickling, mode, value, ctx):
    """Any backend: what the pickling default returns comes back with the same types; what it rejects is
    rejected."""
    xcom_s3_env.set("threshold", THRESHOLDS[mode])
    round_trips_as_default(backend, value, ctx)


@pytest.mark.parametrize("threshold", [10**9, 0], ids=["inline", "offloaded"])
@given(value=st.one_of(lookalikes(), lookalike_texts()), ctx=contexts(key=st.just("return_value")))
@example(value=S3_STRING, ctx=CTX)
@example(value=MARKER_DICT, ctx=CTX)
@example(value=ESCAPE_TEXT, ctx=CTX)
def test_lookalikes_come_back_as_themselves_with_pickling(backend, xcom_s3_env, pickling, threshold, value, ctx):
    """Any backend: s3:// strings, marker dicts (also nested) and their JSON texts come back as themselves."""
    xcom_s3_env.set("threshold", threshold)
    lookalike_comes_back(backend, value, ctx)


@share(0.2)
@given(original=json_values(), ctx=contexts(key=st.just("return_value")), other=contexts(key=st.just("copy")))
def test_a_real_reference_pushed_with_pickling_is_just_a_value(
    backend, xcom_s3_env, storage, monkeypatch, pickling, original, ctx, other
):
    """Any backend: a reference written before pickling was turned on, pushed as a user value with pickling on (as
    the dict, and as its JSON text), comes back as itself; purging that copy leaves the original's object in
    place."""
    xcom_s3_env.new_prefix()
    xcom_s3_env.set("threshold", 0)
    monkeypatch.setenv(PICKLING, "False")
    first = through_db(store(backend, original, ctx))
    monkeypatch.setenv(PICKLING, "True")
    for threshold in (10**9, 0):
        xcom_s3_env.set("threshold", threshold)
        reference_pushed_as_a_value_is_just_a_value(backend, storage, first, ctx, original, other)
        text_of_a_reference_pushed_as_a_value_is_just_a_value(backend, storage, first, ctx, original, other)


@pytest.mark.ours_only
@share(0.2)
@given(frame=frames(max_rows=4), ctx=contexts())
def test_frames_still_go_to_s3_as_parquet(backend, xcom_s3_env, pickling, frame, ctx):
    """Pickling changes nothing for frames: one Parquet object and a reference in the DB whatever the threshold,
    and the frame comes back identical (as the pickling default returns it)."""
    xcom_s3_env.new_prefix()
    xcom_s3_env.set("threshold", 10**9)
    stored = through_db(store(backend, frame, ctx))
    ref = reference(stored)
    assert ref is not None and ref["format"] == "parquet", f"a frame was not offloaded as Parquet: {ref!r}"
    assert len(xcom_s3_env.keys()) == 1
    assert_frames_identical(load(backend, stored, ctx), frame)


@pytest.mark.ours_only
@given(value=xcom_values(), ctx=contexts())
@example(value=S3_STRING, ctx=CTX)
@example(value="x" * 100_000, ctx=CTX)
def test_pickles_stay_in_the_db_as_the_default_stores_them(backend, xcom_s3_env, pickling, value, ctx):
    """At THRESHOLD=0 every value the pickling default can store stays its pickle, byte for byte: nothing goes to
    S3 (no object in the bucket is ever unpickled). Only a top-level dict holding our marker is wrapped instead,
    in an escape that keeps the pickle."""
    xcom_s3_env.set("threshold", 0)
    expected = attempt(lambda: through_db(store(BaseXCom, value, ctx)))
    got = attempt(lambda: through_db(store(backend, value, ctx)))
    assert got.ok == expected.ok, f"default: {expected.error or 'ok'!r}; ours: {got.error or 'ok'!r}"
    if got.ok:
        assert is_pickle(expected.value), f"the default stored no pickle: {expected.value!r:.80}"
        if isinstance(value, dict) and "__xcom_s3__" in value:
            assert is_escape(got.value), f"a marker dict stored as {got.value!r:.200}"
        else:
            assert got.value == expected.value, f"stored {got.value!r:.120}, the default {expected.value!r:.120}"
    assert xcom_s3_env.keys() == [], "a pickled value went to S3"


@pytest.mark.ours_only
def test_an_escaped_pickle_is_unpickled_only_where_the_default_would(backend, xcom_s3_env, monkeypatch):
    """2.x: a marker dict pushed with pickling on and pulled with pickling off raises our error naming the setting,
    never unpickles; 3.x (such a row after the upgrade from 2.x): the same error, Airflow 3 reads no pickles."""
    if IS_3X:
        pickled = codecs.escape_encode(pickle.dumps(MARKER_DICT))[0].decode()
        row = {"__xcom_s3__": 1, "kind": "escaped", "pickle": pickled}
    else:
        monkeypatch.setenv(PICKLING, "True")
        row = through_db(store(backend, MARKER_DICT, CTX))
        assert is_escape(row) and load(backend, row, CTX) == MARKER_DICT
        assert S3_STRING.encode() in row, "the key the dict names is hidden from `xcom-s3 gc` in the row's text"
        assert b"\\u0000" not in row, "a NUL in the row's JSON: 3.0's migration to PostgreSQL JSONB rejects it"
        monkeypatch.setenv(PICKLING, "False")
    with pytest.raises(XComS3Error, match=PICKLING):
        load(backend, row, CTX)
