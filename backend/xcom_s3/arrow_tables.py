"""pyarrow Tables as themselves: Parquet through the frames' streaming upload, read back as the same Table exactly.

Airflow's default backend refuses a ``pyarrow.Table``. Parquet keeps most Arrow types, but not every detail of
them (a list's item name, a map's field names, a timestamp[s] is stored in milliseconds, ...): the file carries the
table's own schema as well (an Arrow IPC message under :data:`SCHEMA_KEY`), and the reader casts each column back
to the type it was written as and gives back that schema, field and schema metadata included. What Parquet cannot
hold (unions, month_day_nano intervals, dictionaries of anything but text, ...) is refused before the upload with
:class:`UnsupportedFrameError` naming the column: the head of the table makes the whole round trip first.
"""

from __future__ import annotations

import sys
from typing import Any

from xcom_s3 import frame_refusals, frames
from xcom_s3.errors import UnsupportedFrameError, XComS3Error

#: What a reference records (reference.RETURNS) for a Parquet object to be read back as a pyarrow Table.
KIND = "pyarrow.Table"
#: The table's own schema (Arrow IPC), the one the reader gives back.
SCHEMA_KEY = b"xcom_s3.arrow_schema"
#: Rows of the table that make the whole round trip before the upload.
SAMPLE_ROWS = 64


def is_table(value: Any) -> bool:
    """True for a pyarrow Table, without importing pyarrow (it cannot be one if pyarrow was never imported)."""
    pyarrow = sys.modules.get("pyarrow")
    return pyarrow is not None and isinstance(value, pyarrow.Table)


def write_table(table: Any, sink: Any, codec: str) -> None:
    """Encode ``table`` as one Parquet file into the binary file ``sink``, slice by slice (one row group each).

    Refused with :class:`UnsupportedFrameError` naming the column, before the first byte reaches ``sink``, when
    the table's head would not come back exactly. Errors of ``sink`` itself (the upload) pass through unchanged.
    """
    if table.num_rows and not table.num_columns:  # Arrow's slice() of such a table even invents rows
        raise UnsupportedFrameError(
            f"pyarrow Table of {table.num_rows} rows has no columns, and Parquet keeps no row count without a "
            "column: add a column before returning the table."
        )
    _refuse_numeric_dictionaries(table)
    _refuse_time_of_day(table)
    head = table.slice(0, SAMPLE_ROWS)
    encoded = _check_round_trip(head, codec)
    if head.num_rows == table.num_rows:  # the head was the whole table: its checked file is the one to write
        sink.write(encoded)
        return
    try:
        _write(table, sink, codec)
    except XComS3Error:
        raise
    except frame_refusals.arrow_errors() as exc:  # what the head did not show
        raise _culprit(head, codec, exc) from exc


