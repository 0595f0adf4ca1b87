"""The whole frame's Arrow schema without converting its text columns to learn their type.

``pa.Schema.from_pandas`` learns an object column's Arrow type by converting all of it (pandas 2, 100 MB frame: a
million strings, ~60 ms, as much as the exactness checks cost). A column the layout's scan found to hold only
text (frame_layout: ``"values": "text"``) converts to ``string`` or ``binary`` whatever its rows, so its type is
known from one value: the schema is taken from the frame's zero-row head (no values to convert) and given those
types, the pandas metadata the rows would have changed (a text column's ``pandas_type``, a RangeIndex's bounds)
set as pyarrow sets them. Any other case (an object column of Python values or of missing values only, an
object index level) is left to pyarrow: :func:`typed_schema` returns None.
"""

from __future__ import annotations

import json
from typing import Any

from xcom_s3 import frame_layout

#: A text column's type is read from its first value that is not missing, looked for among this many rows.
_LOOK_ROWS = 1000


def typed_schema(frame: Any, preserve_index: bool | None, specs: list[frame_layout.Field]) -> Any | None:
    """``pa.Schema.from_pandas(frame, preserve_index)`` for a frame whose object columns are all text, else None."""
    import numpy as np
    import pyarrow as pa

    columns = frame.shape[1]
    text: dict[int, Any] = {}
    for position, spec in enumerate(specs):
        if not (isinstance(spec.dtype, np.dtype) and spec.dtype == np.dtype(object)):
            continue
        if position >= columns or spec.descriptor.get("values") != "text":
            return None  # an object index level, or Python values: pyarrow infers their type
        kind = _text_type(frame.iloc[:_LOOK_ROWS, position])
        if kind is None:
            return None
        text[position] = kind
    if not text:
        return None  # nothing to save: no object column is converted
    schema = pa.Schema.from_pandas(frame.iloc[:0], preserve_index=preserve_index)
    meta = schema.pandas_metadata
    entries = meta["columns"]
    for position, kind in text.items():
        entry = entries[position]
        index = schema.get_field_index(entry["field_name"])
        if index < 0:  # the name is not one field's alone (an index level named as a column): pyarrow's way
            return None
        schema = schema.set(index, pa.field(entry["field_name"], kind))
        entry["pandas_type"] = "unicode" if kind == pa.string() else "bytes"
    for entry in meta["index_columns"]:
        if isinstance(entry, dict) and entry.get("kind") == "range":
            entry.update(start=frame.index.start, stop=frame.index.stop, step=frame.index.step)
    return schema.with_metadata({**(schema.metadata or {}), b"pandas": json.dumps(meta).encode()})


def _text_type(values: Any) -> Any:
    """``string`` or ``binary`` from the column's first value that is text; None if none is among these rows."""
    import pyarrow as pa

    for value in values:
        if type(value) is str:
            return pa.string()
        if type(value) is bytes:
            return pa.binary()
    return None
