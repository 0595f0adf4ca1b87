"""Files from before the layout: what the writer still records for their readers, and how they are read.

A frame with no columns keeps its RangeIndex (:data:`RANGE_INDEX_KEY`), a frame with no rows its categoricals'
categories (:data:`EMPTY_CATEGORIES_KEY`); an object without a layout is read exactly as the reader of its time
read it (:func:`frame_of`).
"""

from __future__ import annotations

import json
from typing import Any

from xcom_s3 import frame_refusals

#: A frame with no columns stores its RangeIndex as a column (see frames._index_mode), so it would come back as a
#: plain integer index; this records that it was a range.
RANGE_INDEX_KEY = b"xcom_s3.range_index"

#: Parquet keeps a categorical's categories in its data pages' dictionary, so a frame with no rows has none to
#: keep them in: they travel in the file's key-value metadata instead, as an Arrow IPC stream per column. Written
#: still for readers that predate the layout (which carries every categorical's categories).
EMPTY_CATEGORIES_KEY = b"xcom_s3.empty_categories"


def frame_of(frame: Any, pandas_metadata: dict[str, Any] | None, extra: dict[bytes, bytes]) -> Any:
    """pyarrow's conversion of a file written before the layout existed, finished as the reader of that time did."""
    if EMPTY_CATEGORIES_KEY in extra:
        frame = _restore_empty_categories(frame, extra[EMPTY_CATEGORIES_KEY])
    frame = with_saved_range_index(frame, extra)
    return _restore_object_dtypes(frame, pandas_metadata)


def with_saved_range_index(frame: Any, extra: dict[bytes, bytes]) -> Any:
    if RANGE_INDEX_KEY in extra:
        import pandas as pd

        start, stop, step, name, range_columns = json.loads(extra[RANGE_INDEX_KEY])
        frame.index = pd.RangeIndex(start, stop, step, name=name)
        if range_columns:
            frame.columns = pd.RangeIndex(0)
    return frame


def with_range_index(schema: Any, frame: Any) -> Any:
    import pandas as pd

    index = frame.index
    if len(frame.columns) or not isinstance(index, pd.RangeIndex) or not isinstance(index.name, (str, type(None))):
        return schema
    saved = json.dumps([index.start, index.stop, index.step, index.name, isinstance(frame.columns, pd.RangeIndex)])
    return schema.with_metadata({**(schema.metadata or {}), RANGE_INDEX_KEY: saved.encode()})


def with_empty_categories(schema: Any, frame: Any) -> Any:
    import base64

    import pandas as pd
    import pyarrow as pa

    if len(frame):
        return schema
    saved: dict[str, str] = {}
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        if isinstance(column.dtype, pd.CategoricalDtype) and len(column.cat.categories):
            try:
                table = pa.table({"categories": pa.array(column.cat.categories, from_pandas=True)})
            except frame_refusals.arrow_errors():
                continue  # the layout refuses or keeps these categories; only old readers miss them
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table)
            saved[str(position)] = base64.b64encode(sink.getvalue().to_pybytes()).decode("ascii")
    if not saved:
        return schema
    return schema.with_metadata({**(schema.metadata or {}), EMPTY_CATEGORIES_KEY: json.dumps(saved).encode()})


def _restore_empty_categories(frame: Any, saved: bytes) -> Any:
    import base64

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
        arrays = [  # Indexes: pandas 3's MultiIndex.from_arrays makes a bare object array of text ``str`` again
            pd.Index(as_object(frame.index.get_level_values(i)).to_numpy(), dtype=object)
            if m and m.get("numpy_type") == "object" and frame.index.get_level_values(i).dtype != np.dtype(object)
            else frame.index.get_level_values(i)
            for i, m in enumerate(levels)
        ]
        if frame.index.nlevels == 1:
            frame.index = pd.Index(arrays[0], name=frame.index.name)  # an Index: its dtype stays
        else:
            frame.index = pd.MultiIndex.from_arrays(arrays, names=frame.index.names)
    return frame
