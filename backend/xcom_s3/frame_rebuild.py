"""Reading a laid-out file: each column and index level rebuilt exactly as its descriptor (frame_layout) records.

pyarrow converts what it converts exactly (numpy dtypes, time zones), finished to the recorded unit and tzinfo;
every other column is rebuilt from its Arrow data with the recorded dtype's own ``__from_arrow__``, categoricals
from their recorded categories, object columns through the recorded Python conversion.
"""

from __future__ import annotations

import json
from typing import Any

from xcom_s3 import frame_layout, frame_legacy


def written_schema(file_metadata: Any) -> Any:
    """The Arrow schema the file was written with (pyarrow stores it as ``ARROW:schema``), or None.

    Parquet has no type for some Arrow types (time32[s], date64, timestamp[s], a list's item name, a dictionary
    of numbers): the reader gives them as the nearest type, and each Arrow-typed column is cast back to this.
    """
    import base64

    import pyarrow as pa

    encoded = (file_metadata.metadata or {}).get(b"ARROW:schema")
    if encoded is None:
        return None
    try:
        return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(encoded)))
    except (pa.ArrowException, ValueError):
        return None


def _rebuilt_from_arrow(descriptor: dict[str, Any]) -> bool:
    """Whether a field is rebuilt from its Arrow data rather than taken from pyarrow's conversion."""
    return not ("numpy" in descriptor or "native" in descriptor or descriptor.get("values") == "text")


class Plan:
    """A laid-out file's stored fields with their descriptors, and the Arrow data of those rebuilt from it."""

    def __init__(self, table: Any, layout: dict[str, Any], written: Any) -> None:
        meta = table.schema.pandas_metadata or {}
        index_fields = [c for c in meta.get("index_columns", []) if isinstance(c, str)]
        data_fields = [c["field_name"] for c in meta.get("columns", []) if c.get("field_name") not in index_fields]
        self.columns = list(zip(data_fields, layout["columns"], strict=True))
        self.levels = list(zip(index_fields, layout["index"], strict=True))
        self.rebuilt: dict[str, Any] = {}
        for field, descriptor in self.columns + self.levels:
            if _rebuilt_from_arrow(descriptor):
                column = table.column(field)
                if "arrow" in descriptor and written is not None and written.get_field_index(field) >= 0:
                    wanted = written.field(field).type
                    column = _cast_back(column, wanted)
                self.rebuilt[field] = column


def _cast_back(column: Any, wanted: Any) -> Any:
    """``column`` as the Arrow type it was written as (a dictionary of numbers is read back as plain values)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    # Cast even when the types are equal: Arrow's equality ignores a list's item name, ArrowDtype's does not. A cast
    # to the very type (item names included) gives the column back as it is.
    if pa.types.is_dictionary(wanted) and not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column.cast(wanted.value_type))
    return column.cast(wanted)


def with_placeholders(table: Any, fields: dict[str, Any]) -> Any:
    """``table`` with each field rebuilt from Arrow replaced by zeros, so pyarrow neither converts it for nothing
    nor chokes on a dtype name its pandas cannot parse (a nested ``ArrowDtype``). Zeros of one byte, shared: pandas
    takes them as a small int8 block (nulls would be a Python ``None`` per row, allocated only to be replaced)."""
    import numpy as np
    import pyarrow as pa

    if not fields:
        return table
    meta = table.schema.pandas_metadata
    for entry in meta["columns"]:  # pyarrow records every stored field here
        if entry.get("field_name") in fields:
            entry["numpy_type"] = "int8"  # what pyarrow parses as a dtype (a nested ArrowDtype: it cannot)
    zeros = pa.array(np.zeros(table.num_rows, dtype=np.int8))
    for name in fields:
        position = table.schema.get_field_index(name)
        table = table.set_column(position, pa.field(name, pa.int8()), zeros)
    # to_pandas reads only the pandas key; the layout and attrs were read from the file's metadata before this.
    return table.replace_schema_metadata({b"pandas": json.dumps(meta).encode()})


def assemble(frame: Any, plan: Plan, layout: dict[str, Any], extra: dict[bytes, bytes]) -> Any:
    """pyarrow's conversion of a laid-out file, each field made exactly what the layout records."""
    if plan.levels:
        frame.index = _index(frame.index, plan, layout)
    for position, (field, descriptor) in enumerate(plan.columns):
        if field in plan.rebuilt:
            values = _from_arrow(plan.rebuilt.pop(field), descriptor)
        else:
            values = _finish(frame.iloc[:, position], descriptor)
        if values is not None:
            frame.isetitem(position, _column(values, frame.index))
    frame = frame_legacy.with_saved_range_index(frame, extra)
    return _finish_frame(frame, layout, extra)


