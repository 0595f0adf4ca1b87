"""(2) The whole text of each kind of frame refusal: where (the column or index level), its dtype, why, what to do.

A user fixes a refused frame from this text alone, so every part is pinned: the column or index level, its dtype
(as the frame's own ``dtype`` prints it, which differs between pandas majors), the reason, and the remedy chosen
for its kind (one type for an object column of mixed types, the real and imaginary parts for complex numbers, a
conversion to text otherwise), addressed to the expression that holds it (``df['c']``, ``df.index``). Only the
wording of Arrow's own exception is left open (``ARROW_REASON``): it changes between pyarrow releases. Ours only:
another backend refuses with its own words.
"""

from __future__ import annotations

import decimal
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from airflow_io import round_trip, store
from xcom_compat import XComContext
from xcom_s3.errors import UnsupportedFrameError

pytestmark = pytest.mark.ours_only

CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)
#: Arrow's (or pandas') exception as a refusal quotes it: its class, then its words on one line.
ARROW_REASON = r"(Arrow\w*Error|Arrow\w*|NotImplementedError|ValueError|TypeError): [^\n]+"
#: What a refusal of Python values Parquet would change says to do (``{t}``: the expression that holds them).
PYTHON_VALUES_REMEDY = (
    "Convert the values to ones Parquet keeps: lists rather than tuples or sets, dicts with the same str keys in "
    "the same order, ints within 64 bits, Decimals of one scale, datetimes of one time zone "
    "(e.g. {t} = {t}.map(list, na_action='ignore')), or to text ({t} = {t}.astype(str))."
)


def refusal(backend, xcom_s3_env, frame: pd.DataFrame) -> str:
    """The text of the refusal pushing ``frame`` meets (nothing reaches S3)."""
    xcom_s3_env.set("threshold", 0)
    with pytest.raises(UnsupportedFrameError) as raised:
        store(backend, frame, CTX)
    assert xcom_s3_env.keys() == [], "a refused frame wrote to S3"
    return str(raised.value)


def assert_text(message: str, *parts: str) -> None:
    """``message`` is exactly ``parts`` joined, each a literal except ``ARROW_REASON``."""
    pattern = "".join(part if part == ARROW_REASON else re.escape(part) for part in parts)
    assert re.fullmatch(pattern, message), f"unexpected refusal text:\n{message}"


def mixed_column() -> pd.DataFrame:
    return pd.DataFrame({"ok": [1, 2, 3], "mixed": pd.Series([1, "a", None], dtype=object)})


def mixed_index() -> pd.DataFrame:
    return pd.DataFrame({"ok": [1, 2, 3]}, index=pd.Index([1, "a", None], dtype=object))


@pytest.mark.parametrize(
    ("build", "where", "target"),
    [(mixed_column, "column 'mixed'", "df['mixed']"), (mixed_index, "index level 0", "df.index")],
    ids=["column", "index"],
)
def test_mixed_python_types_are_refused_naming_the_types_and_asking_for_one(backend, xcom_s3_env, build, where, target):
    """An object column (or index level) of ints and strs: its dtype, Arrow's reason, the types it holds (sorted,
    missing values left out) and the remedy of giving it one type, addressed to where it is."""
    message = refusal(backend, xcom_s3_env, build())
    assert_text(
        message,
        f"DataFrame {where} (dtype object) cannot be stored as Parquet exactly: ",
        ARROW_REASON,
        f"; it holds values of types ['int', 'str']. Give it one type Parquet keeps, e.g. {target} = "
        f"{target}.astype(str).",
    )


def test_an_object_index_level_arrow_cannot_convert_is_named(backend, xcom_s3_env):
    """An object index level of Periods fails Arrow's conversion: the refusal names the level, as it names a
    column, rather than finding no level that fails alone (pandas 2 would type the level if asked to rebuild it
    without its dtype, and the typed level converts)."""
    periods = pd.Index([pd.Period("2024-01", "M"), pd.Period("2024-02", "M")], dtype=object, name="when")
    message = refusal(backend, xcom_s3_env, pd.DataFrame({"n": [1, 2]}, index=periods))
    assert message.startswith("DataFrame index level 'when' (dtype object) cannot be stored as Parquet exactly: ")
    # The remedy's wording follows Arrow's error, which differs between pyarrow releases; its target does not.
    assert message.endswith(", e.g. df.index = df.index.astype(str)."), message


