"""(2) polars DataFrames come back as polars DataFrames, exactly, or their push is refused naming the column
(issue 14). polars is optional: where this entry has no polars, these checks skip, saying so.

Exactly: ``frame.equals(got)`` and the same schema (dtypes: Enum categories, Categorical, Datetime unit and time
zone, Decimal precision, nested List and Struct types).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from airflow_io import round_trip, store, through_db
from hypothesis import given
from hypothesis import strategies as st
from xcom_compat import XComContext

from properties.budget import share
from properties.stored import reference

try:
    import polars as pl
except ImportError:
    pl = None

pytestmark = [
    pytest.mark.ours_only,
    pytest.mark.skipif(pl is None, reason="n/a: polars is not installed in this entry"),
]

CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)


def assert_polars_identical(got: Any, expected: Any) -> None:
    assert isinstance(got, pl.DataFrame), f"a polars DataFrame comes back as {type(got).__name__}"
    assert got.schema == expected.schema, f"{got.schema} != {expected.schema}"
    assert got.equals(expected), f"{got} != {expected}"


def every_kind_of_column() -> dict[str, Any]:
    """One three-row column per polars dtype family (a missing value in each)."""
    return {
        "i8": pl.Series([1, None, -3], dtype=pl.Int8),
        "u64": pl.Series([0, None, 2**64 - 1], dtype=pl.UInt64),
        "f32": pl.Series([0.5, None, float("nan")], dtype=pl.Float32),
        "f64": pl.Series([-0.0, None, float("inf")], dtype=pl.Float64),
        "bool": pl.Series([True, None, False]),
        "str": pl.Series(["é\x00", None, ""]),
        "bin": pl.Series([b"\x00\xff", None, b""]),
        "date": pl.Series([dt.date(1, 1, 1), None, dt.date(9999, 12, 31)]),
        "time": pl.Series([dt.time(0, 0), None, dt.time(23, 59, 59, 999999)]),
        "dt_ms_tz": pl.Series([dt.datetime(2024, 1, 1), None, dt.datetime(2262, 1, 1)]).cast(
            pl.Datetime("ms", "Asia/Tokyo")
        ),
        "dt_ns": pl.Series([dt.datetime(2024, 1, 1), None, dt.datetime(2200, 1, 1)]).cast(pl.Datetime("ns")),
        "dur_us": pl.Series([dt.timedelta(seconds=-1), None, dt.timedelta(days=9)]),
        "dec": pl.Series([decimal.Decimal("1.50"), None, decimal.Decimal("-2.25")], dtype=pl.Decimal(10, 2)),
        "cat": pl.Series(["x", None, "y"], dtype=pl.Categorical),
        "enum": pl.Series(["x", None, "y"], dtype=pl.Enum(["z", "y", "x"])),
        "list": pl.Series([[1, None], None, []], dtype=pl.List(pl.Int64)),
        "array": pl.Series([[1, 2], None, [3, 4]], dtype=pl.Array(pl.Int32, 2)),
        "struct": pl.Series([{"a": 1, "b": "s"}, None, {"a": None, "b": None}]),
        "nested": pl.Series([[{"a": [1]}], None, []]),
        "null": pl.Series([None, None, None], dtype=pl.Null),
    }


def test_every_kind_of_polars_column_is_kept_or_refused_by_name(backend, xcom_s3_env):
    kept, refused = [], []
    for name, column in every_kind_of_column().items():
        frame = pl.DataFrame({name: column})
        try:
            got = round_trip(backend, frame, CTX)
        except Exception as exc:
            from xcom_s3.errors import UnsupportedFrameError

            assert isinstance(exc, UnsupportedFrameError) and f"column {name!r}" in str(exc), f"{name}: {exc!r}"
            refused.append(name)
            continue
        assert_polars_identical(got, frame)
        kept.append(name)
    print(f"polars columns: {len(kept)} kept, refused: {refused}")
    assert len(kept) >= len(every_kind_of_column()) - 2, refused


@share(0.5)
@given(
    names=st.lists(st.sampled_from(sorted(every_kind_of_column()) if pl else ["-"]), min_size=1, unique=True),
    start=st.integers(0, 2),
)
def test_polars_frames_come_back_exactly_or_are_refused_naming_the_column(backend, xcom_s3_env, names, start):
    xcom_s3_env.new_prefix()
    frame = pl.DataFrame({name: every_kind_of_column()[name] for name in names}).slice(start)
    try:
        got = round_trip(backend, frame, CTX)
    except Exception as exc:
        from xcom_s3.errors import UnsupportedFrameError

        assert isinstance(exc, UnsupportedFrameError) and any(f"column {n!r}" in str(exc) for n in names), repr(exc)
        return
    assert_polars_identical(got, frame)


def test_a_polars_frame_is_parquet_behind_a_reference_that_says_polars(backend, xcom_s3_env, monkeypatch):
    """Many row groups; the reference says polars; the object is Parquet any tool reads."""
    from xcom_s3 import frames

    monkeypatch.setattr(frames, "MIN_SLICE_ROWS", 50)
    monkeypatch.setattr(frames, "SLICE_BYTES", 1)
    frame = pl.DataFrame({"n": range(300), "e": pl.Series(["a", "b", "c"] * 100, dtype=pl.Enum(["c", "b", "a"]))})
    stored = through_db(store(backend, frame, CTX))
    ref = reference(stored)
    assert ref is not None and ref["returns"] == "polars.DataFrame" and ref["shape"] == [300, 2]
    [key] = xcom_s3_env.keys()
    body = xcom_s3_env.get(key)
    assert pq.read_metadata(pa.BufferReader(body)).num_row_groups == 6
    assert pq.read_table(pa.BufferReader(body)).column("n").to_pylist() == list(range(300))
    assert_polars_identical(round_trip(backend, frame, CTX), frame)


def test_object_columns_are_refused_before_upload(backend, xcom_s3_env):
    from xcom_s3.errors import UnsupportedFrameError

    frame = pl.DataFrame({"ok": [1, 2], "obj": pl.Series([object(), object()], dtype=pl.Object)})
    with pytest.raises(UnsupportedFrameError, match=r"column 'obj' \(dtype Object\)"):
        store(backend, frame, CTX)
    assert not xcom_s3_env.keys()


def test_object_columns_are_refused_with_the_whole_remedy(backend, xcom_s3_env):
    from xcom_s3.errors import UnsupportedFrameError

    frame = pl.DataFrame({"ok": [1, 2], "obj": pl.Series([object(), object()], dtype=pl.Object)})
    with pytest.raises(UnsupportedFrameError) as refused:
        store(backend, frame, CTX)
    assert str(refused.value).startswith("polars DataFrame column 'obj' (dtype Object) cannot be stored as Parquet ")
    assert str(refused.value).endswith(
        ". Convert it to a dtype Parquet keeps before returning the frame, e.g. "
        "df = df.with_columns(pl.col('obj').cast(pl.String))."
    )


@pytest.mark.parametrize("dtype", ["Int128", "UInt128"])
def test_a_column_arrow_cannot_hold_is_refused_naming_it_and_the_remedy_kept(backend, xcom_s3_env, dtype):
    """polars' 128-bit integers have no Arrow type: the conversion fails for the whole frame, and the refusal
    names the column that fails alone, Arrow's reason and the cast to text, which then round-trips."""
    from xcom_s3.errors import UnsupportedFrameError

    if not hasattr(pl, dtype):
        pytest.skip(f"n/a: polars {pl.__version__} has no {dtype}")
    frame = pl.DataFrame({"ok": [1, 2], "big": pl.Series([1, 2**100], dtype=getattr(pl, dtype))})
    with pytest.raises(UnsupportedFrameError) as refused:
        store(backend, frame, CTX)
    assert re.fullmatch(
        rf"polars DataFrame column 'big' \(dtype {dtype}\) cannot be stored as Parquet exactly: \w+: .+\. Convert it "
        r"to a dtype Parquet keeps before returning the frame, e\.g\. df = df\.with_columns\(pl\.col\('big'\)"
        r"\.cast\(pl\.String\)\)\.",
        str(refused.value),
    ), str(refused.value)
    assert not xcom_s3_env.keys()
    remedied = frame.with_columns(pl.col("big").cast(pl.String))
    assert_polars_identical(round_trip(backend, remedied, CTX), remedied)