def _column(values: Any, index: Any) -> Any:
    """What ``isetitem`` keeps as it is: an object ndarray as an object Series (pandas 3 would infer ``str``)."""
    import numpy as np
    import pandas as pd

    if isinstance(values, np.ndarray) and values.dtype == np.dtype(object):
        return pd.Series(values, index=index, dtype=object, copy=False)
    return values


def dtype_of(descriptor: dict[str, Any], arrow_type: Any) -> Any:
    """The pandas dtype a descriptor records (``arrow_type``: the field's, for an ArrowDtype)."""
    import numpy as np
    import pandas as pd

    if "numpy" in descriptor:
        return np.dtype(descriptor["numpy"])
    if "arrow" in descriptor:
        return pd.ArrowDtype(arrow_type)
    if "string" in descriptor:
        storage = descriptor["string"]
        if storage == "pyarrow_numpy":  # pandas 2.1-2.2's NaN-missing pyarrow strings, named by their parts since 2.3
            try:
                return pd.StringDtype("pyarrow", np.nan)  # pandas 3 knows no other name
            except TypeError:  # pandas 2.1-2.2: no na_value, only this name
                return pd.StringDtype(storage)
        return pd.StringDtype(storage) if descriptor["na"] == "NA" else pd.StringDtype(storage, np.nan)
    return pd.api.types.pandas_dtype(descriptor["ext"])


def _from_arrow(chunked: Any, descriptor: dict[str, Any]) -> Any:
    """The pandas values of a stored field, rebuilt from its Arrow data as its descriptor records."""
    import numpy as np
    import pandas as pd

    if "category" in descriptor:
        return _categorical(chunked, descriptor)
    if descriptor.get("values") == "python":
        values = frame_layout.DECODERS[descriptor["decoder"]](chunked)  # recorded as the first slice is checked
        array = np.empty(len(values), dtype=object)
        array[:] = values
        return _with_nulls(array, descriptor["object"])
    if not _rebuilt_from_arrow(descriptor):
        converted = pd.Series(chunked.to_pandas(), copy=False)
        finished = _finish(converted, descriptor)
        return converted.array if finished is None else finished
    dtype = dtype_of(descriptor, chunked.type)
    values = dtype.__from_arrow__(chunked)
    wanted = dtype.construct_array_type()
    if type(values) is not wanted:  # pandas 2.3's str (python, NaN) gives a StringArray, not its own class
        values = wanted._from_sequence(values, dtype=dtype)  # the ExtensionArray interface's constructor
    return values


def _with_nulls(array: Any, kind: str | None) -> Any:
    """An object array with Arrow's nulls as the column's own kind of missing value."""
    import pandas as pd

    missing = pd.isna(array)
    if missing.any():
        array = array.copy()  # not the caller's: it may be pandas' own
        array[missing] = frame_layout.null_value(kind)
    return array


def _finish(values: Any, descriptor: dict[str, Any]) -> Any:
    """pyarrow's conversion of a numpy, time zone or text field made exactly the recorded dtype (None: it is).

    A numpy dtype Parquet stores in another unit (datetime64[s] as milliseconds) is cast back; text that pandas 3
    reads as its ``str`` dtype becomes object again, with the column's own kind of missing value.
    """
    if "numpy" in descriptor:
        dtype = dtype_of(descriptor, None)
        return None if values.dtype == dtype else values.astype(dtype).array
    if "native" in descriptor:  # pyarrow gives the instants; the unit and the tzinfo object are the writer's
        tz = frame_layout.decode_tz(descriptor["tz"])
        if values.dtype.unit == descriptor["unit"] and repr(values.dtype.tz) == repr(tz):
            return None
        return values.dt.as_unit(descriptor["unit"]).dt.tz_convert(tz).array
    return _finish_text(values, descriptor["object"])


def _finish_text(values: Any, kind: str | None) -> Any:
    """Text as object values with the column's own kind of missing value (None: pyarrow's conversion already is).

    pandas 3 reads text as its ``str`` dtype, which this turns back; pandas 2 reads it as object with None for
    nulls, the same values the conversion below gives, so there only the missing values NaN, NA and NaT change.
    """
    import numpy as np

    if values.dtype == np.dtype(object) and kind in (None, "None"):
        return None  # pandas 2: pyarrow gives text back as object, with None for nulls
    return _with_nulls(np.asarray(values, dtype=object), kind)


