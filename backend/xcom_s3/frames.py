"""DataFrames as Parquet, written and read in memory with pyarrow: typed and exact, never CSV, never pickle."""

from __future__ import annotations

import sys
from typing import Any

from xcom_s3.errors import UnsupportedFrameError

PARQUET_MAGIC = b"PAR1"


def is_frame(value: Any) -> bool:
    """True for a pandas DataFrame, without importing pandas (it cannot be one if pandas was never imported)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)


def frame_to_parquet(frame: Any, codec: str) -> Any:
    """Encode ``frame`` (index and column names included) as a Parquet file in an Arrow buffer."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise UnsupportedFrameError(
            f"DataFrame has duplicate column names {duplicated!r}: Parquet needs unique column names. "
            "Rename the columns (e.g. df.columns = [...]) before returning the frame."
        )
    try:
        table = pa.Table.from_pandas(frame, preserve_index=None)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise UnsupportedFrameError(_explain(frame, exc)) from exc
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression=None if codec == "none" else codec)
    return sink.getvalue()


def parquet_to_frame(data: Any) -> Any:
    """Decode what :func:`frame_to_parquet` wrote back into an equal DataFrame."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pq.read_table(pa.BufferReader(data)).to_pandas()


def _explain(frame: Any, exc: Exception) -> str:
    """Name the first column pyarrow cannot convert, and why, so the user knows what to fix."""
    import pyarrow as pa

    for name in frame.columns:
        try:
            pa.array(frame[name], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as column_exc:
            kinds = sorted({type(v).__name__ for v in frame[name].dropna().tolist()[:1000]})
            return (
                f"DataFrame column {name!r} cannot be stored as Parquet: {column_exc}. It holds values of "
                f"types {kinds}; give it one type (e.g. df[{name!r}] = df[{name!r}].astype(str))."
            )
    return f"DataFrame cannot be stored as Parquet: {exc}"
