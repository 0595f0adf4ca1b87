"""(2) What decides between storing and refusing a frame, in the details: the quoted reason, leading missing text.

A refusal quotes Arrow's own exception as its reason, and that exception can quote a value of the frame whole
(``Could not convert 'xxx...'``): the quote is cut at 300 characters so one huge value does not flood the task log.
A text column whose first rows are missing is still text: its Arrow type comes from its first present value, so
it is stored (not refused as changed) and comes back as the same str (or bytes) values. Column labels of mixed
types are checked whole, however long the frame. A pyarrow Table Parquet's writer refuses by its first row is
refused naming the column, as is a column not in this machine's byte order. And a Parquet object
without the layout (written before it, or by pyarrow alone) is read as the reader of that time read it: an object
column Arrow holds as ints, bools or floats comes back as the object column of Python values it was written from.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from airflow_io import round_trip, store
from xcom_compat import XComContext
from xcom_s3.errors import UnsupportedFrameError
from xcom_s3.frame_checks import SAMPLE_ROWS

from properties.checks import assert_frames_identical, frame_round_trips

CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)
#: How many characters of Arrow's exception a refusal quotes.
REASON_CHARS = 300


@pytest.mark.ours_only
def test_a_refusal_quotes_at_most_300_characters_of_arrows_reason(backend, xcom_s3_env) -> None:
    """Arrow's error for a column of an int and a 1000-character str quotes the str whole; the refusal keeps
    the first 300 characters of that error (its class named before them), then says what the column holds."""
    xcom_s3_env.set("threshold", 0)
    long_text = "x" * 1000
    frame = pd.DataFrame({"m": pd.Series([1, long_text], dtype=object)})
    with pytest.raises(UnsupportedFrameError) as raised:
        store(backend, frame, CTX)
    assert xcom_s3_env.keys() == [], "a refused frame wrote to S3"
    message = str(raised.value)
    found = re.fullmatch(
        r"DataFrame column 'm' \(dtype object\) cannot be stored as Parquet exactly: (\w+): (.*); it holds values "
        r"of types \['int', 'str'\]\. Give it one type Parquet keeps, e\.g\. df\['m'\] = df\['m'\]\.astype\(str\)\.",
        message,
    )
    assert found is not None, f"unexpected refusal text:\n{message}"
    quoted = found.group(2)
    assert len(quoted) == REASON_CHARS, f"{len(quoted)} characters of Arrow's reason quoted: {quoted!r}"
    assert "x" * 200 in quoted, f"the reason does not quote the value: {quoted!r}"


@pytest.mark.parametrize("missing", [None, np.nan], ids=["None", "nan"])
@pytest.mark.parametrize("text", ["a", b"a"], ids=["str", "bytes"])
def test_text_columns_whose_first_rows_are_missing_round_trip(backend, xcom_s3_env, missing, text) -> None:
    """Any backend: an object column of str (or bytes) whose first two rows are missing comes back as the same
    values, missing ones included; it is neither refused nor turned into the other kind of text."""
    xcom_s3_env.new_prefix()
    values = [missing, missing, text, text * 2, missing]
    frame = pd.DataFrame({"n": range(5), "t": pd.Series(values, dtype=object)})
    frame_round_trips(backend, frame, CTX)


@pytest.mark.ours_only
@pytest.mark.filterwarnings("ignore:The DataFrame has column names of mixed type:UserWarning")  # pyarrow's
def test_labels_of_mixed_types_are_refused_past_the_checked_head(backend, xcom_s3_env) -> None:
    """A frame longer than the head checked before the upload, labelled 1 (an int column) and 2.5 (a text
    column): Parquet would give the labels back as text, so the push is refused asking for str labels, though the
    int column alone is exact by construction (the head keeps every column when the labels are not all str)."""
    xcom_s3_env.set("threshold", 0)
    rows = SAMPLE_ROWS + 5
    frame = pd.DataFrame({"a": np.arange(rows), "b": ["s"] * rows})
    frame.columns = pd.Index([1, 2.5], dtype=object)
    with pytest.raises(UnsupportedFrameError) as raised:
        store(backend, frame, CTX)
    assert xcom_s3_env.keys() == [], "a refused frame wrote to S3"
    message = str(raised.value)
    assert message.startswith(
        "DataFrame column labels (dtype object) cannot be stored exactly: it would come back changed ("
    ), message
    assert message.endswith("). Use str labels (df.columns = df.columns.map(str))."), message


@pytest.mark.ours_only
@pytest.mark.parametrize("rows", [3, SAMPLE_ROWS + 5], ids=["head", "past-the-head"])
def test_a_byte_swapped_column_is_refused_naming_it_and_its_remedy_works(backend, xcom_s3_env, rows) -> None:
    """A big-endian int column beside a native one: Arrow takes no byte-swapped array, and on pandas 2 a frame
    longer than the checked head failed with pandas' own ValueError ("Big-endian buffer not supported") instead
    of a refusal. Refused the same way at any length; the remedy it names makes the frame storable, exactly."""
    xcom_s3_env.set("threshold", 0)
    frame = pd.DataFrame({"i": np.arange(rows), "be": np.arange(rows, dtype=">i8")})
    with pytest.raises(UnsupportedFrameError) as raised:
        store(backend, frame, CTX)
    assert xcom_s3_env.keys() == [], "a refused frame wrote to S3"
    assert str(raised.value) == (
        "DataFrame column 'be' (dtype >i8) cannot be stored as Parquet exactly: Arrow takes no byte-swapped arrays. "
        "Convert it to this machine's byte order: df['be'] = df['be'].astype(df['be'].dtype.newbyteorder('='))."
    )
    df = frame
    df["be"] = df["be"].astype(df["be"].dtype.newbyteorder("="))
    frame_round_trips(backend, df, CTX)


def _nulls_in_a_non_nullable_child() -> pa.Table:
    """Two rows: the first a null struct whose child, declared non-nullable, holds a null there too."""
    child = pa.field("x", pa.int8(), nullable=False)
    struct = pa.StructArray.from_arrays([pa.array([None, 1], pa.int8())], fields=[child], mask=pa.array([True, False]))
    return pa.table({"ok": [1, 2], "s": struct})


def _parquet_refuses(table: pa.Table) -> bool:
    """Whether this pyarrow's own Parquet writer refuses ``table`` (newer releases check non-nullable fields)."""
    try:
        pq.write_table(table, pa.BufferOutputStream())
    except pa.ArrowInvalid:
        return True
    return False


