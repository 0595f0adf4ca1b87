"""DataFrames as Parquet with pyarrow: typed and exact, never CSV, never pickle.

Writing streams: the frame is converted and encoded slice by slice (one Parquet row group each) into any
binary sink, so the upload can start after the first slice, and neither a whole-frame Arrow table nor the
whole file has to sit in memory next to the frame. The schema, pandas metadata (index, dtypes, categories,
time zones) included, comes from the whole frame once, so every slice is written under the same schema and the
file reads back as the frame it came from.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator
from typing import Any

from xcom_s3.errors import UnsupportedFrameError

PARQUET_MAGIC = b"PAR1"
#: In-memory size of the frame slice converted and encoded at a time (one row group). Big enough that per-group
#: overhead and compression stay as for one big group, small enough to overlap encoding with the upload.
SLICE_BYTES = 32 * 2**20
#: Never fewer rows per row group than this (narrow frames would otherwise make thousands of tiny groups).
MIN_SLICE_ROWS = 16_384


def is_frame(value: Any) -> bool:
    """True for a pandas DataFrame, without importing pandas (it cannot be one if pandas was never imported)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)


def _arrow_errors() -> tuple[type[Exception], ...]:
    import pyarrow as pa

    # UnicodeEncodeError: text Parquet cannot hold as UTF-8 (lone surrogates), raised while converting a column.
    return (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, UnicodeEncodeError)


def _index_mode(frame: Any) -> tuple[bool | None, bool]:
    """How the index is stored: (for the whole-frame schema, for each slice).

    A RangeIndex lives only in the schema's pandas metadata (start, stop, step of the whole frame), so slices
    leave it out; any other index is stored as columns, in the schema and in every slice alike (``None`` would
    let pyarrow turn a range-like MultiIndex level into metadata in one slice and a column in another).
    """
    import pandas as pd

    if isinstance(frame.index, pd.RangeIndex) and len(frame.columns):
        return None, False
    # With no columns, a RangeIndex in the metadata alone would lose the row count: store it as a column.
    return True, True


def _schema(frame: Any) -> Any:
    """The whole frame's Arrow schema with its pandas metadata, or :class:`UnsupportedFrameError`."""
    import pyarrow as pa

    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise UnsupportedFrameError(
            f"DataFrame has duplicate column names {duplicated!r}: Parquet needs unique column names. "
            "Rename the columns (e.g. df.columns = [...]) before returning the frame."
        )
    try:
        return pa.Schema.from_pandas(frame, preserve_index=_index_mode(frame)[0])
    except _arrow_errors() as exc:
        raise UnsupportedFrameError(_explain(frame, exc)) from exc


def slice_rows(frame: Any) -> int:
    """Rows per row group: about :data:`SLICE_BYTES` of the frame, estimated from its first 1,000 rows."""
    rows = len(frame)
    if rows == 0:
        return 1
    head = frame.iloc[: min(rows, 1000)]
    per_row = max(1.0, float(head.memory_usage(index=True, deep=True).sum()) / len(head))
    return max(MIN_SLICE_ROWS, int(SLICE_BYTES / per_row))


def dictionary_columns(table: Any, sample_rows: int = 4096) -> list[str]:
    """Columns worth dictionary encoding: categoricals, and columns whose values repeat in a sample.

    Parquet's default tries a dictionary for every column and falls back to plain once it passes 1 MiB, in every
    row group anew; for mostly distinct values (ids, prices, names, timestamps) that is wasted time and a bigger
    file. Only the encoding changes, never the values read back.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    head = table.slice(0, sample_rows)
    chosen = []
    for name, column in zip(head.schema.names, head.columns, strict=True):
        kind = column.type
        if pa.types.is_dictionary(kind):
            chosen.append(name)
        elif pa.types.is_nested(kind) or pa.types.is_null(kind) or isinstance(kind, pa.BaseExtensionType):
            continue  # no count_distinct kernel: extension types (pandas periods, intervals), all-null columns
        elif len(column) == 0:
            continue
        elif pc.count_distinct(column, mode="all").as_py() <= len(column) // 2:
            chosen.append(name)
    return chosen


def _slices(frame: Any, schema: Any) -> Iterator[Any]:
    """The frame as Arrow tables of about :data:`SLICE_BYTES` each, all under ``schema`` (one at least)."""
    import pyarrow as pa

    slice_index = _index_mode(frame)[1]
    step = slice_rows(frame)
    for start in range(0, max(len(frame), 1), step):
        part = frame.iloc[start : start + step]
        try:
            # Not ``schema=``: pyarrow then looks columns up by their string names, and int names fail.
            table = pa.Table.from_pandas(part, preserve_index=slice_index)
            if not table.schema.equals(schema, check_metadata=False):
                table = table.cast(schema)  # e.g. a slice whose object column is all None (null type)
        except _arrow_errors() as exc:
            raise UnsupportedFrameError(_explain(frame, exc)) from exc
        yield table


def write_parquet(frame: Any, sink: Any, codec: str) -> None:
    """Encode ``frame`` (index and column names included) as one Parquet file into the binary file ``sink``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _with_range_index(_with_empty_categories(_schema(frame), frame), frame)
    slices = _slices(frame, schema)
    first = next(slices)
    compression = None if codec == "none" else codec
    with pq.ParquetWriter(sink, schema, compression=compression, use_dictionary=dictionary_columns(first)) as writer:
        writer.write_table(first, row_group_size=max(first.num_rows, 1))
        del first
        for table in slices:
            writer.write_table(table, row_group_size=max(table.num_rows, 1))
            del table
    # The slices' Arrow memory is free now; hand it back to the OS rather than keep it next to what comes next.
    pa.default_memory_pool().release_unused()