@pytest.mark.parametrize("where", ["column", "index"])
def test_a_date64_with_a_time_of_day_is_refused_in_any_row_and_its_remedy_kept(backend, xcom_s3_env, where):
    """An ArrowDtype date64 column (or index level) 1 ms past midnight in its last row, past the checked head:
    Parquet keeps date64 as whole days and would give it back as midnight, so it is refused naming the row and
    the remedy; the remedied frame comes back exactly, its timestamps with their milliseconds."""
    day = 86_400_000
    values = pd.arrays.ArrowExtensionArray(pa.array([day] * 2999 + [day + 1], pa.date64()))
    if where == "column":
        frame, named, target = pd.DataFrame({"d": values}), "column 'd'", "df['d']"
    else:
        frame, named, target = (
            pd.DataFrame({"n": range(3000)}, index=pd.Index(values, name="d")),
            "index level 'd'",
            "df.index",
        )
    message = refusal(backend, xcom_s3_env, frame)
    assert message == (
        f"DataFrame {named} (dtype date64[ms][pyarrow]) cannot be stored as Parquet exactly: its value at row 2999 "
        f"({day + 1} ms) holds a time of day, and Parquet keeps date64 as whole days: it would come back as "
        f"midnight. Keep the time as a timestamp, e.g. {target} = {target}.astype(pd.ArrowDtype(pa.timestamp('ms')))."
    )
    timestamps = pd.ArrowDtype(pa.timestamp("ms"))
    remedied = frame.astype(timestamps) if where == "column" else frame.set_axis(frame.index.astype(timestamps))
    back = round_trip(backend, remedied, CTX)
    pd.testing.assert_frame_equal(back, remedied)
    stamps = back["d"] if where == "column" else back.index.to_series()
    assert stamps.iloc[-1] == pd.Timestamp(day + 1, unit="ms")


@pytest.mark.parametrize(
    ("values", "why"),
    [
        (
            ["a", decimal.Decimal("NaN"), "b"],
            "it holds the missing value Decimal('NaN') (Decimal), which Parquet would give back as None",
        ),
        (
            ["a", None, float("nan")],
            "it holds missing values of different kinds (None, nan), which Parquet stores as one null",
        ),
        (
            [1, None, pd.NA, pd.NaT],
            "it holds missing values of different kinds (NA, NaT, None), which Parquet stores as one null",
        ),
    ],
    ids=["Decimal-NaN", "None-and-nan", "NA-NaT-and-None"],
)
def test_missing_values_parquet_cannot_tell_apart_are_refused_and_the_remedy_kept(backend, xcom_s3_env, values, why):
    """Parquet has one null: a missing value none of pandas' own kinds (Decimal NaN), or two kinds in one object
    column, would come back as one kind. The refusal names the values and the remedy, which round-trips."""
    frame = pd.DataFrame({"c": pd.Series(values, dtype=object)})
    message = refusal(backend, xcom_s3_env, frame)
    remedy = (
        "Use None for missing values (df['c'] = df['c'].where(df['c'].notna(), None))"
        if "Decimal" in why
        else "Use one kind of missing value, e.g. None: df['c'] = df['c'].where(df['c'].notna(), None)"
    )
    assert message == f"DataFrame column 'c' (dtype object) cannot be stored as Parquet exactly: {why}. {remedy}."
    frame["c"] = frame["c"].where(frame["c"].notna(), None)
    assert round_trip(backend, frame, CTX)["c"].tolist() == [v if not pd.isna(v) else None for v in values]


@pytest.mark.parametrize("missing", [pd.NaT, pd.NA, np.nan], ids=["NaT", "NA", "nan"])
def test_a_column_with_pandas_missing_values_is_not_blamed_for_another(backend, xcom_s3_env, missing):
    """Text with pandas' own missing values (which Arrow takes as nulls only from pandas) is storable: the refusal
    names the column of mixed types after it, not it."""
    frame = pd.DataFrame(
        {"text": pd.Series([missing, "a", "b"], dtype=object), "mixed": pd.Series([1, "a", 2], dtype=object)}
    )
    message = refusal(backend, xcom_s3_env, frame)
    assert message.startswith("DataFrame column 'mixed' (dtype object) cannot be stored"), message
    assert "it holds values of types ['int', 'str']" in message, message


def test_the_types_listed_are_those_of_the_first_thousand_values(backend, xcom_s3_env):
    """A column Arrow refuses only past its head (ints, then a str at row 1000) is refused when the whole frame is
    converted; the types the text lists come from the first 1000 present values (so a long column costs little
    to explain), so the str is not among them."""
    values = pd.Series([*range(1000), "late"], dtype=object)
    message = refusal(backend, xcom_s3_env, pd.DataFrame({"late": values}))
    assert_text(
        message,
        "DataFrame column 'late' (dtype object) cannot be stored as Parquet exactly: ",
        ARROW_REASON,
        "; it holds values of types ['int']. Give it one type Parquet keeps, e.g. df['late'] = df['late'].astype(str).",
    )
    one_earlier = pd.Series([*range(999), "late", 999], dtype=object)
    assert "types ['int', 'str']" in refusal(backend, xcom_s3_env, pd.DataFrame({"late": one_earlier}))


