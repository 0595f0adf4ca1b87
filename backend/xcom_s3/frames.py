"""DataFrames as Parquet with pyarrow: typed and exact, never CSV, never pickle. The entry points live here.

Writing streams: the frame is converted and encoded slice by slice (one Parquet row group each) into any
binary sink, so the upload can start after the first slice, and neither a whole-frame Arrow table nor the
whole file has to sit in memory next to the frame. The schema, pandas metadata (index, dtypes, categories,
time zones) included, comes from the whole frame once, so every slice is written under the same schema and the
file reads back as the frame it came from.

Exactness by construction (issue 14): next to pandas' own metadata the schema carries a layout
(frame_layout: what pandas needs to rebuild each column and index level) and ``DataFrame.attrs`` under pandas'
own ``PANDAS_ATTRS`` key; the reader rebuilds each column from it (frame_rebuild). Before anything is uploaded
the head of the frame makes the whole round trip, and object columns are compared value by value as each slice
is encoded (frame_checks): a frame that would not come back exactly is refused with
:class:`UnsupportedFrameError` naming the column, its dtype and what to do (frame_refusals). Objects written
before the layout existed are read exactly as before (frame_legacy).
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from xcom_s3 import frame_checks, frame_layout, frame_legacy, frame_rebuild, frame_refusals, frame_schema
from xcom_s3.errors import UnsupportedFrameError, XComS3Error
from xcom_s3.frame_layout import LAYOUT_KEY

__all__ = [
    "LAYOUT_KEY",
    "MIN_SLICE_ROWS",
    "SLICE_BYTES",
    "UnsupportedFrameError",
    "dictionary_columns",
    "frame_to_parquet",
    "is_frame",
    "parquet_to_frame",
    "slice_rows",
    "write_parquet",
]

#: In-memory size of the frame slice converted and encoded at a time (one row group). Big enough that per-group
#: overhead and compression stay as for one big group, small enough to overlap encoding with the upload.
SLICE_BYTES = 32 * 2**20

#: Never fewer rows per row group than this (narrow frames would otherwise make thousands of tiny groups).
MIN_SLICE_ROWS = 16_384


def is_frame(value: Any) -> bool:
    """True for a pandas DataFrame, without importing pandas (it cannot be one if pandas was never imported)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)


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


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """pyarrow warns that non-str index names do not round-trip: the layout keeps them, so the warning is noise."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*non-str index name", category=UserWarning)
        yield


def _schema(frame: Any, specs: list[frame_layout.Field]) -> Any:
    """The whole frame's Arrow schema with its pandas metadata, or :class:`UnsupportedFrameError`."""
    import pyarrow as pa

    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise UnsupportedFrameError(
            f"DataFrame has duplicate column names {duplicated!r}: Parquet needs unique column names. "
            "Rename the columns (e.g. df.columns = [...]) before returning the frame."
        )
    stored: dict[str, list[Any]] = {}
    for label in frame.columns:  # Parquet's column names are the labels as text
        stored.setdefault(str(label), []).append(label)
    clash = next((labels for labels in stored.values() if len(labels) > 1), None)
    if clash:
        raise UnsupportedFrameError(
            f"DataFrame column names {clash!r} are all stored as {str(clash[0])!r}: Parquet needs unique column "
            "names. Rename the columns (e.g. df.columns = [...]) before returning the frame."
        )
    names = [name for name in frame.index.names if name is not None]
    if len(set(map(str, names))) < len(names):
        raise UnsupportedFrameError(
            f"DataFrame index levels share a name ({names!r}): Parquet needs one name per stored column. Rename "
            "them (df.index.names = [...]) before returning the frame."
        )
    with _quiet():
        try:
            preserve = _index_mode(frame)[0]
            typed = frame_schema.typed_schema(frame, preserve, specs)
            return pa.Schema.from_pandas(frame, preserve_index=preserve) if typed is None else typed
        except frame_refusals.arrow_errors() as exc:
            raise frame_checks.explained(frame, exc) from exc


def slice_rows(frame: Any) -> int:
    """Rows per row group: about :data:`SLICE_BYTES` of the frame, estimated from its first 1,000 rows."""
    rows = len(frame)
    if rows <= MIN_SLICE_ROWS:
        return max(rows, 1)  # one slice whatever the estimate
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
        else:
            try:
                repeats = pc.count_distinct(column, mode="all").as_py() <= len(column) // 2
            except pa.ArrowNotImplementedError:  # no kernel for this type (e.g. month_day_nano_interval)
                continue
            if repeats:
                chosen.append(name)
    return chosen