def frame_to_parquet(frame: Any, codec: str) -> Any:
    """The whole Parquet file of ``frame`` in an Arrow buffer (small frames, tests, tools)."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    write_parquet(frame, sink, codec)
    return sink.getvalue()


def parquet_to_frame(data: Any) -> Any:
    """Decode what :func:`write_parquet` wrote (any bytes-like object) back into an equal DataFrame.

    ``self_destruct`` frees each Arrow column once pandas has its own copy, so the decoded table and the frame do
    not both stay whole in memory. Python string objects are deduplicated only when a string column repeats
    (see :func:`_strings_repeat`): hashing a million distinct strings doubles the decode time for no saving.

    Peak memory: the table is decoded into :func:`_returning_pool`, so the columns ``self_destruct`` frees go
    back to the OS while pandas builds the frame instead of staying cached by the allocator; the file's pages are
    returned before the frame is built; the conversion runs on this thread (pyarrow's threads gained no time, as
    building Python strings holds the GIL, and left per-thread caches). On pandas 2 at 100 MB this took the pull's
    extra peak RSS from 1.9-2.1x to 1.3-1.6x the frame. Never ``split_blocks``: its zero-copy numeric columns are
    read-only, so a task assigning into the frame would fail.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    dedupe = _strings_repeat(pq.read_metadata(pa.BufferReader(data)))
    # What pq.read_table does for one file, with a memory pool of our choosing.
    fragment = ds.ParquetFileFormat().make_fragment(pa.BufferReader(data))
    table = fragment.to_table(memory_pool=_returning_pool())
    del fragment
    # The decoded table owns its memory: drop the file before pandas allocates the frame (on Python 3.11+ this
    # frees it when the caller passed the download straight in, as the backend does), and return its pages.
    del data
    pool = pa.default_memory_pool()
    pool.release_unused()
    pandas_metadata = table.schema.pandas_metadata
    extra = table.schema.metadata or {}
    frame = table.to_pandas(self_destruct=True, deduplicate_objects=dedupe, use_threads=False)
    del table
    pool.release_unused()  # what the table held, so the task goes on without it
    if EMPTY_CATEGORIES_KEY in extra:
        frame = _restore_empty_categories(frame, extra[EMPTY_CATEGORIES_KEY])
    if RANGE_INDEX_KEY in extra:
        import json

        import pandas as pd

        start, stop, step, name, range_columns = json.loads(extra[RANGE_INDEX_KEY])
        frame.index = pd.RangeIndex(start, stop, step, name=name)
        if range_columns:
            frame.columns = pd.RangeIndex(0)
    return _restore_object_dtypes(frame, pandas_metadata)


@functools.cache
def _returning_pool() -> Any:
    """An Arrow memory pool that hands freed memory straight back to the OS: jemalloc with no decay.

    pyarrow's default pool (mimalloc) keeps what a decoded table frees for reuse, but the frame pandas builds
    from it is allocated elsewhere, so that cache only adds to the peak. jemalloc's decay setting is process-wide,
    so it is changed only where jemalloc is not the default pool (nobody else's allocations use it); otherwise,
    or where pyarrow was built without jemalloc, this is the default pool.
    """
    import pyarrow as pa

    pool = pa.default_memory_pool()
    if pool.backend_name == "jemalloc":
        return pool
    try:
        pa.jemalloc_set_decay_ms(0)
        return pa.jemalloc_memory_pool()
    except NotImplementedError:  # pyarrow built without jemalloc (ArrowNotImplementedError is one)
        return pool


#: A frame with no columns stores its RangeIndex as a column (see _index_mode), so it would come back as a plain
#: integer index; this records that it was a range.
RANGE_INDEX_KEY = b"xcom_s3.range_index"
#: Parquet keeps a categorical's categories in its data pages' dictionary, so a frame with no rows has none to
#: keep them in: they travel in the file's key-value metadata instead, as an Arrow IPC stream per column.
EMPTY_CATEGORIES_KEY = b"xcom_s3.empty_categories"