@pytest.mark.ours_only
def test_a_table_parquet_refuses_by_its_first_row_is_refused_naming_the_column(backend, xcom_s3_env) -> None:
    """A table whose first row alone breaks Parquet's writer (a null in a child declared non-nullable): where this
    pyarrow's writer refuses it, the refusal names the column and quotes the writer; where it does not, the table
    comes back exactly."""
    xcom_s3_env.set("threshold", 0)
    table = _nulls_in_a_non_nullable_child()
    if not _parquet_refuses(table):
        got = round_trip(backend, table, CTX)
        assert isinstance(got, pa.Table) and got.equals(table, check_metadata=True), f"{got} != {table}"
        return
    with pytest.raises(UnsupportedFrameError) as raised:
        store(backend, table, CTX)
    assert xcom_s3_env.keys() == [], "a refused table wrote to S3"
    assert str(raised.value).startswith(
        "pyarrow Table column 's' (type struct<x: int8 not null>) cannot be stored as Parquet exactly: ArrowInvalid: "
    ), str(raised.value)


def _written_without_layout(frame: pd.DataFrame) -> bytes:
    """The Parquet file pyarrow alone writes for ``frame`` (as the writer before the layout did): no layout."""
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(frame), sink)
    return sink.getvalue().to_pybytes()


@pytest.mark.ours_only
def test_a_file_without_the_layout_gives_object_columns_back_as_object() -> None:
    """Object columns of ints, bools, and floats with None (which Arrow holds as int64, bool and double) and an
    object index of ints, in a file without the layout, are read back as object columns of the same Python values
    (None still None, not NaN), as the reader before the layout gave them back."""
    from xcom_s3 import frames

    frame = pd.DataFrame(
        {
            "ints": pd.Series([1, 2, 3], dtype=object),
            "bools": pd.Series([True, False, True], dtype=object),
            "floats": pd.Series([0.5, None, 2.0], dtype=object),
            "text": pd.Series(["a", None, "c"], dtype=object),
        }
    )
    frame.index = pd.Index([5, 6, 7], dtype=object, name="k")
    data = _written_without_layout(frame)
    assert frames.LAYOUT_KEY not in (pq.read_metadata(pa.BufferReader(data)).metadata or {})
    got = frames.parquet_to_frame(data)
    assert_frames_identical(got, frame)
    for name in frame.columns:
        came = [(type(v).__name__, v) for v in got[name]]
        assert came == [(type(v).__name__, v) for v in frame[name]], f"column {name!r} comes back as {came}"
    assert [type(v).__name__ for v in got.index] == ["int"] * 3


@pytest.mark.ours_only
@pytest.mark.parametrize("other", ["int64", "float64", "datetime64[ns]"])
def test_a_file_without_the_layout_gives_an_object_index_level_back_beside_typed_ones(other: str) -> None:
    """A MultiIndex of an object level and a typed one, in a file without the layout: the object level comes back as
    object (pandas 3 reads it as ``str``), the typed level keeps its dtype, never made object with it."""
    from xcom_s3 import frames

    frame = pd.DataFrame({"v": [0.5, 1.5, 2.5]})
    typed = pd.Index(pd.Series([1, 2, 3]).astype(other))
    frame.index = pd.MultiIndex.from_arrays([pd.Index(["a", "b", "c"], dtype=object), typed], names=["s", "n"])
    got = frames.parquet_to_frame(_written_without_layout(frame))
    assert [str(level.dtype) for level in got.index.levels] == ["object", other]
    assert_frames_identical(got, frame)


@pytest.mark.ours_only
def test_a_file_without_the_layout_gives_an_object_index_of_floats_back_as_object() -> None:
    """An object index of floats (Arrow holds it as double, pandas reads float64) comes back as object floats."""
    from xcom_s3 import frames

    frame = pd.DataFrame({"v": [1, 2, 3]}, index=pd.Index([0.5, 1.5, 2.5], dtype=object, name="k"))
    got = frames.parquet_to_frame(_written_without_layout(frame))
    assert got.index.dtype == object and [type(v).__name__ for v in got.index] == ["float"] * 3
    assert_frames_identical(got, frame)
