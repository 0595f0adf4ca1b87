"""How a frame or a table is laid out in its Parquet object: what other Parquet readers, S3's bill and the memory
of the writing worker see, beyond the values that come back.

* every column chunk is compressed with the configured codec (``[xcom_s3] compression``; ``none``: uncompressed);
* row groups hold about ``frames.SLICE_BYTES`` each (one group per slice the writer streams), at least
  ``frames.MIN_SLICE_ROWS`` rows, however many rows a slice has (pyarrow's own default would cut at 1 Mi rows);
* only columns whose values repeat (and categoricals) are dictionary encoded;
* a pyarrow Table's list keeps its own item name in the file (not Parquet's compliant ``element``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from airflow_io import round_trip, store, through_db
from xcom_compat import XComContext

from properties.stored import object_key, reference
from properties.test_arrow_tables import assert_tables_identical

pytestmark = pytest.mark.ours_only

CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)
#: pyarrow's name of each codec in a column chunk's metadata.
CODECS = {"zstd": "ZSTD", "snappy": "SNAPPY", "gzip": "GZIP", "none": "UNCOMPRESSED"}


def _metadata(env: Any, value: Any) -> Any:
    """Push ``value`` under a fresh prefix; the Parquet metadata of the one object it became."""
    env.new_prefix()
    ref = reference(through_db(store(env.backend, value, CTX)))
    assert ref is not None, f"{type(value).__name__} stayed inline"
    return pq.read_metadata(pa.BufferReader(env.get(object_key(ref, env.endpoint.bucket))))


def _chunks(metadata: Any) -> list[Any]:
    return [
        metadata.row_group(g).column(c) for g in range(metadata.num_row_groups) for c in range(metadata.num_columns)
    ]


def _group_rows(metadata: Any) -> list[int]:
    return [metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)]


@pytest.fixture
def layout_env(backend: Any, xcom_s3_env: Any) -> Any:
    xcom_s3_env.backend = backend
    return xcom_s3_env


@pytest.fixture
def small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slices of about 1,000 bytes and at least 50 rows, so a few thousand rows make several row groups."""
    from xcom_s3 import frames

    monkeypatch.setattr(frames, "MIN_SLICE_ROWS", 50)
    monkeypatch.setattr(frames, "SLICE_BYTES", 1000)


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_every_column_chunk_is_compressed_with_the_configured_codec(layout_env, small_slices, codec):
    layout_env.set("compression", codec)
    rows = range(300)  # more than the 64 rows a table's check encodes alone: the streaming writer's file
    table = pa.table({"n": pa.array(rows, pa.int64()), "s": [str(i % 7) for i in rows]})
    frame = pd.DataFrame({"n": pd.Series(rows, dtype="int64"), "s": [str(i % 7) for i in rows]})
    for value in (table, frame):
        metadata = _metadata(layout_env, value)
        assert metadata.num_row_groups > 1
        assert {chunk.compression for chunk in _chunks(metadata)} == {CODECS[codec]}, type(value).__name__


@pytest.mark.parametrize(
    ("column", "rows_per_group"),
    [
        (pa.array([i % 100 for i in range(2000)], pa.int8()), 1000),  # 1 byte a row: 1,000 rows of 1,000 bytes
        (pa.array(range(2000), pa.int64()), 125),  # 8 bytes a row
        (pa.array([i % 2 == 0 for i in range(2000)]), 1000),  # a bit a row counts as a byte: never more rows
        (pa.array(range(120), pa.int64()), 120),  # at most MIN_SLICE_ROWS rows: one group, however wide
    ],
    ids=["int8", "int64", "bool", "few-rows"],
)
def test_a_tables_row_groups_hold_about_slice_bytes(layout_env, small_slices, column, rows_per_group):
    table = pa.table({"c": column})
    metadata = _metadata(layout_env, table)
    groups = _group_rows(metadata)
    assert sum(groups) == len(column)
    assert groups[:-1] == [rows_per_group] * (len(groups) - 1) and 0 < groups[-1] <= rows_per_group, groups
    assert_tables_identical(round_trip(layout_env.backend, table, CTX), table)


def test_a_frames_row_groups_hold_about_slice_bytes(layout_env, small_slices):
    """8 bytes a row plus the index's share, estimated from the first 1,000 rows: 112 to 125 rows a group."""
    frame = pd.DataFrame({"c": pd.Series(range(3000), dtype="int64")})
    groups = _group_rows(_metadata(layout_env, frame))
    assert sum(groups) == len(frame) and len(set(groups[:-1])) == 1, groups
    assert 1000 // 9 < groups[0] <= 1000 // 8, groups