def _with_range_index(schema: Any, frame: Any) -> Any:
    import json

    import pandas as pd

    index = frame.index
    if len(frame.columns) or not isinstance(index, pd.RangeIndex) or not isinstance(index.name, (str, type(None))):
        return schema
    saved = json.dumps([index.start, index.stop, index.step, index.name, isinstance(frame.columns, pd.RangeIndex)])
    return schema.with_metadata({**(schema.metadata or {}), RANGE_INDEX_KEY: saved.encode()})


def _with_empty_categories(schema: Any, frame: Any) -> Any:
    import base64
    import json

    import pandas as pd
    import pyarrow as pa

    if len(frame):
        return schema
    saved: dict[str, str] = {}
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        if isinstance(column.dtype, pd.CategoricalDtype) and len(column.cat.categories):
            table = pa.table({"categories": pa.array(column.cat.categories, from_pandas=True)})
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table)
            saved[str(position)] = base64.b64encode(sink.getvalue().to_pybytes()).decode("ascii")
    if not saved:
        return schema
    return schema.with_metadata({**(schema.metadata or {}), EMPTY_CATEGORIES_KEY: json.dumps(saved).encode()})


def _restore_empty_categories(frame: Any, saved: bytes) -> Any:
    import base64
    import json

    import pandas as pd
    import pyarrow as pa

    for position, encoded in json.loads(saved).items():
        categories = pa.ipc.open_stream(base64.b64decode(encoded)).read_all().column("categories").to_pandas()
        column = frame.iloc[:, int(position)]
        frame.isetitem(int(position), column.cat.set_categories(pd.Index(categories.array)))
    return frame


def _restore_object_dtypes(frame: Any, pandas_metadata: dict[str, Any] | None) -> Any:
    """Give back ``object`` dtype where the frame had it: pandas 3 reads Parquet strings as its ``str`` dtype."""
    if not pandas_metadata:
        return frame
    import numpy as np
    import pandas as pd

    index_fields = [c for c in pandas_metadata.get("index_columns", []) if isinstance(c, str)]
    by_field = {c.get("field_name"): c for c in pandas_metadata.get("columns", [])}
    data_columns = [c for c in pandas_metadata.get("columns", []) if c.get("field_name") not in index_fields]

    def as_object(values: Any, index: Any = None) -> Any:
        # An explicit object dtype: given a bare object array, pandas 3 would infer ``str`` all over again.
        restored = pd.Series(np.asarray(values, dtype=object), index=index, dtype=object, copy=True)
        return restored.where(pd.notna(restored), None)

    if len(data_columns) == len(frame.columns):
        for position, meta in enumerate(data_columns):
            if meta.get("numpy_type") == "object" and frame.dtypes.iloc[position] != np.dtype(object):
                frame.isetitem(position, as_object(frame.iloc[:, position], frame.index))
    levels = [by_field.get(field) for field in index_fields]
    if any(m and m.get("numpy_type") == "object" for m in levels) and len(levels) == frame.index.nlevels:
        arrays = [
            as_object(frame.index.get_level_values(i)).to_numpy()
            if m and m.get("numpy_type") == "object" and frame.index.get_level_values(i).dtype != np.dtype(object)
            else frame.index.get_level_values(i)
            for i, m in enumerate(levels)
        ]
        if frame.index.nlevels == 1:
            frame.index = pd.Index(arrays[0], dtype=arrays[0].dtype, name=frame.index.name)
        else:
            frame.index = pd.MultiIndex.from_arrays(arrays, names=frame.index.names)
    return frame


def _strings_repeat(metadata: Any) -> bool:
    """Whether some string/binary column (categoricals aside) has a dictionary page, i.e. values worth sharing.

    :func:`dictionary_columns` gives a dictionary only to columns whose values repeat; files from other writers
    try one everywhere, so for them this says True and decoding keeps pyarrow's default.
    """
    import pyarrow as pa

    if metadata.num_row_groups == 0:
        return False
    arrow = metadata.schema.to_arrow_schema()
    plain_strings = {
        field.name
        for field in arrow
        if pa.types.is_string(field.type)
        or pa.types.is_large_string(field.type)
        or pa.types.is_binary(field.type)
        or pa.types.is_large_binary(field.type)
    }
    group = metadata.row_group(0)
    for i in range(group.num_columns):
        column = group.column(i)
        if column.path_in_schema in plain_strings and column.has_dictionary_page:
            return True
    return False


def _explain(frame: Any, exc: Exception) -> str:
    """Name the first column pyarrow cannot convert, and why, so the user knows what to fix."""
    import pyarrow as pa

    for name in frame.columns:
        try:
            pa.array(frame[name], from_pandas=True)
        except _arrow_errors() as column_exc:
            kinds = sorted({type(v).__name__ for v in frame[name].dropna().tolist()[:1000]})
            return (
                f"DataFrame column {name!r} cannot be stored as Parquet: {column_exc}. It holds values of "
                f"types {kinds}; give it one type (e.g. df[{name!r}] = df[{name!r}].astype(str))."
            )
    return f"DataFrame cannot be stored as Parquet: {exc}"