def _slices(frame: Any, schema: Any, specs: list[frame_layout.Field]) -> Iterator[tuple[Any, Any]]:
    """The frame as (rows, Arrow table) of about :data:`SLICE_BYTES` each, all under ``schema`` (one at least)."""
    import pyarrow as pa

    slice_index = _index_mode(frame)[1]
    step = slice_rows(frame)
    for start in range(0, max(len(frame), 1), step):
        part = frame.iloc[start : start + step]
        with _quiet():
            try:
                # Not ``schema=``: pyarrow then looks columns up by their string names, and int names fail.
                table = pa.Table.from_pandas(part, preserve_index=slice_index)
            except frame_refusals.arrow_errors() as exc:
                raise frame_checks.explained(frame, exc) from exc
        if not table.schema.equals(schema, check_metadata=False):
            table = _cast_slice(table, schema, specs, start)  # e.g. an object column all None here (null type)
        yield part, table


def _cast_slice(table: Any, schema: Any, specs: list[frame_layout.Field], start: int) -> Any:
    """A slice's table under the whole frame's schema, or the refusal naming the object column whose values in
    these rows convert to an Arrow type that cannot be cast to the whole column's (pyarrow before 19 cannot cast
    dicts missing a key other rows have; later ones add the key, and the Python check refuses the change)."""
    try:
        return table.cast(schema)
    except frame_refusals.arrow_errors() as exc:
        for spec in specs:
            wanted = schema.field(spec.field).type if spec.field is not None else None
            found = table.schema.field(spec.field).type if spec.field is not None else None
            if wanted is not None and found != wanted:
                try:
                    table.column(spec.field).cast(wanted)
                except frame_refusals.arrow_errors() as column_exc:
                    reason = (
                        f"rows {start} to {start + table.num_rows - 1} convert to the Arrow type {found}, the whole "
                        f"column to {wanted} ({frame_refusals.reason(column_exc)})"
                    )
                    raise frame_refusals.refusal(
                        spec, reason, frame_refusals.python_values_remedy(spec.target)
                    ) from exc
        raise


def write_parquet(frame: Any, sink: Any, codec: str) -> None:
    """Encode ``frame`` (index and column names included) as one Parquet file into the binary file ``sink``.

    Refused with :class:`UnsupportedFrameError` (naming the column, its dtype and what to do), before the first
    byte reaches ``sink``, when the frame's head would not come back exactly; while encoding, when an object
    column's values would not. Errors of ``sink`` itself (the upload) pass through unchanged.
    """
    whole = frame_checks.check_round_trip(frame, codec, _ROUND_TRIP)
    if whole is not None:  # the head was the whole frame: its checked file is the one to write
        sink.write(whole)
        return
    try:
        _write(frame, sink, codec)
    except XComS3Error:
        raise
    except frame_refusals.arrow_errors() as exc:  # raised by Arrow or Parquet for what the head did not show
        raise frame_checks.culprit(frame.iloc[: frame_checks.SAMPLE_ROWS], codec, exc, _ROUND_TRIP) from exc


