"""(2) pyarrow Tables come back as pyarrow Tables, exactly, or their push is refused naming the column (issue 14).

Airflow's default backend refuses a ``pyarrow.Table``; ours pushes it as Parquet through the same streaming upload
as a DataFrame and gives back a Table: ``table.equals(got, check_metadata=True)``, the schema equal (field names
of nested types, field and schema metadata included), or an UnsupportedFrameError naming the column, its Arrow
type and what to do. The Arrow types are the frame catalogue's (tests/frame_catalogue.py: pandas' own lists, the
large, view and fixed-size variants and the nested families).
"""

from __future__ import annotations

import functools
import re
from typing import Any

import frame_catalogue
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from airflow_io import round_trip, store, through_db
from hypothesis import example, given
from hypothesis import strategies as st
from xcom_compat import XComContext

from properties.budget import share
from properties.stored import reference

pytestmark = pytest.mark.ours_only

CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)
#: Arrow types Parquet cannot hold as they are: their push must be refused, naming the column.
REFUSED = ("month_day_nano_interval", "dense_union", "dictionary<values=int")


@functools.cache
def arrow_columns() -> dict[str, Any]:
    """One three-value column (a missing value included) per Arrow type of the catalogue that pyarrow can build."""
    tm, _ = frame_catalogue.pandas_lists()
    columns = {}
    for kind, _source in frame_catalogue._arrow_types(tm):
        try:
            sample = frame_catalogue._arrow_sample(kind)
        except (NotImplementedError, pa.ArrowNotImplementedError, pa.ArrowInvalid):
            continue  # this pyarrow cannot build a sample of the type (a view type on an old release)
        arrow = sample.array.__arrow_array__()  # a ChunkedArray or an Array, by pandas version
        columns[str(kind)] = arrow if isinstance(arrow, pa.ChunkedArray) else pa.chunked_array([arrow])
    return columns


def assert_tables_identical(got: Any, expected: Any) -> None:
    """The same Table: type, schema (nested field names, metadata), values (NaN as NaN, -0.0 as -0.0)."""
    assert isinstance(got, pa.Table), f"a pyarrow Table comes back as {type(got).__name__}"
    assert got.schema.equals(expected.schema, check_metadata=True), f"{got.schema}\n!=\n{expected.schema}"
    assert str(got.schema) == str(expected.schema), f"{got.schema}\n!=\n{expected.schema}"
    if got.equals(expected, check_metadata=True):
        return
    for name, a, b in zip(expected.column_names, got.columns, expected.columns, strict=True):
        # Arrow's equality has NaN != NaN: a column with NaN is compared by its Python values' reprs.
        assert a.equals(b) or repr(a.to_pylist()) == repr(b.to_pylist()), f"column {name!r}: {a} != {b}"
    assert got.num_rows == expected.num_rows


def refused_naming_a_column(exc: Exception, table: Any) -> bool:
    from xcom_s3.errors import UnsupportedFrameError

    message = str(exc)
    return isinstance(exc, UnsupportedFrameError) and any(
        f"column {f.name!r} (type {f.type})" in message for f in table.schema
    )


def expected_refused(table: Any) -> bool:
    return any(str(f.type).startswith(REFUSED) for f in table.schema)


@st.composite
def arrow_tables(draw: st.DrawFn) -> Any:
    """A table of 1-4 catalogue columns (a slice of their three rows, so offsets too), with field and schema
    metadata now and then."""
    names = draw(st.lists(st.sampled_from(sorted(arrow_columns())), min_size=1, max_size=4, unique=True))
    start = draw(st.integers(0, 2))
    length = draw(st.integers(1, 3 - start))
    fields, columns = [], []
    for i, name in enumerate(names):
        column = arrow_columns()[name].slice(start, length)
        metadata = draw(st.none() | st.just({b"unit": name.encode()}))
        fields.append(pa.field(f"c{i}", column.type, metadata=metadata))
        columns.append(column)
    schema = pa.schema(fields, metadata=draw(st.none() | st.just({b"source": b"catalogue", b"v": b"1"})))
    return pa.Table.from_arrays(columns, schema=schema)


@share(0.5)
@given(table=arrow_tables())
@example(table=pa.table({"i": pa.array([1, None, 3], pa.int64())}))
def test_arrow_tables_come_back_exactly_or_are_refused_naming_the_column(backend, xcom_s3_env, table):
    """Every table of catalogue types: the same Table back, or our refusal naming a column and its type."""
    xcom_s3_env.new_prefix()
    try:
        got = round_trip(backend, table, CTX)
    except Exception as exc:
        assert refused_naming_a_column(exc, table), f"{type(exc).__name__}: {exc}"
        assert expected_refused(table) or _unbuildable_here(table), f"refused a table Parquet keeps: {exc}"
        assert not xcom_s3_env.keys(), "a refused push left an object"
        return
    assert not expected_refused(table), f"{table.schema} was accepted"
    assert_tables_identical(got, table)


