"""(2) DataFrames of every common dtype round-trip exactly (any backend); ours stores each as one Parquet object."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from airflow_io import load, store, through_db
from hypothesis import Phase, example, find, given, settings
from hypothesis import strategies as st
from strategies import FRAME_DTYPES, contexts, frames
from xcom_compat import XComContext

from properties.budget import share
from properties.checks import assert_frames_identical, frame_round_trips
from properties.stored import object_key, reference

CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)
PARQUET_MAGIC = b"PAR1"
#: What the DB may hold for a frame: a reference, whatever the frame's size.
MAX_REFERENCE_BYTES = 1024


@given(frame=frames(), ctx=contexts())
# Regressions: object-dtype strings (pandas 3 reads them back as "str"), an empty categorical (categories
# lost), rows without columns (the row count is lost), an all-missing object column and a period column (both
# crashed the dictionary-encoding choice: Arrow has no count_distinct for null or extension types).
@example(frame=pd.DataFrame({"s": pd.Series(["a"], dtype=object)}), ctx=CTX)
@example(frame=pd.DataFrame({"c": pd.Categorical([], categories=["a", "b"])}), ctx=CTX)
@example(frame=pd.DataFrame(index=pd.RangeIndex(2)), ctx=CTX)
@example(frame=pd.DataFrame({"o": pd.Series([None, None], dtype=object)}), ctx=CTX)
@example(frame=pd.DataFrame({"p": pd.period_range("2024-01", periods=3, freq="M")}), ctx=CTX)
def test_frames_round_trip_exactly(backend, xcom_s3_env, frame, ctx):
    """Any backend: every dtype and index variant comes back identical through push and pull."""
    xcom_s3_env.new_prefix()
    frame_round_trips(backend, frame, ctx)


def every_common_dtype() -> pd.DataFrame:
    """One column per common dtype (missing values included), on a named integer index."""
    moments = ["2024-01-01 00:00:00", None, "2024-01-03 04:05:06"]
    return pd.DataFrame(
        {
            "int8": pd.Series([1, -2, 3], dtype="int8"),
            "uint64": pd.Series([1, 2, 2**63], dtype="uint64"),
            "float32": pd.Series([0.5, None, 2.0], dtype="float32"),
            "float64": [0.5, None, 2.0],
            "bool": [True, False, True],
            "object": pd.Series(["a", "b", None], dtype=object),
            "string": pd.Series(["a", None, "c"], dtype="string"),
            "Int64": pd.Series([1, None, 3], dtype="Int64"),
            "boolean": pd.Series([True, None, False], dtype="boolean"),
            "datetime": pd.to_datetime(moments),
            "datetime_tz": pd.to_datetime(moments).tz_localize("UTC"),
            "timedelta": pd.to_timedelta([1, None, 3], unit="s"),
            "category": pd.Categorical(["x", "y", "x"]),
            "period": pd.period_range("2024-01", periods=3, freq="M"),
        }
    ).set_axis(pd.Index([10, 20, 30], dtype="int64", name="row"))


def test_a_frame_of_every_common_dtype_round_trips(backend, xcom_s3_env):
    """Any backend: one frame holding every common dtype comes back identical; a failure names every column
    whose dtype changed (the property above reports only its first, shrunk, example)."""
    frame_round_trips(backend, every_common_dtype(), CTX)


@pytest.mark.ours_only
@share(0.3)
@given(frame=frames(), ctx=contexts(), codec=st.sampled_from(["zstd", "snappy", "gzip", "none"]))
@example(frame=pd.DataFrame({"s": pd.Series(["a"], dtype=object)}), ctx=CTX, codec="zstd")
def test_frames_are_one_parquet_object_behind_a_small_reference(backend, xcom_s3_env, frame, ctx, codec):
    """Whatever the threshold and codec: a small reference in the DB, one Parquet object in S3, read back."""
    xcom_s3_env.new_prefix()
    xcom_s3_env.set("compression", codec)
    xcom_s3_env.set("threshold", 10**9)  # frames are offloaded whatever the threshold

    stored = through_db(store(backend, frame, ctx))
    ref = reference(stored)
    assert ref is not None, f"a DataFrame stayed inline: {stored!r:.200}"
    assert len(stored if isinstance(stored, bytes) else repr(stored)) < MAX_REFERENCE_BYTES
    assert ref["format"] == "parquet" and ref["shape"] == list(frame.shape)

    key = object_key(ref, xcom_s3_env.endpoint.bucket)
    assert xcom_s3_env.keys() == [key] and key.endswith(".parquet")
    body = xcom_s3_env.get(key)
    assert body[:4] == PARQUET_MAGIC and body[-4:] == PARQUET_MAGIC, "the object is not a Parquet file"
    assert ref["size"] == len(body)

    assert_frames_identical(load(backend, stored, ctx), frame)


@pytest.mark.ours_only
@share(0.3)
@given(frame=frames(dtypes=("inferred_str", "string", "Int64", "datetime_tz", "category")), ctx=contexts())
def test_frames_survive_the_db_of_every_release(backend, xcom_s3_env, frame, ctx):
    """The reference, not the frame, goes through the DB: JSON-able on 3.x, plain JSON bytes on 2.x."""
    xcom_s3_env.new_prefix()
    first = store(backend, frame, ctx)
    # Pushing the same frame again (a retry) writes the same key and gives the same reference.
    second = store(backend, frame, ctx)
    assert reference(through_db(first))["uri"] == reference(through_db(second))["uri"]
    assert len(xcom_s3_env.keys()) == 1
    assert_frames_identical(load(backend, through_db(second), ctx), frame)


def dtype_matches(kind: str, dtype: object) -> bool:
    """Whether a column the strategy drew for the dtype name ``kind`` (strategies.FRAME_DTYPES) has that dtype."""
    if kind == "object_str":
        return dtype == np.dtype(object)
    if kind == "inferred_str":  # what pandas infers for text: object on pandas 2, its "str" dtype on pandas 3
        return dtype == pd.Series(["a"]).dtype
    if kind == "datetime_tz":
        return isinstance(dtype, pd.DatetimeTZDtype) and dtype.unit == "ns"
    if kind.startswith("category"):
        return isinstance(dtype, pd.CategoricalDtype) and dtype.ordered == (kind == "category_ordered")
    named = {"datetime_ns": "datetime64[ns]", "datetime_us": "datetime64[us]", "timedelta": "timedelta64[ns]"}
    return str(dtype) == named.get(kind, kind)


def test_every_dtype_is_generated():
    """Guard the strategy: each dtype the property claims to cover builds frames with rows whose every column has
    that dtype (a strategy that quietly built another dtype would leave it untested)."""
    quick = settings(database=None, max_examples=50, phases=[Phase.generate])
    for kind in FRAME_DTYPES:
        frame = find(frames(dtypes=(kind,)), lambda f: len(f) > 0, settings=quick)
        wrong = {name: str(dtype) for name, dtype in frame.dtypes.items() if not dtype_matches(kind, dtype)}
        assert frame.shape[1] >= 1 and not wrong, f"{kind!r} drew columns of other dtypes: {wrong}"