def _write(frame: Any, sink: Any, codec: str) -> None:
    """Encode ``frame`` under its layout; any refusal the layout or the object checks make is raised here."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    # First: pyarrow warns about attrs it cannot serialize, which are refused here.
    attrs = frame_checks.attrs_json(frame)
    frame_layout.encoded_names(frame)  # before pyarrow's conversion, which fails on such a name too
    columns, levels = frame_layout.fields(frame)
    schema = _schema(frame, [*columns, *levels])
    frame_layout.name_fields(schema, columns, levels)
    layout = frame_layout.build(frame, columns, levels)
    schema = frame_legacy.with_range_index(frame_legacy.with_empty_categories(schema, frame), frame)
    if attrs is not None:
        schema = schema.with_metadata({**(schema.metadata or {}), frame_layout.ATTRS_KEY: attrs})
    checked: list[tuple[frame_layout.Field, Callable[[Any], Any]]] = [
        (c, functools.partial(_column_of, i)) for i, c in enumerate(columns)
    ]
    checked += [(lv, functools.partial(_level_of, i)) for i, lv in enumerate(levels)]
    slices = _slices(frame, schema, [*columns, *levels])
    part, first = next(slices)
    frame_checks.check_python(first, part, checked)  # chooses each object field's decoder, which the layout records
    schema = schema.with_metadata({**(schema.metadata or {}), LAYOUT_KEY: json.dumps(layout).encode()})
    # The codec as the setting spells it: pyarrow takes "none" for uncompressed.
    with pq.ParquetWriter(sink, schema, compression=codec, use_dictionary=dictionary_columns(first)) as writer:
        writer.write_table(first, row_group_size=max(first.num_rows, 1))
        del first
        for part, table in slices:
            frame_checks.check_python(table, part, checked)
            writer.write_table(table, row_group_size=max(table.num_rows, 1))
            del table
    # The slices' Arrow memory is free now; hand it back to the OS rather than keep it next to what comes next.
    pa.default_memory_pool().release_unused()


def _column_of(position: int, part: Any) -> Any:
    return part.iloc[:, position]


def _level_of(level: int, part: Any) -> Any:
    return part.index.get_level_values(level)


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
    import pyarrow.parquet as pq

    file_metadata = pq.read_metadata(pa.BufferReader(data))
    dedupe = _strings_repeat(file_metadata)
    table = decode_parquet(data, _returning_pool())
    # The decoded table owns its memory: drop the file before pandas allocates the frame (on Python 3.11+ this
    # frees it when the caller passed the download straight in, as the backend does), and return its pages.
    del data
    pa.default_memory_pool().release_unused()
    extra = table.schema.metadata or {}
    if LAYOUT_KEY not in extra:
        return _legacy_frame(table, dedupe)
    try:
        layout = json.loads(extra[LAYOUT_KEY])
        plan = frame_rebuild.Plan(table, layout, frame_rebuild.written_schema(file_metadata))
        # Rebinding ``table`` drops the last reference to the read table, so ``self_destruct`` can free it.
        table = frame_rebuild.with_placeholders(table, plan.rebuilt)
        frame = _to_pandas(table, dedupe)
        del table
        return frame_rebuild.assemble(frame, plan, layout, extra)
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        # Only a layout that does not match its file gets here: not one this module wrote (the caller says so).
        raise ValueError(f"the Parquet file's {LAYOUT_KEY.decode()} does not match its columns: {exc!r}") from exc


def decode_parquet(data: Any, memory_pool: Any = None) -> Any:
    """The Table of a Parquet file held in memory: what ``pq.read_table`` does for one file, in ``memory_pool``
    (pyarrow's default when None), without pre-buffering.

    Why no pre-buffering: pyarrow < 15 reads pre-buffered row groups asynchronously and may still decode one on its
    thread pool after the read has returned and the reader is gone (apache/arrow#38438): on pyarrow 14.0.1 that
    crashed the worker (SIGSEGV in ``DecodeRowGroups``) in about 1 of 15 runs of a test reading ~40 frames of 6 row
    groups. Pre-buffering coalesces reads from a slow store; this file is already in memory.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    no_prebuffer = ds.ParquetFragmentScanOptions(pre_buffer=False)
    fragment = ds.ParquetFileFormat(default_fragment_scan_options=no_prebuffer).make_fragment(pa.BufferReader(data))
    return fragment.to_table(memory_pool=memory_pool)


def _to_pandas(table: Any, dedupe: bool) -> Any:
    import pyarrow as pa

    frame = table.to_pandas(self_destruct=True, deduplicate_objects=dedupe, use_threads=False)
    pa.default_memory_pool().release_unused()  # what the table held, so the task goes on without it
    return frame


def _legacy_frame(table: Any, dedupe: bool) -> Any:
    """An object written before the layout existed, read exactly as the reader of that time read it."""
    pandas_metadata = table.schema.pandas_metadata
    extra = table.schema.metadata or {}
    frame = _to_pandas(table, dedupe)
    del table
    return frame_legacy.frame_of(frame, pandas_metadata, extra)


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


#: The writer and reader the checks run the head of each frame through: this module's own.
_ROUND_TRIP = frame_checks.RoundTrip(write=_write, read=parquet_to_frame)