#: A refusal's remedy as Python: what follows "before returning the table" (":" or ", e.g."), up to the last ".".
REMEDY_CODE = re.compile(r"before returning the table(?::|, e\.g\.) (.+)\.$")


def assert_remedy_works(backend: Any, message: str, column: Any) -> None:
    """The code a refusal of ``table['c']`` gives to run does run (each is an Arrow call that exists on this
    pyarrow), and what it makes comes back exactly; a union's remedy is a redesign, not code."""
    if pa.types.is_union(column.type):
        assert message.endswith(
            ". Store the union's alternatives as a struct of nullable fields (one per type) instead."
        ), message
        return
    found = REMEDY_CODE.search(message)
    assert found, f"the refusal gives no code to run: {message}"
    table = pa.table({"ok": pa.array(range(len(column))), "c": column})
    made = eval(found.group(1), {"table": table, "pa": pa})
    remedied = made if isinstance(made, pa.Table) else table.set_column(1, "c", made)
    assert_tables_identical(round_trip(backend, remedied, CTX), remedied)


def test_a_struct_of_no_fields_is_refused_asking_to_drop_it(backend, xcom_s3_env):
    from xcom_s3.errors import UnsupportedFrameError

    column = pa.array([{}, None], pa.struct([]))
    with pytest.raises(UnsupportedFrameError) as raised:
        store(backend, pa.table({"ok": [1, 2], "c": column}), CTX)
    assert str(raised.value).startswith("pyarrow Table column 'c' (type struct<>) cannot be stored as Parquet exactly")
    assert str(raised.value).endswith(
        ". Drop it (a struct of no fields holds no values) before returning the table: table.drop_columns(['c'])."
    )
    assert_remedy_works(backend, str(raised.value), column)


def _unbuildable_here(table: Any) -> bool:
    """Whether this pyarrow's own Parquet round trip fails on the table (older ones lack float16 and the view types,
    and read fixed-size lists with nulls back as an error): there our refusal is the only honest answer."""
    sink = pa.BufferOutputStream()
    try:
        pq.write_table(table, sink)
        pq.read_table(pa.BufferReader(sink.getvalue()))
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return True
    return False


def test_every_arrow_type_of_the_catalogue_is_kept_or_refused_by_name(backend, xcom_s3_env):
    """One column per catalogue type, each pushed alone: the counts of kept and refused types are reported, and
    no type is changed or refused with a raw library error."""
    kept, refused = [], []
    columns = arrow_columns()
    for name, column in columns.items():
        table = pa.table({"c": column})
        try:
            got = round_trip(backend, table, CTX)
        except Exception as exc:
            assert refused_naming_a_column(exc, table), f"{name}: {type(exc).__name__}: {exc}"
            assert_remedy_works(backend, str(exc), column)
            refused.append(name)
            continue
        assert_tables_identical(got, table)
        kept.append(name)
    unexpected = [
        n for n in refused if not n.startswith(REFUSED) and not _unbuildable_here(pa.table({"c": columns[n]}))
    ]
    assert not unexpected, f"refused types this pyarrow's Parquet writer keeps: {unexpected}"
    assert len(kept) > 60, f"only {len(kept)} of {len(arrow_columns())} kept"
    print(f"arrow types: {len(kept)} kept, {len(refused)} refused: {refused}")


def test_a_table_is_one_parquet_object_behind_a_reference_that_says_table(backend, xcom_s3_env):
    """The reference says the value is a pyarrow Table; the object is plain Parquet another tool reads."""
    table = pa.table({"n": [1, 2, 3], "s": ["a", None, "c"]}).replace_schema_metadata({b"k": b"v"})
    stored = through_db(store(backend, table, CTX))
    ref = reference(stored)
    assert ref is not None
    assert ref["format"] == "parquet" and ref["returns"] == "pyarrow.Table" and ref["shape"] == [3, 2]
    [key] = xcom_s3_env.keys()
    assert pq.read_table(pa.BufferReader(xcom_s3_env.get(key))).column("n").to_pylist() == [1, 2, 3]
    assert_tables_identical(round_trip(backend, table, CTX), table)