def _write(table: Any, sink: Any, codec: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _stored_schema(table.schema)
    step = _slice_rows(table)
    use_dictionary = frames.dictionary_columns(table)
    # Not compliant nested names: a list's item keeps its own name ("item", not Parquet's "element"). The codec as
    # the setting spells it: pyarrow takes "none" for uncompressed.
    with pq.ParquetWriter(
        sink, schema, compression=codec, use_dictionary=use_dictionary, use_compliant_nested_type=False
    ) as writer:
        for start in range(0, max(table.num_rows, 1), step):
            part = table.slice(start, step)
            writer.write_table(part, row_group_size=max(part.num_rows, 1))
    pa.default_memory_pool().release_unused()


def _stored_schema(schema: Any) -> Any:
    return schema.with_metadata({**(schema.metadata or {}), SCHEMA_KEY: schema.serialize().to_pybytes()})


def _slice_rows(table: Any) -> int:
    """Rows per row group: about frames.SLICE_BYTES of the table."""
    rows: int = table.num_rows
    if rows <= frames.MIN_SLICE_ROWS:
        return max(rows, 1)
    per_row = max(1.0, table.nbytes / rows)
    return max(frames.MIN_SLICE_ROWS, int(frames.SLICE_BYTES / per_row))


def parquet_to_table(data: Any) -> Any:
    """Decode what :func:`write_table` wrote (any bytes-like object) back into the same Table: each column cast
    back to its written type, under the written schema. A file without that schema is returned as pyarrow reads
    it."""
    import pyarrow as pa

    table = frames.decode_parquet(data)
    del data
    encoded = (table.schema.metadata or {}).get(SCHEMA_KEY)
    if encoded is None:
        return table
    written = pa.ipc.read_schema(pa.py_buffer(encoded))
    columns = [_cast_back(table.column(i), written.field(i).type) for i in range(table.num_columns)]
    return pa.Table.from_arrays(columns, schema=written)


def _cast_back(column: Any, wanted: Any) -> Any:
    """``column`` as the Arrow type it was written as: units, nested field names (a cast to the type it already has
    gives the column back as it is)."""
    return column.cast(wanted)


# ---- checks before the upload -----------------------------------------------------------------------------------


def _refuse_numeric_dictionaries(table: Any) -> None:
    """Parquet gives back a dictionary only of text: any other dictionary would come back with other indices."""
    import pyarrow as pa

    for field in table.schema:
        kind = field.type
        if pa.types.is_dictionary(kind) and not _is_text(kind.value_type):
            raise _refusal(field, "Parquet keeps a dictionary only of strings or binary", _remedy(field))


def _refuse_time_of_day(table: Any) -> None:
    """A date64 column holding a time of day, in any row, is refused: Parquet would give it back as midnight."""
    import pyarrow as pa

    for field, column in zip(table.schema, table.columns, strict=True):
        reason = frame_refusals.time_of_day(column) if pa.types.is_date64(field.type) else None
        if reason:
            remedy = f"Keep the time as a timestamp, e.g. table[{field.name!r}].cast(pa.timestamp('ms'))"
            raise _refusal(field, reason, remedy)


def _is_text(kind: Any) -> bool:
    import pyarrow as pa

    t = pa.types
    return bool(t.is_string(kind) or t.is_large_string(kind) or t.is_binary(kind) or t.is_large_binary(kind))


def _check_round_trip(head: Any, codec: str) -> Any:
    """``head`` through this writer, Parquet and this reader; the encoded file, or the refusal naming the column
    that would not come back exactly."""
    import pyarrow as pa

    try:
        sink = pa.BufferOutputStream()
        _write(head, sink, codec)
        encoded = sink.getvalue()
        back = parquet_to_table(encoded)
    except UnsupportedFrameError:
        raise
    except Exception as exc:  # whatever Arrow or Parquet raise: the column at fault is named instead
        raise _culprit(head, codec, exc) from exc
    difference = _difference(back, head)
    if difference is not None:
        raise difference
    return encoded


def _culprit(head: Any, codec: str, exc: Exception) -> UnsupportedFrameError:
    """The refusal for a head that failed its round trip: the first column failing alone."""
    import pyarrow as pa

    for position in range(head.num_columns):
        alone = head.select([position])
        try:
            sink = pa.BufferOutputStream()
            _write(alone, sink, codec)
            parquet_to_table(sink.getvalue())
        except Exception as column_exc:
            field = head.schema.field(position)
            return _refusal(field, frame_refusals.reason(column_exc), _remedy(field))
    return UnsupportedFrameError(
        f"pyarrow Table cannot be stored as Parquet: {frame_refusals.reason(exc)}. No column fails alone: convert "
        "the columns of unusual types to plain ones before returning the table."
    )


def _difference(got: Any, expected: Any) -> UnsupportedFrameError | None:
    """The refusal naming the first column (or the schema metadata) where ``got`` is not ``expected``."""
    for position, field in enumerate(expected.schema):
        came = got.schema.field(position)
        if str(came.type) != str(field.type):  # e.g. a map's own key and value names: Parquet keeps neither
            return _refusal(
                field,
                f"its field {field} comes back as {came}",
                f"Cast it to the type Parquet gives back, {came.type}, before returning the table",
            )
        if not came.equals(field, check_metadata=True):
            return _refusal(field, f"its field {field} comes back as {came}", _remedy(field))
        if not _same_values(got.column(position), expected.column(position)):
            return _refusal(field, "its values would come back changed", _remedy(field))
    if got.schema.metadata != expected.schema.metadata:
        return UnsupportedFrameError(
            "pyarrow Table schema metadata cannot be stored exactly: keep only bytes keys and values in "
            "table.schema.metadata, or drop it (table = table.replace_schema_metadata(None))."
        )
    return None


def _same_values(got: Any, expected: Any) -> bool:
    """Equal values, NaN equal to NaN and -0.0 not equal to 0.0 (Arrow's equality has neither): compared as
    Python values, which the head (at most :data:`SAMPLE_ROWS` rows) keeps cheap."""
    return repr(got.to_pylist()) == repr(expected.to_pylist())


def _refusal(field: Any, reason: str, remedy: str) -> UnsupportedFrameError:
    return UnsupportedFrameError(
        f"pyarrow Table column {field.name!r} (type {field.type}) cannot be stored as Parquet exactly: {reason}. "
        f"{remedy}."
    )


def _remedy(field: Any) -> str:
    """What to do with a column whose Arrow type Parquet cannot keep: the usual conversion for its kind."""
    import pyarrow as pa

    column, kind = f"table[{field.name!r}]", field.type
    if pa.types.is_dictionary(kind):
        return f"Decode it before returning the table: {column}.cast({column}.type.value_type)"
    if pa.types.is_union(kind):
        return "Store the union's alternatives as a struct of nullable fields (one per type) instead"
    if pa.types.is_struct(kind) and kind.num_fields == 0:
        return (
            "Drop it (a struct of no fields holds no values) before returning the table: "
            f"table.drop_columns([{field.name!r}])"
        )
    # Arrow has no cast to text for these (nor, before pyarrow 15, from float16 to float32), and pyarrow 14's
    # writer fails on fixed-size lists whose missing entries still span values: rebuilt from Python values, a
    # missing list spans none. The view types (pyarrow 16+) are told apart by name: older pyarrow has no test.
    text = str(kind)
    if pa.types.is_fixed_size_list(kind) or text.startswith(("list_view", "large_list_view")):
        return (
            f"Make it a plain list before returning the table: pa.array({column}.to_pylist(), "
            f"pa.list_({column}.type.value_type))"
        )
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return f"Rebuild it before returning the table: pa.array({column}.to_pylist(), {column}.type)"
    if text in ("string_view", "binary_view"):
        plain = "string" if text == "string_view" else "binary"
        return f"Make it plain {plain} before returning the table: pa.array({column}.to_pylist(), pa.{plain}())"
    if pa.types.is_float16(kind):
        return f"Widen it before returning the table: pa.array({column}.to_pylist(), pa.float32())"
    if kind == pa.month_day_nano_interval():
        return (
            "Store its parts as a struct of ints before returning the table: pa.array([v and {'months': v.months, "
            f"'days': v.days, 'nanoseconds': v.nanoseconds}} for v in {column}.to_pylist()])"
        )
    return f"Cast it to a type Parquet keeps before returning the table, e.g. {column}.cast(pa.string())"