def test_a_slice_of_more_than_a_mebirow_stays_one_row_group(layout_env):
    """pyarrow's writer would cut at 1,048,576 rows; the writer's slice is the row group."""
    rows = 2**20 + 10
    table = pa.table({"c": pa.array([i % 100 for i in range(rows)], pa.int8())})
    frame = table.to_pandas()
    for value in (table, frame):
        assert _group_rows(_metadata(layout_env, value)) == [rows], type(value).__name__


def test_only_repeating_columns_are_dictionary_encoded(layout_env, small_slices):
    rows = range(300)
    table = pa.table({"repeats": [str(i % 3) for i in rows], "distinct": [f"id-{i}" for i in rows]})
    frame = table.to_pandas()
    for value in (table, frame):
        metadata = _metadata(layout_env, value)
        names = [metadata.schema.column(c).name for c in range(metadata.num_columns)]
        for g in range(metadata.num_row_groups):
            encoded = {names[c]: metadata.row_group(g).column(c).has_dictionary_page for c in range(len(names))}
            assert encoded["repeats"] and not encoded["distinct"], (type(value).__name__, g, encoded)


def test_nested_field_names_are_the_tables_own_in_the_file_and_back(layout_env, small_slices):
    rows = range(300)
    table = pa.table(
        {
            "list": pa.array([[i] for i in rows], pa.list_(pa.int64())),
            "named_list": pa.array([[i] for i in rows], pa.list_(pa.field("x", pa.int64()))),
        }
    )
    _metadata(layout_env, table)
    [key] = layout_env.keys()
    in_file = pq.read_schema(pa.BufferReader(layout_env.get(key)))
    assert str(in_file.field("list").type) == "list<item: int64>"
    assert str(in_file.field("named_list").type) == "list<x: int64>"
    assert_tables_identical(round_trip(layout_env.backend, table, CTX), table)


@pytest.mark.parametrize("rows", [0, 1])
def test_a_table_of_no_row_or_one_is_one_row_group(layout_env, rows):
    table = pa.table({"c": pa.array(range(rows), pa.int64())})
    assert _group_rows(_metadata(layout_env, table)) == [rows]
    assert_tables_identical(round_trip(layout_env.backend, table, CTX), table)


def test_a_slice_arrow_types_otherwise_is_written_under_the_frames_schema(layout_env, small_slices):
    """An object column of text whose later rows are all missing: pyarrow types those slices' column as null, not
    string. Each slice is cast to the whole frame's schema: one string column in every row group, and the frame
    comes back exactly (missing values as they were)."""
    rows = 400
    text = pd.Series([f"t{i}" if i < 60 else None for i in range(rows)], dtype=object)
    frame = pd.DataFrame({"n": pd.Series(range(rows), dtype="int64"), "s": text})
    metadata = _metadata(layout_env, frame)
    assert metadata.num_row_groups > 2
    assert str(metadata.schema.to_arrow_schema().field("s").type) == "string"
    back = round_trip(layout_env.backend, frame, CTX)
    assert back["s"].dtype == object and back["s"].tolist() == text.tolist()
    assert back["n"].tolist() == list(range(rows))


@pytest.mark.parametrize(
    ("labels", "recorded"),
    [
        (pd.Index(["a", "b"], dtype=object), {"column_dtype": {"numpy": "|O"}}),
        (pd.Index([1, 2], dtype="int32"), {"column_dtype": {"numpy": "<i4"}}),
        (pd.Index(["a", "b"], dtype=pd.StringDtype("python")), {"column_dtype": {"string": "python", "na": "NA"}}),
        (pd.RangeIndex(2, 6, 2), {"column_range": [2, 6, 2]}),
    ],
    ids=["object", "int32", "string", "range"],
)
def test_the_layout_records_the_column_axis_for_a_reader_under_another_pandas(layout_env, labels, recorded):
    """The column axis as the layout's version records it: pandas 2 restores the axis dtype itself, pandas 3 reads
    text labels as ``str`` and needs the record, so a frame pushed under pandas 2 must carry it for a pandas 3 pull."""
    import json

    from xcom_s3.frame_layout import LAYOUT_KEY, LAYOUT_VERSION

    frame = pd.DataFrame([[1, 2]], columns=labels)
    layout = json.loads(_metadata(layout_env, frame).metadata[LAYOUT_KEY])
    assert layout["version"] == LAYOUT_VERSION == 1
    assert {key: layout[key] for key in ("column_dtype", "column_range") if key in layout} == recorded