def test_nested_types_and_metadata_survive_many_row_groups(backend, xcom_s3_env, monkeypatch):
    """300 rows in row groups of 50: lists keep their item name, maps their field names, timestamps their unit,
    dictionaries of text their dictionary, fields and schema their metadata."""
    from xcom_s3 import frames

    monkeypatch.setattr(frames, "MIN_SLICE_ROWS", 50)
    monkeypatch.setattr(frames, "SLICE_BYTES", 1)
    rows = range(300)
    table = pa.table(
        {
            "list": pa.array([[i, None] for i in rows], pa.list_(pa.int64())),
            "map": pa.array([[("k", i)] for i in rows], pa.map_(pa.string(), pa.int32())),
            "struct": pa.array([{"a": i, "b": [str(i)]} for i in rows]),
            "ts": pa.array(list(rows), pa.timestamp("s", tz="Asia/Tokyo")),
            "time": pa.array(list(rows), pa.time32("s")),
            "date64": pa.array([i * 86_400_000 for i in rows], pa.date64()),
            "dict": pa.array([["x", "y", None][i % 3] for i in rows]).dictionary_encode(),
            "large": pa.array([str(i) for i in rows], pa.large_string()),
        }
    )
    schema = table.schema.set(0, table.schema.field(0).with_metadata({b"unit": b"m"}))
    table = table.cast(schema.with_metadata({b"origin": b"test"}))
    got = round_trip(backend, table, CTX)
    assert_tables_identical(got, table)
    [key] = xcom_s3_env.keys()
    assert pq.read_metadata(pa.BufferReader(xcom_s3_env.get(key))).num_row_groups == 6


@pytest.mark.parametrize(
    ("column", "why"),
    [
        (pa.array([pa.MonthDayNano([1, 2, 3])], pa.month_day_nano_interval()), "month_day_nano"),
        (pa.array([1, 1, 2]).dictionary_encode(), "dictionary only of strings"),
    ],
)
def test_types_parquet_cannot_hold_are_refused_before_upload(backend, xcom_s3_env, column, why):
    """The refusal names the column and its type, says why and what to do; nothing reaches S3."""
    from xcom_s3.errors import UnsupportedFrameError

    table = pa.table({"ok": pa.array(range(len(column))), "bad": column})
    with pytest.raises(UnsupportedFrameError) as raised:
        store(backend, table, CTX)
    message = str(raised.value)
    assert f"column 'bad' (type {column.type})" in message and why in message, message
    assert "table['bad']" in message, message
    assert not xcom_s3_env.keys()


def test_references_without_a_kind_still_read_as_frames(backend, xcom_s3_env):
    """References written before the kind was recorded (no ``returns``) read back as pandas DataFrames."""
    import pandas as pd

    frame = pd.DataFrame({"a": [1, 2]})
    stored = through_db(store(backend, frame, CTX))
    ref = reference(stored)
    assert ref is not None and "returns" not in ref
    assert isinstance(round_trip(backend, frame, CTX), pd.DataFrame)


@pytest.mark.parametrize(
    ("column", "message"),
    [
        (
            pa.array([1, 1, 2]).dictionary_encode(),
            "pyarrow Table column 'bad' (type dictionary<values=int64, indices=int32, ordered=0>) cannot be stored "
            "as Parquet exactly: Parquet keeps a dictionary only of strings or binary. Decode it before returning "
            "the table: table['bad'].cast(table['bad'].type.value_type).",
        ),
        (
            pa.UnionArray.from_dense(
                pa.array([0, 1, 0], pa.int8()), pa.array([0, 0, 1], pa.int32()), [pa.array([1, 2]), pa.array(["a"])]
            ),
            "pyarrow Table column 'bad' (type dense_union<0: int64=0, 1: string=1>) cannot be stored as Parquet "
            "exactly: ",
        ),
    ],
    ids=["numeric-dictionary", "union"],
)
def test_refusals_say_why_and_what_to_do_in_full(backend, xcom_s3_env, column, message):
    from xcom_s3.errors import UnsupportedFrameError

    table = pa.table({"ok": pa.array(range(len(column))), "bad": column})
    with pytest.raises(UnsupportedFrameError) as raised:
        store(backend, table, CTX)
    text = str(raised.value)
    assert text.startswith(message), text
    if pa.types.is_union(column.type):
        assert text.endswith(
            ". Store the union's alternatives as a struct of nullable fields (one per type) instead."
        ), text
    assert not xcom_s3_env.keys()