def _categorical(chunked: Any, descriptor: dict[str, Any]) -> Any:
    """A categorical from its stored values and its recorded categories: each code is its value's position among
    the categories (Arrow's ``index_in``), so unused categories and their order come back too."""
    import base64

    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    stream = pa.ipc.open_stream(base64.b64decode(descriptor["category"])).read_all()
    categories_arrow = stream.column("categories")
    categories = _as_index(_from_arrow(categories_arrow, descriptor["categories"]))
    value_set = _storage(categories_arrow.combine_chunks(), None)
    parts = [_codes(chunk, value_set) for chunk in chunked.chunks]
    if len({part.type for part in parts}) > 1:
        parts = [part.cast(pa.int32()) for part in parts]
    codes = pa.chunked_array(parts)  # one chunk at least: Arrow gives a file of no row groups one empty chunk
    if codes.null_count:  # missing is code -1 (int32: an index type may be unsigned)
        codes = pc.fill_null(codes.cast(pa.int32()), -1)
    dtype = pd.CategoricalDtype(categories, ordered=descriptor["ordered"])
    return pd.Categorical.from_codes(np.asarray(codes.to_numpy()), dtype=dtype)


def _codes(chunk: Any, value_set: Any) -> Any:
    """Each value's position among the categories (null where missing), in the chunk's index type if it has one."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_dictionary(chunk.type):
        return pc.index_in(_storage(chunk, value_set.type), value_set=value_set)
    dictionary = _storage(chunk.dictionary, value_set.type)
    if dictionary.equals(value_set):  # the common case: Parquet kept the categories as the chunk's dictionary
        return chunk.indices
    return pc.take(pc.index_in(dictionary, value_set=value_set), chunk.indices)


def _storage(array: Any, kind: Any) -> Any:
    """An array as plain Arrow data (an extension type's storage), cast to ``kind`` if given and different."""
    import pyarrow as pa

    array = array.storage if isinstance(array.type, pa.BaseExtensionType) else array
    return array if kind is None or array.type == kind else array.cast(kind)


def _as_index(values: Any) -> Any:
    """An Index of exactly ``values``' dtype (pandas 3 would infer ``str`` from an object array of text)."""
    import pandas as pd

    return pd.Index(values, dtype=values.dtype)


def _index(index: Any, plan: Plan, layout: dict[str, Any]) -> Any:
    """The stored index, level by level: pyarrow's levels finished, the others rebuilt from Arrow."""
    import pandas as pd

    levels = []
    for level, (field, descriptor) in enumerate(plan.levels):
        if field in plan.rebuilt:
            values = _from_arrow(plan.rebuilt.pop(field), descriptor)
        else:
            current = index.get_level_values(level)
            finished = _finish(pd.Series(current, copy=False), descriptor)
            values = current if finished is None else finished
        levels.append(_as_index(values))
    if len(levels) == 1:
        return levels[0]
    rebuilt = pd.MultiIndex.from_arrays(levels)
    wanted = layout.get("level_dtypes") or [None] * len(levels)
    return rebuilt.set_levels(
        [lv if d is None or lv.dtype.str == d else lv.astype(d) for lv, d in zip(rebuilt.levels, wanted, strict=True)]
    )


def _finish_frame(frame: Any, layout: dict[str, Any], extra: dict[bytes, bytes]) -> Any:
    """Names, freq, the column axis, flags and attrs, as the layout recorded them."""
    import pandas as pd

    frame.index.names = [frame_layout.decode_name(n) for n in layout["index_names"]]
    freq = layout.get("freq")
    if freq is not None:
        frame.index = type(frame.index)(frame.index, freq=freq)
    if "column_range" in layout:
        frame.columns = pd.RangeIndex(*layout["column_range"])
    else:
        frame.columns = _column_axis(frame.columns, layout)
    frame.columns.names = [frame_layout.decode_name(n) for n in layout["column_names"]]
    if layout.get("allows_duplicate_labels") is False:
        frame = frame.set_flags(allows_duplicate_labels=False)
    if frame_layout.ATTRS_KEY in extra:
        frame.attrs = json.loads(extra[frame_layout.ATTRS_KEY])
    return frame


def _column_axis(columns: Any, layout: dict[str, Any]) -> Any:
    """The column axis in the dtype the layout records: pandas 3 reads text labels as ``str`` (pandas 2 with
    pyarrow restores every numpy or string axis dtype itself, so on pandas 2 this changes nothing)."""
    descriptor = layout.get("column_dtype")
    if not descriptor:
        return columns
    wanted = dtype_of(descriptor, None)
    return columns if columns.dtype == wanted else columns.astype(wanted)
