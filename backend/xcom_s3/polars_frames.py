"""polars DataFrames as themselves: through Arrow (arrow_tables) as Parquet, read back as the same polars frame.

polars is optional: never imported to recognise a value (one that is a polars frame was made by an imported
polars), imported only to read one back. polars records what Arrow alone does not say (an Enum's categories, a
Categorical) in the Arrow fields' metadata, which arrow_tables keeps. The head of the frame makes the whole round
trip (polars -> Arrow -> Parquet -> Arrow -> polars) before the upload; a column that would not come back exactly
(an Object column, ...) is refused with :class:`UnsupportedFrameError` naming it, its dtype and what to do.
"""

from __future__ import annotations

import sys
from typing import Any

from xcom_s3 import arrow_tables, frame_refusals
from xcom_s3.errors import UnsupportedFrameError

#: What a reference records (reference.RETURNS) for a Parquet object to be read back as a polars DataFrame.
KIND = "polars.DataFrame"


def is_polars_frame(value: Any) -> bool:
    """True for a polars DataFrame, by its class's module, without importing polars."""
    if type(value).__module__.split(".")[0] != "polars":
        return False
    polars = sys.modules.get("polars")
    return polars is not None and isinstance(value, polars.DataFrame)


def write_polars(frame: Any, sink: Any, codec: str) -> None:
    """Encode ``frame`` as one Parquet file into ``sink`` (arrow_tables' streaming writer), or refuse it naming
    the column that would not come back exactly, before the first byte reaches ``sink``."""
    import pyarrow as pa

    if frame.height and not frame.width:  # polars' head() of such a frame even invents rows
        raise UnsupportedFrameError(
            f"polars DataFrame of shape {frame.shape} has rows but no columns, and Parquet keeps no row count "
            "without a column: give it at least one column before returning it."
        )
    head = frame.head(arrow_tables.SAMPLE_ROWS)
    encoded_sink = pa.BufferOutputStream()
    arrow_tables.write_table(_to_arrow(head), encoded_sink, codec)
    encoded = encoded_sink.getvalue()
    _check_same(parquet_to_polars(encoded), head)
    if head.height == frame.height:
        sink.write(encoded)
        return
    arrow_tables.write_table(_to_arrow(frame), sink, codec)


def parquet_to_polars(data: Any) -> Any:
    """Decode what :func:`write_polars` wrote back into the same polars DataFrame."""
    import polars

    return polars.from_arrow(arrow_tables.parquet_to_table(data))


def _to_arrow(frame: Any) -> Any:
    """The frame as an Arrow table (the oldest compat level: plain and large strings Parquet writes everywhere)."""
    import polars

    try:
        return frame.to_arrow(compat_level=polars.CompatLevel.oldest())
    except Exception as exc:  # polars' own errors for what Arrow cannot hold (Object columns)
        for name in frame.columns:
            try:
                frame.select(name).to_arrow(compat_level=polars.CompatLevel.oldest())
            except Exception as column_exc:
                raise _refusal(frame, name, frame_refusals.reason(column_exc)) from exc
        raise UnsupportedFrameError(
            f"polars DataFrame cannot be converted to Arrow: {frame_refusals.reason(exc)}."
        ) from exc


def _check_same(got: Any, expected: Any) -> None:
    """The refusal naming the first column of ``expected`` that ``got`` does not give back exactly."""
    for name in expected.columns:
        if name not in got.columns:  # polars reads an empty name back as "column_0"
            raise _refusal(
                expected,
                name,
                "polars reads it back under another name",
                f"Rename it before returning the frame, e.g. df = df.rename({{{name!r}: 'value'}})",
            )
        came, went = got[name], expected[name]
        if came.dtype != went.dtype:
            raise _refusal(expected, name, f"it would come back as {came.dtype}")
        if not came.equals(went):  # the same dtype (checked above) and name (looked up by it): the values
            raise _refusal(expected, name, "its values would come back changed")


def _refusal(frame: Any, name: str, reason: str, remedy: str | None = None) -> UnsupportedFrameError:
    dtype = frame.schema[name]
    remedy = remedy or (
        "Convert it to a dtype Parquet keeps before returning the frame, e.g. "
        f"df = df.with_columns(pl.col({name!r}).cast(pl.String))"
    )
    return UnsupportedFrameError(
        f"polars DataFrame column {name!r} (dtype {dtype}) cannot be stored as Parquet exactly: {reason}. {remedy}."
    )