@pytest.mark.parametrize(
    ("frame", "where", "target"),
    [
        (pd.DataFrame({"ok": [1, 2], "z": np.array([1 + 2j, -3j])}), "column 'z'", "df['z']"),
        (
            pd.DataFrame({"ok": [1, 2]}, index=pd.Index(np.array([1 + 2j, -3j]), name="z")),
            "index level 'z'",
            "df.index",
        ),
    ],
    ids=["column", "index"],
)
def test_complex_numbers_are_refused_asking_for_real_and_imaginary_parts(backend, xcom_s3_env, frame, where, target):
    """Parquet has no complex numbers: store the two parts as floats (the remedy of complex dtypes alone)."""
    dtype = frame["z"].dtype if "z" in frame.columns else frame.index.dtype
    assert dtype.kind == "c"
    message = refusal(backend, xcom_s3_env, frame)
    assert_text(
        message,
        f"DataFrame {where} (dtype {dtype}) cannot be stored as Parquet exactly: ",
        ARROW_REASON,
        f"; it holds values of types ['complex']. Store the real and imaginary parts as two float columns "
        f"({target}.to_numpy().real and .imag).",
    )


def test_an_arrow_type_parquet_cannot_write_is_refused_asking_for_its_parts(backend, xcom_s3_env):
    """An ArrowDtype Parquet has no type for (month_day_nano_interval) fails in Parquet's writer, past Arrow's
    conversion: the column is named, and the remedy is its parts as ints (pandas 2.2 and later cast it to nothing,
    text included, so the usual astype(str) would fail there)."""
    intervals = pa.array([pa.MonthDayNano([1, 2, 3]), None], pa.month_day_nano_interval())
    frame = pd.DataFrame({"ok": [1, 2], "span": pd.Series(pd.arrays.ArrowExtensionArray(intervals))})
    message = refusal(backend, xcom_s3_env, frame)
    assert_text(
        message,
        f"DataFrame column 'span' (dtype {frame['span'].dtype}) cannot be stored as Parquet exactly: ",
        ARROW_REASON,
        ". Store its months, days and nanoseconds in int columns of their own (Parquet has no such interval).",
    )


@pytest.mark.parametrize(
    ("frame", "where", "target", "why"),
    [
        (
            pd.DataFrame({"ok": [1, 2], "raw": pd.Series([b"x", "a"], dtype=object)}),
            "column 'raw'",
            "df['raw']",
            "row 1: str 'a' comes back as bytes b'a'",
        ),
        (
            pd.DataFrame({"ok": [1, 2]}, index=pd.Index([(1, 2), (3, 4)], tupleize_cols=False)),
            "index level 0",
            "df.index",
            "row 0: tuple (1, 2) comes back as list [1, 2]",
        ),
        (
            pd.DataFrame({"nested": pd.Series([[[1, 2], (3, 4)], [[5], (6,)]], dtype=object)}),
            "column 'nested'",
            "df['nested']",
            "row 0: tuple (3, 4) comes back as list [3, 4]",
        ),
        (
            pd.DataFrame({"rec": pd.Series([{"a": 1, "b": (2, 3)}, {"a": 4, "b": (5, 6)}], dtype=object)}),
            "column 'rec'",
            "df['rec']",
            "row 0: tuple (2, 3) comes back as list [2, 3]",
        ),
        (
            pd.DataFrame({"arr": pd.Series([np.array(["a", "b"]), np.array(["c", "d"])], dtype=object)}),
            "column 'arr'",
            "df['arr']",
            "row 0: ndarray array(['a', 'b'], dtype='<U1') comes back as list ['a', 'b']",
        ),
    ],
    ids=["bytes-then-str", "tuples-in-the-index", "tuple-after-a-list", "tuple-after-a-key", "str-arrays"],
)
def test_python_values_parquet_would_change_are_refused_naming_the_row(backend, xcom_s3_env, frame, where, target, why):
    """Values Arrow converts but Parquet gives back otherwise (a str among bytes, tuples) are refused as they are
    encoded, naming the first row that changes and how, before any other check sees them: also where the change
    is below a part that comes back the same (a list's second item, a dict's second key), and for numpy arrays of
    str, which either decoder gives back as another type (a list, an object array of the same shape)."""
    message = refusal(backend, xcom_s3_env, frame)
    assert_text(
        message,
        f"DataFrame {where} (dtype object) cannot be stored as Parquet exactly: Parquet cannot give its values back "
        f"as they went in ({why}). ",
        PYTHON_VALUES_REMEDY.format(t=target),
    )