@pytest.mark.parametrize("value_type", [pa.string(), pa.large_string(), pa.binary(), pa.large_binary()])
def test_dictionaries_of_any_text_or_binary_are_kept(backend, xcom_s3_env, value_type):
    values = pa.array(["x", "y", None, "x"]).cast(value_type)
    table = pa.table({"d": values.dictionary_encode()})
    assert_tables_identical(round_trip(backend, table, CTX), table)


def test_rows_without_columns_are_refused_not_lost(backend, xcom_s3_env):
    from xcom_s3.errors import UnsupportedFrameError

    table = pa.table({"a": [1, 2, 3]}).drop_columns(["a"])
    assert (table.num_rows, table.num_columns) == (3, 0)
    with pytest.raises(UnsupportedFrameError) as raised:
        store(backend, table, CTX)
    assert str(raised.value) == (
        "pyarrow Table of 3 rows has no columns, and Parquet keeps no row count without a column: add a column "
        "before returning the table."
    )
    assert not xcom_s3_env.keys()


def test_a_date64_with_a_time_of_day_is_refused_in_any_row_and_its_remedy_kept(backend, xcom_s3_env):
    """Parquet keeps date64 as whole days (date32): 1 ms past midnight would come back as midnight, with no error,
    and a round trip of the head compares it as a date, equal. The table is refused naming the column, the row
    (here past the checked head) and the remedy; the remedy's timestamps come back exactly, and whole days stay
    date64 values."""
    from xcom_s3 import arrow_tables
    from xcom_s3.errors import UnsupportedFrameError

    day = 86_400_000
    rows = arrow_tables.SAMPLE_ROWS + 10
    values = pa.array([i * day for i in range(rows - 1)] + [day + 1], pa.date64())
    table = pa.table({"ok": pa.array(range(rows)), "d": values})
    with pytest.raises(UnsupportedFrameError) as raised:
        store(backend, table, CTX)
    assert str(raised.value) == (
        f"pyarrow Table column 'd' (type date64[ms]) cannot be stored as Parquet exactly: its value at row {rows - 1} "
        f"({day + 1} ms) holds a time of day, and Parquet keeps date64 as whole days: it would come back as "
        "midnight. Keep the time as a timestamp, e.g. table['d'].cast(pa.timestamp('ms'))."
    )
    assert not xcom_s3_env.keys()
    before_the_epoch = pa.table({"d": pa.array([-1, 0], pa.date64())})  # row 0, and a remainder below zero
    with pytest.raises(UnsupportedFrameError, match=r"its value at row 0 \(-1 ms\) holds a time of day"):
        store(backend, before_the_epoch, CTX)
    remedied = table.set_column(1, "d", table["d"].cast(pa.timestamp("ms")))
    back = round_trip(backend, remedied, CTX)
    assert_tables_identical(back, remedied)
    assert back["d"].cast(pa.int64()).to_pylist()[-1] == day + 1
    whole_days = table.set_column(1, "d", pa.array([i * day for i in range(rows)], pa.date64()))
    got = round_trip(backend, whole_days, CTX)
    assert got["d"].type == pa.date64() and got["d"].cast(pa.int64()).equals(whole_days["d"].cast(pa.int64()))


@pytest.mark.parametrize(
    "named",
    [
        pa.map_(pa.field("k", pa.string(), nullable=False), pa.int64()),
        pa.map_(pa.string(), pa.field("v", pa.int64())),
    ],
    ids=["key", "value"],
)
def test_a_map_whose_fields_have_their_own_names_is_refused_with_the_type_to_cast_to(backend, xcom_s3_env, named):
    """Parquet keeps a map's entries but not its key and value fields' own names: such a map would come back as
    ``map<string, int64>``. The table is refused naming the column, both fields and the type Parquet gives back;
    cast to it, the table round-trips."""
    from xcom_s3.errors import UnsupportedFrameError

    table = pa.table({"ok": [1], "m": pa.array([[("a", 1), ("b", None)]], named)})
    with pytest.raises(UnsupportedFrameError) as raised:
        store(backend, table, CTX)
    plain = pa.map_(pa.string(), pa.int64())
    assert str(raised.value) == (
        f"pyarrow Table column 'm' (type {named}) cannot be stored as Parquet exactly: its field "
        f"{pa.field('m', named)} comes back as {pa.field('m', plain)}. Cast it to the type Parquet gives back, "
        f"{plain}, before returning the table."
    )
    assert not xcom_s3_env.keys()
    remedied = table.set_column(1, "m", table["m"].cast(plain))
    assert_tables_identical(round_trip(backend, remedied, CTX), remedied)