def test_an_empty_column_name_is_refused_asking_for_a_name(backend, xcom_s3_env):
    """polars reads a column named "" back as "column_0": refused, asking for a name, which then round-trips."""
    from xcom_s3.errors import UnsupportedFrameError

    frame = pl.DataFrame({"": [1, 2]})
    with pytest.raises(UnsupportedFrameError) as refused:
        store(backend, frame, CTX)
    assert str(refused.value) == (
        "polars DataFrame column '' (dtype Int64) cannot be stored as Parquet exactly: polars reads it back under "
        "another name. Rename it before returning the frame, e.g. df = df.rename({'': 'value'})."
    )
    assert not xcom_s3_env.keys()
    remedied = frame.rename({"": "value"})
    assert_polars_identical(round_trip(backend, remedied, CTX), remedied)


def test_rows_without_columns_are_refused_not_lost(backend, xcom_s3_env):
    """Parquet has no rows without a column: three rows of no columns would come back as none."""
    from xcom_s3.errors import UnsupportedFrameError

    frame = pl.DataFrame({"a": [1, 2, 3]}).drop("a")
    assert frame.shape == (3, 0)
    with pytest.raises(UnsupportedFrameError) as refused:
        store(backend, frame, CTX)
    assert str(refused.value) == (
        "polars DataFrame of shape (3, 0) has rows but no columns, and Parquet keeps no row count without a column: "
        "give it at least one column before returning it."
    )
    assert not xcom_s3_env.keys()


def test_strings_are_stored_as_arrow_types_every_parquet_reader_knows(backend, xcom_s3_env):
    """polars' newest Arrow compat level would store its strings as string_view, which older readers refuse."""
    frame = pl.DataFrame({"s": ["a", None, "c"], "b": [b"x", b"y", None]})
    store(backend, frame, CTX)
    [key] = xcom_s3_env.keys()
    stored = pq.read_table(pa.BufferReader(xcom_s3_env.get(key))).schema
    assert (stored.field("s").type, stored.field("b").type) == (pa.large_string(), pa.large_binary())
    assert_polars_identical(round_trip(backend, frame, CTX), frame)