def test_a_value_parquet_would_change_past_the_head_is_refused(backend, xcom_s3_env):
    """Only the head makes the whole round trip before the push: a tuple among lists at row 80 is still refused
    (every row of an object column is compared as it is encoded), never given back as a list."""
    values = pd.Series([[i] for i in range(100)], dtype=object)
    values[80] = (80,)
    message = refusal(backend, xcom_s3_env, pd.DataFrame({"seq": values}))
    assert_text(
        message,
        "DataFrame column 'seq' (dtype object) cannot be stored as Parquet exactly: Parquet cannot give its values "
        "back as they went in (row 80: tuple (80,) comes back as list [80]). ",
        PYTHON_VALUES_REMEDY.format(t="df['seq']"),
    )
    values[80] = [80]
    assert round_trip(backend, pd.DataFrame({"seq": values}), CTX)["seq"].tolist() == values.tolist()


def test_dicts_whose_keys_differ_between_row_groups_are_refused_naming_the_column(backend, xcom_s3_env, monkeypatch):
    """Dicts of one key in the first row groups, of two in later ones: the whole column is a struct of both keys.
    pyarrow 19 and later cast the first groups' struct to it, adding the key as None, and the Python check refuses
    the row that would come back with it; pyarrow 14-17 cannot cast, and the refusal names the rows and both
    types. Either way the column and the remedy (dicts of the same keys) are named, and nothing reaches S3."""
    from xcom_s3 import frames

    monkeypatch.setattr(frames, "MIN_SLICE_ROWS", 50)
    monkeypatch.setattr(frames, "SLICE_BYTES", 1000)  # a dict row is hundreds of bytes: 50 rows a row group
    values = pd.Series([{"a": i} for i in range(100)] + [{"a": i, "b": i} for i in range(100, 200)], dtype=object)
    message = refusal(backend, xcom_s3_env, pd.DataFrame({"rec": values}))
    one_key, both_keys = pa.struct([("a", pa.int64())]), pa.struct([("a", pa.int64()), ("b", pa.int64())])
    try:
        pa.array([{"a": 0}], one_key).cast(both_keys)
    except pa.ArrowException:
        why = f"rows 0 to 49 convert to the Arrow type {one_key}, the whole column to {both_keys} ("
        parts: tuple[str, ...] = (why, ARROW_REASON, "). ")
    else:
        parts = (
            "Parquet cannot give its values back as they went in (row 0: the dict {'a': 0} comes back as "
            "{'a': 0, 'b': None}). ",
        )
    assert_text(
        message,
        "DataFrame column 'rec' (dtype object) cannot be stored as Parquet exactly: ",
        *parts,
        PYTHON_VALUES_REMEDY.format(t="df['rec']"),
    )


@pytest.mark.parametrize("axis_name", [None, "n" * 150], ids=["short", "long"])
def test_labels_that_would_change_are_refused_with_pandas_reason_on_one_line(backend, xcom_s3_env, axis_name):
    """bool column labels are stored as text and would not come back: pandas' own account of the difference is
    quoted on one line (its line breaks and runs of spaces made single spaces), cut at 300 characters (a long
    name of the column axis makes it longer)."""
    frame = pd.DataFrame([[1, 2]], columns=pd.Index([True, False], name=axis_name))
    message = refusal(backend, xcom_s3_env, frame)
    if int(pa.__version__.split(".")[0]) < 15:
        # pyarrow 14 cannot even read such labels back (its pandas metadata rebuilds them as a level of [True,
        # True]): refused all the same, by the general refusal that quotes the error.
        assert message.startswith(
            "DataFrame cannot be stored as Parquet: ValueError: Level values must be unique: [True, True] on level 0."
        ), message
        return
    head = "DataFrame column labels (dtype bool) cannot be stored exactly: it would come back changed ("
    tail = "). Use str labels (df.columns = df.columns.map(str))."
    assert message.startswith(head) and message.endswith(tail), message
    why = message[len(head) : -len(tail)]
    assert why.startswith("Index are different Index values are different ("), why
    assert why == " ".join(why.split()), f"not on one line: {why!r}"
    assert "[left]: Index([True, True], dtype='bool'" in why, why
    if axis_name is None:
        assert why.endswith("[right]: Index([True, False], dtype='bool')"), why  # whole
    else:
        assert len(why) == 300, f"{len(why)} characters: {why!r}"


@pytest.mark.parametrize("axis", ["index", "columns"])
def test_an_axis_named_by_a_value_json_cannot_give_back_is_refused_naming_it_and_its_type(backend, xcom_s3_env, axis):
    frame = pd.DataFrame({"a": [1, 2]})
    getattr(frame, axis).name = frozenset({1})
    assert refusal(backend, xcom_s3_env, frame) == (
        "DataFrame index or column axis has the name frozenset({1}) of type frozenset, which Parquet cannot keep. "
        "Rename it to a str, int, float or a tuple of them (df.index.names = [...], df.columns.names = [...])."
    )
