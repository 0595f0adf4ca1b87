"""(2) A Parquet object whose layout does not describe its columns is refused on pull, never read as a frame.

The reader rebuilds each stored column and index level from the layout entry in its position (frame_rebuild). A
layout with an entry too few or too many (an object edited, or written by another tool, with a checksum that
matches) would pair entries with the wrong fields or leave some unrebuilt: a frame would come back silently
different (lists as numpy arrays, a categorical without its unused categories). The pull refuses it instead, as
any object that is not what its reference says: IntegrityError naming the object. Ours only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from airflow_io import IS_3X, load, store, through_db
from xcom_compat import XComContext
from xcom_s3.errors import IntegrityError
from xcom_s3.frame_layout import LAYOUT_KEY

from properties.checks import assert_frames_identical
from properties.stored import object_key, reference

pytestmark = pytest.mark.ours_only

CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)


def frame() -> pd.DataFrame:
    """Columns and index levels whose rebuild the layout drives: Python lists, a categorical with an unused
    category, a MultiIndex of text and ints."""
    columns = {
        "n": [1, 2, 3],
        "lists": pd.Series([[1, 2], [], [3]], dtype=object),
        "cat": pd.Categorical(["a", "b", "a"], categories=["a", "b", "unused"]),
    }
    return pd.DataFrame(columns).set_axis(pd.MultiIndex.from_arrays([["x", "y", "z"], [7, 8, 9]], names=["k", "v"]))


def _drop_last(entries: list[Any]) -> list[Any]:
    return entries[:-1]


def _add_one(entries: list[Any]) -> list[Any]:
    return [*entries, entries[-1]]


EDITS: dict[str, tuple[str, Callable[[list[Any]], list[Any]]]] = {
    "a column entry too few": ("columns", _drop_last),
    "a column entry too many": ("columns", _add_one),
    "an index entry too few": ("index", _drop_last),
    "an index entry too many": ("index", _add_one),
    "a level dtype too few": ("level_dtypes", _drop_last),
    "a level dtype too many": ("level_dtypes", _add_one),
}


def test_the_frame_comes_back_as_it_went_in_unedited(backend, xcom_s3_env):
    """The frame the edits below start from round-trips exactly (the edit, not the frame, is what is refused)."""
    xcom_s3_env.set("threshold", 0)
    back = load(backend, through_db(store(backend, frame(), CTX)), CTX)
    assert_frames_identical(back, frame())
    assert back["lists"].tolist() == [[1, 2], [], [3]], back["lists"].tolist()


def _rewritten(backend: Any, env: Any, pushed: pd.DataFrame, rewrite: Callable[[pa.Table], bytes]) -> tuple[Any, str]:
    """What the DB holds for ``pushed`` once its object is replaced by ``rewrite`` of its table (another writer's
    file), the reference resealed to the new size and checksum as if that file had been pushed; and the key."""
    env.set("threshold", 0)
    ref = reference(store(backend, pushed, CTX))
    assert ref is not None
    bucket = env.endpoint.bucket
    key = object_key(ref, bucket)
    payload = rewrite(pq.read_table(pa.BufferReader(env.client.get_object(Bucket=bucket, Key=key)["Body"].read())))
    env.client.put_object(Bucket=bucket, Key=key, Body=payload)
    ref.update(size=len(payload), sha256=hashlib.sha256(payload).hexdigest())
    if "raw_size" in ref:
        ref["raw_size"] = len(payload)
    return (ref if IS_3X else json.dumps(ref, separators=(",", ":")).encode()), key


def _parquet(table: pa.Table, **options: Any) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **options)
    return bytes(sink.getvalue().to_pybytes())


@pytest.mark.parametrize("edit", list(EDITS))
def test_a_layout_not_matching_its_columns_is_refused_on_pull(backend, xcom_s3_env, edit):
    """The object rewritten with a layout of one entry too few or too many (a column's, an index level's, a
    MultiIndex level's dtype), its reference resealed to the new size and checksum: the pull raises IntegrityError
    naming the object, not a frame."""

    def edited(table: pa.Table) -> bytes:
        metadata = dict(table.schema.metadata)
        layout = json.loads(metadata[LAYOUT_KEY])
        part, change = EDITS[edit]
        layout[part] = change(layout[part])
        metadata[LAYOUT_KEY] = json.dumps(layout).encode()
        return _parquet(table.replace_schema_metadata(metadata))

    stored, key = _rewritten(backend, xcom_s3_env, frame(), edited)
    with pytest.raises(IntegrityError) as refused:
        load(backend, stored, CTX)
    assert key in str(refused.value) and "not valid Parquet" in str(refused.value), str(refused.value)


def test_row_groups_with_dictionaries_of_their_own_read_back_exactly(backend, xcom_s3_env):
    """A categorical column whose second row group carries its own dictionary (only the values it holds, in
    another order: a file appended to by another Arrow writer) comes back with every value and the recorded
    categories, unused ones included. Its codes come as the first row group's narrow index type and as int32
    positions among the categories: both are made one type before they are joined."""
    pushed = pd.DataFrame({"cat": pd.Categorical(["a", "b", "c", "a"], categories=["a", "b", "c", "unused"])})

    def own_dictionaries(table: pa.Table) -> bytes:
        field = table.schema.field("cat")
        indices = field.type.index_type
        first = pa.DictionaryArray.from_arrays(pa.array([0, 1], indices), pa.array(["a", "b", "c", "unused"]))
        second = pa.DictionaryArray.from_arrays(pa.array([0, 1], indices), pa.array(["c", "a"]))
        column = pa.chunked_array([first, second], type=field.type)
        return _parquet(table.set_column(0, field, column), row_group_size=2)

    stored, _ = _rewritten(backend, xcom_s3_env, pushed, own_dictionaries)
    back = load(backend, stored, CTX)
    assert_frames_identical(back, pushed)


@pytest.mark.parametrize(
    "values",
    [
        [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2)],
        [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02")],
    ],
    ids=["datetime", "Timestamp"],
)
def test_an_object_index_of_values_pandas_could_type_stays_object(backend, xcom_s3_env, values):
    """An object index of datetimes (or Timestamps) comes back object, each value as it went in: an Index built
    from an object array without its dtype would be a DatetimeIndex on pandas 2."""
    xcom_s3_env.set("threshold", 0)
    pushed = pd.DataFrame({"n": [1, 2]}, index=pd.Index(values, dtype=object, name="when"))
    back = load(backend, through_db(store(backend, pushed, CTX)), CTX)
    assert_frames_identical(back, pushed)
    assert back.index.dtype == np.dtype(object) and list(back.index) == values, back.index


def _nan_strings() -> Any:
    """This pandas' pyarrow strings with NaN as their missing value (``str`` in pandas 3), by whichever name it has."""
    try:
        return pd.StringDtype("pyarrow", np.nan)  # pandas 2.3+
    except TypeError:
        pass
    try:
        return pd.StringDtype("pyarrow_numpy")  # pandas 2.1-2.2
    except ValueError:
        pytest.skip(f"pandas {pd.__version__} has no strings with NaN as their missing value")


def test_strings_pandas_2_1_and_2_2_recorded_as_pyarrow_numpy_read_back_after_a_pandas_upgrade(backend, xcom_s3_env):
    """pandas 2.1-2.2 name their NaN-missing pyarrow strings "pyarrow_numpy", and the layout records that name;
    pandas 2.3 names the same dtype by its parts and pandas 3 knows no other. A frame pushed under pandas 2.2 (its
    layout as that writer records it) reads back here as this pandas' same dtype. Under pandas 3 the pull raised
    pandas' ValueError, reported as an object "not valid Parquet"."""
    strings = _nan_strings()
    pushed = pd.DataFrame({"s": pd.array(["a", None, "b"], dtype=strings)}).set_axis(
        pd.Index(["x", "y", "z"], dtype=strings)
    )

    def as_pandas_2_2_wrote_it(table: pa.Table) -> bytes:
        metadata = dict(table.schema.metadata)
        layout = json.loads(metadata[LAYOUT_KEY])
        for descriptor in [*layout["columns"], *layout["index"]]:
            assert descriptor["string"] in ("pyarrow", "pyarrow_numpy") and descriptor["na"] != "NA", descriptor
            descriptor["string"] = "pyarrow_numpy"
        metadata[LAYOUT_KEY] = json.dumps(layout).encode()
        return _parquet(table.replace_schema_metadata(metadata))

    stored, _ = _rewritten(backend, xcom_s3_env, pushed, as_pandas_2_2_wrote_it)
    assert_frames_identical(load(backend, stored, CTX), pushed)


def test_a_frame_without_columns_from_before_the_layout_keeps_its_range_index(backend, xcom_s3_env):
    """An object written before the layout, of a frame without columns (the writer still adds the RangeIndex key for
    such readers; here the layout is taken out): its RangeIndex's start, stop, step and name come back."""
    pushed = pd.DataFrame(index=pd.RangeIndex(5, 20, 3, name="r"))

    def without_the_layout(table: pa.Table) -> bytes:
        metadata = {k: v for k, v in table.schema.metadata.items() if k != LAYOUT_KEY}
        return _parquet(table.replace_schema_metadata(metadata))

    stored, _ = _rewritten(backend, xcom_s3_env, pushed, without_the_layout)
    assert_frames_identical(load(backend, stored, CTX), pushed)
