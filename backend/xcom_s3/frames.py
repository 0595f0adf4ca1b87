"""DataFrames as Parquet with pyarrow: typed and exact, never CSV, never pickle.

Writing streams: the frame is converted and encoded slice by slice (one Parquet row group each) into any
binary sink, so the upload can start after the first slice, and neither a whole-frame Arrow table nor the
whole file has to sit in memory next to the frame. The schema, pandas metadata (index, dtypes, categories,
time zones) included, comes from the whole frame once, so every slice is written under the same schema and the
file reads back as the frame it came from.

Exactness by construction (issue 14): next to pandas' own metadata the schema carries a *layout*
(:data:`LAYOUT_KEY`): for every column and index level, what pandas needs to rebuild its dtype (the numpy dtype,
the extension dtype's name, the Arrow type of an ``ArrowDtype``, a StringDtype's storage, a categorical's
categories, an object column's kind of missing value and which of Arrow's two Python conversions gives its values
back), plus the index names, ``freq``, the column axis and the flags; ``DataFrame.attrs`` go under pandas' own
``PANDAS_ATTRS`` key. The reader converts what pyarrow converts exactly (numpy dtypes, time zones) with pyarrow,
and every other column from its Arrow data with the recorded dtype's own ``__from_arrow__``. Before anything is
uploaded the head of the frame makes the whole round trip (this writer, Parquet, this reader), and object columns
are compared value by value as each slice is encoded: a frame that would not come back exactly is refused with
:class:`UnsupportedFrameError` naming the column, its dtype and what to do. Objects written before the layout
existed are read exactly as before (:func:`_legacy_frame`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from xcom_s3.errors import UnsupportedFrameError, XComS3Error

PARQUET_MAGIC = b"PAR1"
#: In-memory size of the frame slice converted and encoded at a time (one row group). Big enough that per-group
#: overhead and compression stay as for one big group, small enough to overlap encoding with the upload.
SLICE_BYTES = 32 * 2**20
#: Never fewer rows per row group than this (narrow frames would otherwise make thousands of tiny groups).
MIN_SLICE_ROWS = 16_384
#: Rows of the frame that make the whole round trip before the push (see :func:`_check_round_trip`).
SAMPLE_ROWS = 64
#: What pandas needs to rebuild each column and index level (JSON; see the module docstring).
LAYOUT_KEY = b"xcom_s3.layout"
LAYOUT_VERSION = 1
#: pandas' own key for ``DataFrame.attrs`` (``DataFrame.to_parquet`` writes it, ``read_parquet`` restores it).
ATTRS_KEY = b"PANDAS_ATTRS"


def is_frame(value: Any) -> bool:
    """True for a pandas DataFrame, without importing pandas (it cannot be one if pandas was never imported)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)


def _arrow_errors() -> tuple[type[Exception], ...]:
    import pyarrow as pa

    # UnicodeEncodeError: text Parquet cannot hold as UTF-8 (lone surrogates), raised while converting a column.
    # OverflowError: a Python int beyond 64 bits. TypeError: what pandas cannot hand to Arrow (sparse data).
    return (pa.ArrowException, UnicodeEncodeError, OverflowError, TypeError, ValueError, NotImplementedError)


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


def _schema(frame: Any) -> Any:
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
            return pa.Schema.from_pandas(frame, preserve_index=_index_mode(frame)[0])
        except _arrow_errors() as exc:
            raise _explained(frame, exc) from exc


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


# ---- the layout: what pandas needs to rebuild each column and index level --------------------------------------


class _Named:
    """A column or index level as a message names it: where it is, the expression a remedy assigns to, its dtype."""

    def __init__(self, where: str, target: str, dtype: Any) -> None:
        self.where = where  #: "column 'c'", "index level 'i'", "index level 0"
        self.target = target  #: "df['c']", "df.index"
        self.dtype = dtype


class _Field(_Named):
    """A stored column of the frame (a data column or an index level): its descriptor and Arrow field name."""

    def __init__(self, named: _Named, values: Any) -> None:
        super().__init__(named.where, named.target, named.dtype)
        self.descriptor = _describe(values, self)
        self.field: str | None = None  #: filled in from the schema (:func:`_name_fields`)


def _places(frame: Any) -> list[tuple[_Named, Any]]:
    """Every data column and stored index level (a RangeIndex with columns lives in metadata only), with values."""
    import pandas as pd

    places = [
        (_Named(f"column {label!r}", f"df[{label!r}]", frame.dtypes.iloc[i]), frame.iloc[:, i])
        for i, label in enumerate(frame.columns)
    ]
    index = frame.index
    if isinstance(index, pd.RangeIndex) and len(frame.columns):
        return places
    for level in range(index.nlevels):
        name, values = index.names[level], index.get_level_values(level)
        where = f"index level {name!r}" if name is not None else f"index level {level}"
        target = "df.index" if index.nlevels == 1 else "the level (df = df.reset_index(level=...))"
        places.append((_Named(where, target, values.dtype), values))
    return places


def _describe(values: Any, spec: _Named) -> dict[str, Any]:
    """The descriptor of one column or index level: how the reader rebuilds its dtype (and values) exactly.

    ``numpy``: pyarrow's own conversion, cast back where Parquet's type differs (datetime64[s] is stored in
    milliseconds); ``native``: a time zone, as pyarrow converts it, in its unit; ``object``: see
    :func:`_describe_object`; ``arrow``: ``pd.ArrowDtype`` of the Arrow type it was written as; ``string``: a
    StringDtype (its name does not say its storage); ``category``: see :func:`_describe_categories`; ``ext``: any
    other extension dtype pandas rebuilds from its name and its ``__from_arrow__``.
    """
    import numpy as np
    import pandas as pd

    dtype = values.dtype
    if isinstance(dtype, np.dtype):
        return _describe_object(values, spec) if dtype == np.dtype(object) else {"numpy": dtype.str}
    if isinstance(dtype, pd.DatetimeTZDtype):
        zone = _encode_tz(dtype.tz)
        if zone is None:
            raise _refusal(
                spec,
                f"its time zone {dtype.tz!r} has no name another process could rebuild it from",
                f"Convert it to a zone by name, e.g. {spec.target} = {spec.target}.dt.tz_convert('Europe/Paris')",
            )
        return {"native": "datetimetz", "unit": dtype.unit, "tz": zone}
    if isinstance(dtype, pd.CategoricalDtype):
        return _describe_categories(dtype, spec)
    if isinstance(dtype, pd.ArrowDtype):
        return {"arrow": True}
    if isinstance(dtype, pd.StringDtype):
        return {"string": dtype.storage, "na": "NA" if dtype.na_value is pd.NA else "nan"}
    name = str(dtype)
    try:
        rebuilt = pd.api.types.pandas_dtype(name)
    except (TypeError, ValueError, NotImplementedError):
        rebuilt = None
    if rebuilt is None or rebuilt != dtype or not hasattr(rebuilt, "__from_arrow__"):
        raise _refusal(spec, f"pandas cannot rebuild the dtype {name!r} from Arrow data", _remedy(spec))
    return {"ext": name}


def _encode_tz(tz: Any) -> dict[str, Any] | None:
    """A time zone as JSON naming it the way its own library does (zoneinfo, pytz, dateutil, datetime), so the
    reader rebuilds the same kind of tzinfo; None for one without such a name (dateutil's tzlocal)."""
    import datetime as dt

    module = type(tz).__module__.split(".")[0]
    offset = tz.utcoffset(None)
    if isinstance(tz, dt.timezone):
        name = tz.tzname(None)
        return {"timezone": offset.total_seconds(), "name": None if dt.timezone(offset).tzname(None) == name else name}
    if module == "zoneinfo" and getattr(tz, "key", None):
        return {"zoneinfo": tz.key}
    if module == "pytz":
        zone = getattr(tz, "zone", None)
        return {"pytz": zone} if zone else {"pytz_offset": offset.total_seconds() // 60}
    if module == "dateutil":
        kind = type(tz).__name__
        if kind == "tzutc":
            return {"dateutil": "tzutc"}
        if kind == "tzoffset":
            return {"dateutil_offset": offset.total_seconds(), "name": tz.tzname(None)}
        filename = getattr(tz, "_filename", None)  # what pandas itself names a dateutil zone by
        if kind == "tzfile" and filename:
            return {"dateutil": filename.split("zoneinfo/")[-1]}
    return None


def _decode_tz(zone: dict[str, Any]) -> Any:
    import datetime as dt

    if "timezone" in zone:
        offset = dt.timedelta(seconds=zone["timezone"])
        return dt.timezone(offset) if zone["name"] is None else dt.timezone(offset, zone["name"])
    if "zoneinfo" in zone:
        import zoneinfo

        return zoneinfo.ZoneInfo(zone["zoneinfo"])
    if "pytz" in zone or "pytz_offset" in zone:
        import pytz

        return pytz.timezone(zone["pytz"]) if "pytz" in zone else pytz.FixedOffset(int(zone["pytz_offset"]))
    from dateutil import tz as dateutil_tz

    if "dateutil_offset" in zone:
        return dateutil_tz.tzoffset(zone["name"], zone["dateutil_offset"])
    return dateutil_tz.tzutc() if zone["dateutil"] == "tzutc" else dateutil_tz.gettz(zone["dateutil"])


@functools.cache
def _null_kinds() -> dict[type, str]:
    """How the layout names a missing value of an object column, by its type (pandas' NA and NaT are singletons);
    a missing value of any other type (Decimal('NaN'), numpy's float64 NaN) Parquet could not give back."""
    import pandas as pd

    return {type(None): "None", float: "nan", type(pd.NA): "NA", type(pd.NaT): "NaT"}


def _null_value(kind: str | None) -> Any:
    import pandas as pd

    return {"None": None, "nan": float("nan"), "NA": pd.NA, "NaT": pd.NaT}.get(kind or "None")


def _describe_object(values: Any, spec: _Named) -> dict[str, Any]:
    """An object column: the one kind of missing value it holds (Parquet has one null), and whether its values are
    text (Arrow's string or binary, read back as they are) or other Python values, read back through Arrow's
    to_pylist or to_pandas, whichever gives them back (chosen and checked as the slices are encoded)."""
    import numpy as np
    import pandas as pd

    array = np.asarray(values, dtype=object)
    missing = pd.isna(array)
    # By type (map(type) runs in C): a million values are classified in milliseconds.
    types = set(map(type, array[missing])) if missing.any() else set()
    kinds = {_null_kinds().get(t) for t in types}
    if None in kinds:
        odd = next(v for v in array[missing] if type(v) not in _null_kinds())
        raise _refusal(
            spec,
            f"it holds the missing value {odd!r} ({type(odd).__name__}), which Parquet would give back as None",
            f"Use None for missing values ({spec.target} = {spec.target}.where({spec.target}.notna(), None))",
        )
    if len(kinds) > 1:
        raise _refusal(
            spec,
            f"it holds missing values of different kinds ({', '.join(sorted(str(k) for k in kinds))}), which "
            "Parquet stores as one null",
            f"Use one kind of missing value, e.g. None: {spec.target} = "
            f"{spec.target}.where({spec.target}.notna(), None)",
        )
    present = set(map(type, array[~missing]))
    text = present <= {str} or present <= {bytes}  # numpy's str_ is not str: it goes the checked way
    return {"object": next(iter(kinds), None), "values": "text" if text else "python"}


def _describe_categories(dtype: Any, spec: _Named) -> dict[str, Any]:
    """A categorical: ordered or not, and all its categories in order (unused ones too) as an Arrow IPC stream with
    their own descriptor. Parquet keeps only the values, and gives back a dictionary only for text."""
    import base64

    import pyarrow as pa

    try:
        named = _Named(f"{spec.where} categories", f"{spec.target}.cat.categories", dtype.categories.dtype)
        categories = _Field(named, dtype.categories)
    except UnsupportedFrameError as exc:
        reason = f"its categories (dtype {dtype.categories.dtype}) cannot be kept ({exc})"
        raise _refusal(spec, reason, _remedy(spec)) from exc
    try:
        table = pa.table({"categories": pa.array(dtype.categories, from_pandas=True)})
    except _arrow_errors() as exc:
        raise _refusal(spec, f"Arrow cannot hold its categories ({_reason(exc)})", _remedy(spec)) from exc
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    encoded = base64.b64encode(sink.getvalue().to_pybytes()).decode("ascii")
    return {"category": encoded, "ordered": bool(dtype.ordered), "categories": categories.descriptor}


def _encode_name(name: Any) -> Any:
    """An index or column-axis name as JSON that gives it back exactly (tuples and non-str scalars included)."""
    if isinstance(name, tuple):
        return {"tuple": [_encode_name(part) for part in name]}
    if name is None or isinstance(name, (str, bool, int, float)):
        return {"value": name}
    raise TypeError(f"{name!r} of type {type(name).__name__}")


def _decode_name(encoded: Any) -> Any:
    if "tuple" in encoded:
        return tuple(_decode_name(part) for part in encoded["tuple"])
    return encoded["value"]


def _fields(frame: Any) -> tuple[list[_Field], list[_Field]]:
    """The frame's data columns and index levels, described (refused here when no descriptor can rebuild one)."""
    fields = [_Field(named, values) for named, values in _places(frame)]
    return fields[: frame.shape[1]], fields[frame.shape[1] :]


def _name_fields(schema: Any, columns: list[_Field], levels: list[_Field]) -> None:
    """Give each field its Arrow field name, from the schema's pandas metadata."""
    meta = schema.pandas_metadata or {}
    index_fields = [c for c in meta.get("index_columns", []) if isinstance(c, str)]
    data_fields = [c["field_name"] for c in meta.get("columns", []) if c.get("field_name") not in index_fields]
    for spec, field in zip(columns, data_fields, strict=True):
        spec.field = field
    for spec, field in zip(levels, index_fields, strict=True):
        spec.field = field


def _layout(frame: Any, columns: list[_Field], levels: list[_Field]) -> dict[str, Any]:
    """The layout the schema carries (:data:`LAYOUT_KEY`): descriptors, names, freq, the column axis, flags."""
    import numpy as np
    import pandas as pd

    index, axis = frame.index, frame.columns
    try:
        names = [_encode_name(n) for n in index.names]
        axis_names = [_encode_name(n) for n in axis.names]
    except TypeError as exc:
        raise UnsupportedFrameError(
            f"DataFrame index or column axis has the name {exc}, which Parquet cannot keep. Rename it to a str, "
            "int, float or a tuple of them (df.index.names = [...], df.columns.names = [...])."
        ) from None
    layout: dict[str, Any] = {
        "version": LAYOUT_VERSION,
        "columns": [c.descriptor for c in columns],
        "index": [lv.descriptor for lv in levels],
        "index_names": names,
        "column_names": axis_names,
    }
    if isinstance(index, pd.MultiIndex):
        # A level with missing values reads back as values of another dtype (ints as floats): keep the level's.
        layout["level_dtypes"] = [
            level.dtype.str if isinstance(level.dtype, np.dtype) and level.dtype != object else None
            for level in index.levels
        ]
    if isinstance(index, (pd.DatetimeIndex, pd.TimedeltaIndex)) and index.freq is not None:
        layout["freq"] = index.freqstr
    if isinstance(axis, pd.RangeIndex):
        layout["column_range"] = [axis.start, axis.stop, axis.step]
    elif axis.nlevels == 1:
        layout["column_dtype"] = {"numpy": axis.dtype.str} if isinstance(axis.dtype, np.dtype) else None
        if isinstance(axis.dtype, pd.StringDtype):
            layout["column_dtype"] = {
                "string": axis.dtype.storage,
                "na": "NA" if axis.dtype.na_value is pd.NA else "nan",
            }
    if not frame.flags.allows_duplicate_labels:
        layout["allows_duplicate_labels"] = False
    return layout


def _attrs(frame: Any) -> bytes | None:
    """``DataFrame.attrs`` as JSON that gives them back exactly, or the refusal saying what cannot be kept."""
    if not frame.attrs:
        return None
    try:
        text = json.dumps(frame.attrs, allow_nan=True)
        same = _same_python(json.loads(text), frame.attrs)
    except (TypeError, ValueError) as exc:
        text, same = "", str(exc)
    if same is not True:
        raise UnsupportedFrameError(
            f"DataFrame.attrs {frame.attrs!r:.200} cannot be stored exactly as JSON ({same}). Keep only str keys "
            "and JSON values (lists, not tuples) in df.attrs, or clear them (df.attrs = {}) before returning the frame."
        )
    return text.encode()


# ---- object columns: the values that go in come back ----------------------------------------------------------


def _same_python(got: Any, expected: Any) -> bool | str:
    """True when ``got`` is ``expected`` exactly: the same type at every level, the same value (NaN is NaN, -0.0 is
    not 0.0, Decimal('1.5') is not Decimal('1.50'), a time zone is the same tzinfo); else what differs."""
    import numpy as np

    if type(got) is not type(expected):
        return f"{type(expected).__name__} {expected!r:.60} comes back as {type(got).__name__} {got!r:.60}"
    if isinstance(expected, dict):
        if list(got) != list(expected):
            return f"the dict {expected!r:.60} comes back as {got!r:.60}"
        return next((d for k in expected if (d := _same_python(got[k], expected[k])) is not True), True)
    if isinstance(expected, (list, tuple)):
        if len(got) != len(expected):
            return f"{expected!r:.60} comes back as {got!r:.60}"
        return next((d for a, b in zip(got, expected, strict=True) if (d := _same_python(a, b)) is not True), True)
    if isinstance(expected, np.ndarray):
        if got.dtype != expected.dtype or got.shape != expected.shape:
            return f"the array {expected!r:.60} comes back as {got!r:.60}"
        return _same_python(got.tolist(), expected.tolist())
    if isinstance(expected, (set, frozenset)):
        return True if got == expected else f"{expected!r:.60} comes back as {got!r:.60}"
    return True if got is expected or repr(got) == repr(expected) else f"{expected!r:.60} comes back as {got!r:.60}"


#: Arrow's two conversions of a column to Python values, in the order they are tried.
_DECODERS: dict[str, Callable[[Any], list[Any]]] = {
    "pylist": lambda chunked: chunked.to_pylist(),
    "pandas": lambda chunked: list(chunked.to_pandas()),
}


def _python_mismatch(chunked: Any, values: Any, decoder: str) -> str | None:
    """How ``decoder`` fails to give back the non-missing ``values`` of an object column, or None."""
    import numpy as np
    import pandas as pd

    array = np.asarray(values, dtype=object)
    try:
        decoded = _DECODERS[decoder](chunked)
    except _arrow_errors() as exc:
        return f"Arrow cannot convert it back: {_reason(exc)}"
    for row in np.flatnonzero(~pd.isna(array)):
        same = _same_python(decoded[row], array[row])
        if same is not True:
            return f"row {row}: {same}"
    return None


def _check_python(table: Any, part: Any, fields: Sequence[tuple[_Field, Callable[[Any], Any]]]) -> None:
    """Each object field of Python values gives this slice's values back through its decoder, the first of
    :data:`_DECODERS` that gives back the first slice's; else the push is refused naming the field."""
    for spec, get in fields:
        descriptor = spec.descriptor
        if descriptor.get("values") != "python" or spec.field is None:
            continue
        chunked = table.column(spec.field)
        if "decoder" in descriptor:
            mismatch = _python_mismatch(chunked, get(part), descriptor["decoder"])
        else:
            tried = {decoder: _python_mismatch(chunked, get(part), decoder) for decoder in _DECODERS}
            found = [decoder for decoder, failed in tried.items() if failed is None]
            mismatch = None if found else tried["pylist"]
            descriptor["decoder"] = found[0] if found else "pylist"
        if mismatch:
            raise _refusal(
                spec,
                f"Parquet cannot give its values back as they went in ({mismatch})",
                "Convert the values to ones Parquet keeps: lists rather than tuples or sets, dicts with the same str "
                "keys in the same order, ints within 64 bits, Decimals of one scale, datetimes of one time zone "
                f"(e.g. {spec.target} = {spec.target}.map(list, na_action='ignore')), or to text "
                f"({spec.target} = {spec.target}.astype(str))",
            )


# ---- writing ------------------------------------------------------------------------------------------------------


def _slices(frame: Any, schema: Any, specs: list[_Field]) -> Iterator[tuple[Any, Any]]:
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
            except _arrow_errors() as exc:
                raise _explained(frame, exc) from exc
        if not table.schema.equals(schema, check_metadata=False):
            table = _cast_slice(table, schema, specs, start)  # e.g. an object column all None here (null type)
        yield part, table


def _cast_slice(table: Any, schema: Any, specs: list[_Field], start: int) -> Any:
    """A slice's table under the whole frame's schema, or the refusal naming the column whose values here convert
    to an Arrow type the rest of the column's cannot be (ints in these rows, floats in others)."""
    try:
        return table.cast(schema)
    except _arrow_errors() as exc:
        for spec in specs:
            wanted = schema.field(spec.field).type if spec.field is not None else None
            found = table.schema.field(spec.field).type if spec.field is not None else None
            if wanted is not None and found != wanted:
                try:
                    table.column(spec.field).cast(wanted)
                except _arrow_errors() as column_exc:
                    reason = (
                        f"from row {start} its values convert to the Arrow type {found}, the column's first rows to "
                        f"{wanted} ({_reason(column_exc)})"
                    )
                    raise _refusal(
                        spec, reason, f"Give it one type, e.g. {spec.target} = {spec.target}.astype(str)"
                    ) from exc
        raise


def write_parquet(frame: Any, sink: Any, codec: str) -> None:
    """Encode ``frame`` (index and column names included) as one Parquet file into the binary file ``sink``.

    Refused with :class:`UnsupportedFrameError` (naming the column, its dtype and what to do), before the first
    byte reaches ``sink``, when the frame's head would not come back exactly; while encoding, when an object
    column's values would not. Errors of ``sink`` itself (the upload) pass through unchanged.
    """
    whole = _check_round_trip(frame, codec)
    if whole is not None:  # the head was the whole frame: its checked file is the one to write
        sink.write(whole)
        return
    try:
        _write(frame, sink, codec)
    except XComS3Error:
        raise
    except _arrow_errors() as exc:  # raised by Arrow or Parquet for what the head did not show
        raise _culprit(frame.iloc[:SAMPLE_ROWS], codec, exc) from exc


def _write(frame: Any, sink: Any, codec: str) -> None:
    """Encode ``frame`` under its layout; any refusal the layout or the object checks make is raised here."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    attrs = _attrs(frame)  # first: pyarrow warns about attrs it cannot serialize, which are refused here
    columns, levels = _fields(frame)
    schema = _schema(frame)
    _name_fields(schema, columns, levels)
    layout = _layout(frame, columns, levels)
    schema = _with_range_index(_with_empty_categories(schema, frame), frame)
    if attrs is not None:
        schema = schema.with_metadata({**(schema.metadata or {}), ATTRS_KEY: attrs})
    checked: list[tuple[_Field, Callable[[Any], Any]]] = [
        (c, functools.partial(_column_of, i)) for i, c in enumerate(columns)
    ]
    checked += [(lv, functools.partial(_level_of, i)) for i, lv in enumerate(levels)]
    slices = _slices(frame, schema, [*columns, *levels])
    part, first = next(slices)
    _check_python(first, part, checked)  # chooses each object field's decoder, which the layout records
    schema = schema.with_metadata({**(schema.metadata or {}), LAYOUT_KEY: json.dumps(layout).encode()})
    compression = None if codec == "none" else codec
    with pq.ParquetWriter(sink, schema, compression=compression, use_dictionary=dictionary_columns(first)) as writer:
        writer.write_table(first, row_group_size=max(first.num_rows, 1))
        del first
        for part, table in slices:
            _check_python(table, part, checked)
            writer.write_table(table, row_group_size=max(table.num_rows, 1))
            del table
    # The slices' Arrow memory is free now; hand it back to the OS rather than keep it next to what comes next.
    pa.default_memory_pool().release_unused()


def _column_of(position: int, part: Any) -> Any:
    return part.iloc[:, position]


def _level_of(level: int, part: Any) -> Any:
    return part.index.get_level_values(level)


def _check_round_trip(frame: Any, codec: str) -> Any:
    """The first :data:`SAMPLE_ROWS` rows of ``frame`` go through this writer, Parquet and this reader: a dtype,
    index, name or value that would not come back exactly refuses the push, naming what and why.

    Whatever Parquet, Arrow or pandas cannot hold shows up here, whatever its dtype: no list of unsupported dtypes
    is kept. Object columns are compared value by value on every slice as well (:func:`_check_python`).
    Returns the encoded file when the head is the whole frame (so it is encoded once), else None.
    """
    import pyarrow as pa

    head = frame.iloc[:SAMPLE_ROWS]
    head.attrs = frame.attrs
    try:
        sink = pa.BufferOutputStream()
        _write(head, sink, codec)
        encoded = sink.getvalue()
        back = parquet_to_frame(encoded)
    except UnsupportedFrameError:
        raise
    except Exception as exc:  # whatever Arrow, Parquet or pandas raise: the column at fault is named instead
        raise _culprit(head, codec, exc) from exc
    difference = _difference(back, head)
    if difference is not None:
        raise difference
    return encoded if len(head) == len(frame) else None


def _survives(frame: Any, codec: str) -> Exception | None:
    """What a small frame's round trip raises, or None."""
    import pyarrow as pa

    try:
        sink = pa.BufferOutputStream()
        _write(frame, sink, codec)
        parquet_to_frame(sink.getvalue())
    except Exception as exc:
        return exc
    return None


def _culprit(head: Any, codec: str, exc: Exception) -> UnsupportedFrameError:
    """The refusal for a head that failed its round trip: the first column, else index level, failing alone."""
    import pandas as pd

    places = _places(head)
    for position in range(head.shape[1]):
        alone = head.iloc[:, [position]].set_axis(pd.RangeIndex(len(head)), axis=0)
        failed = _survives(alone, codec)
        if isinstance(failed, UnsupportedFrameError):
            return failed
        if failed is not None:
            named = places[position][0]
            return _refusal(named, _reason(failed), _remedy(named))
    for named, values in places[head.shape[1] :]:
        failed = _survives(pd.DataFrame({"v": range(len(values))}, index=pd.Index(values)), codec)
        if failed is not None:
            return _refusal(named, _reason(failed), _remedy(named))
    return UnsupportedFrameError(
        f"DataFrame cannot be stored as Parquet: {_reason(exc)}. No column or index level fails alone: convert the "
        "columns of unusual dtypes to plain ones (e.g. df[c] = df[c].astype(str)) before returning the frame."
    )


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


def _difference(got: Any, expected: Any) -> UnsupportedFrameError | None:
    """The refusal naming the first column, index level, label or attribute where ``got`` is not ``expected``."""
    import pandas as pd

    testing = pd.testing
    columns, levels = _fields(expected)
    for position, spec in enumerate(columns):
        try:
            testing.assert_series_equal(
                got.iloc[:, position], expected.iloc[:, position], check_exact=True, check_names=False,
                check_index=False, check_categorical=True,
            )  # fmt: skip
            if str(got.dtypes.iloc[position]) != str(spec.dtype):
                raise AssertionError(f"dtype {spec.dtype} comes back as {got.dtypes.iloc[position]}")
            _assert_same_objects(got.iloc[:, position], expected.iloc[:, position])
        except AssertionError as exc:
            return _refusal(spec, _changed(exc), _remedy(spec))
        except Exception as exc:  # pandas cannot even compare it (e.g. an ArrowDtype of string_view)
            reason = f"pandas cannot compare its values ({_reason(exc)}), so its round trip cannot be checked"
            return _refusal(spec, reason, _remedy(spec))
    index = expected.index
    try:
        testing.assert_index_equal(got.index, index, exact=True, check_exact=True, check_names=True)
        for level in range(index.nlevels):
            _assert_same_objects(got.index.get_level_values(level), index.get_level_values(level))
        if getattr(index, "freq", None) != getattr(got.index, "freq", None):
            raise AssertionError(f"freq {index.freq} comes back as {got.index.freq}")
    except Exception as exc:  # AssertionError, or pandas cannot compare this index
        same = [str(got.index.get_level_values(i).dtype) == str(level.dtype) for i, level in enumerate(levels)]
        if not levels:
            return UnsupportedFrameError(f"DataFrame index cannot be stored exactly: {_changed(exc)}.")
        culprit = levels[same.index(False)] if False in same else levels[0]
        return _refusal(culprit, _changed(exc), _remedy(culprit))
    try:
        testing.assert_index_equal(got.columns, expected.columns, exact=True, check_exact=True, check_names=True)
    except AssertionError as exc:
        return UnsupportedFrameError(
            f"DataFrame column labels (dtype {expected.columns.dtype}) cannot be stored exactly: {_changed(exc)}. "
            "Use str labels (df.columns = df.columns.map(str))."
        )
    return None


def _assert_same_objects(got: Any, expected: Any) -> None:
    """The values of an object column come back as the same Python values (pandas' equality takes None for NaN
    and 1 for 1.0)."""
    import numpy as np

    if expected.dtype == np.dtype(object):
        for row, (a, b) in enumerate(zip(got, expected, strict=True)):
            same = _same_python(a, b)
            if same is not True:
                raise AssertionError(f"row {row}: {same}")


def _changed(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"it would come back changed ({text[:300]})"


def _refusal(spec: _Named, reason: str, remedy: str) -> UnsupportedFrameError:
    return UnsupportedFrameError(
        f"DataFrame {spec.where} (dtype {spec.dtype}) cannot be stored as Parquet exactly: {reason}. {remedy}."
    )


def _remedy(spec: _Named) -> str:
    """What to do with a column (or index level) whose dtype cannot be kept: the usual conversion for its kind."""
    import pandas as pd

    target = spec.target
    if isinstance(spec.dtype, pd.SparseDtype):
        return f"Convert it to a dense dtype before returning the frame: {target} = {target}.sparse.to_dense()"
    if getattr(spec.dtype, "kind", "") == "c":
        return f"Store the real and imaginary parts as two float columns ({target}.to_numpy().real and .imag)"
    return f"Convert it to a dtype Parquet keeps before returning the frame, e.g. {target} = {target}.astype(str)"


def frame_to_parquet(frame: Any, codec: str) -> Any:
    """The whole Parquet file of ``frame`` in an Arrow buffer (small frames, tests, tools)."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    write_parquet(frame, sink, codec)
    return sink.getvalue()


# ---- reading ------------------------------------------------------------------------------------------------------


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

    file_metadata = pq.read_metadata(pa.BufferReader(data))
    dedupe = _strings_repeat(file_metadata)
    # What pq.read_table does for one file, with a memory pool of our choosing.
    fragment = ds.ParquetFileFormat().make_fragment(pa.BufferReader(data))
    table = fragment.to_table(memory_pool=_returning_pool())
    del fragment
    # The decoded table owns its memory: drop the file before pandas allocates the frame (on Python 3.11+ this
    # frees it when the caller passed the download straight in, as the backend does), and return its pages.
    del data
    pa.default_memory_pool().release_unused()
    extra = table.schema.metadata or {}
    if LAYOUT_KEY not in extra:
        return _legacy_frame(table, dedupe)
    try:
        layout = json.loads(extra[LAYOUT_KEY])
        plan = _Plan(table, layout, _written_schema(file_metadata))
        # Rebinding ``table`` drops the last reference to the read table, so ``self_destruct`` can free it.
        table = _with_placeholders(table, plan.rebuilt)
        frame = _to_pandas(table, dedupe)
        del table
        return _assemble(frame, plan, layout, extra)
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        # Only a layout that does not match its file gets here: not one this module wrote (the caller says so).
        raise ValueError(f"the Parquet file's {LAYOUT_KEY.decode()} does not match its columns: {exc!r}") from exc


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
    if EMPTY_CATEGORIES_KEY in extra:
        frame = _restore_empty_categories(frame, extra[EMPTY_CATEGORIES_KEY])
    frame = _with_saved_range_index(frame, extra)
    return _restore_object_dtypes(frame, pandas_metadata)


def _with_saved_range_index(frame: Any, extra: dict[bytes, bytes]) -> Any:
    if RANGE_INDEX_KEY in extra:
        import pandas as pd

        start, stop, step, name, range_columns = json.loads(extra[RANGE_INDEX_KEY])
        frame.index = pd.RangeIndex(start, stop, step, name=name)
        if range_columns:
            frame.columns = pd.RangeIndex(0)
    return frame


def _written_schema(file_metadata: Any) -> Any:
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


class _Plan:
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

    if str(column.type) == str(wanted):  # str: Arrow's equality ignores a list's item name, ArrowDtype's does not
        return column
    if pa.types.is_dictionary(wanted) and not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column.cast(wanted.value_type))
    return column.cast(wanted)


def _with_placeholders(table: Any, fields: dict[str, Any]) -> Any:
    """``table`` with each field rebuilt from Arrow replaced by nulls, so pyarrow neither converts it for nothing
    nor chokes on a dtype name its pandas cannot parse (a nested ``ArrowDtype``)."""
    import pyarrow as pa

    if not fields:
        return table
    meta = table.schema.pandas_metadata
    for entry in meta.get("columns", []):
        if entry.get("field_name") in fields:
            entry.update(pandas_type="empty", numpy_type="object", metadata=None)
    for name in fields:
        position = table.schema.get_field_index(name)
        table = table.set_column(position, pa.field(name, pa.null()), pa.nulls(table.num_rows))
    return table.replace_schema_metadata({**(table.schema.metadata or {}), b"pandas": json.dumps(meta).encode()})


def _assemble(frame: Any, plan: _Plan, layout: dict[str, Any], extra: dict[bytes, bytes]) -> Any:
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
    frame = _with_saved_range_index(frame, extra)
    return _finish_frame(frame, layout, extra)


def _column(values: Any, index: Any) -> Any:
    """What ``isetitem`` keeps as it is: an object ndarray as an object Series (pandas 3 would infer ``str``)."""
    import numpy as np
    import pandas as pd

    if isinstance(values, np.ndarray) and values.dtype == np.dtype(object):
        return pd.Series(values, index=index, dtype=object, copy=False)
    return values


def _dtype(descriptor: dict[str, Any], arrow_type: Any) -> Any:
    """The pandas dtype a descriptor records (``arrow_type``: the field's, for an ArrowDtype)."""
    import numpy as np
    import pandas as pd

    if "numpy" in descriptor:
        return np.dtype(descriptor["numpy"])
    if "object" in descriptor:
        return np.dtype(object)
    if "arrow" in descriptor:
        return pd.ArrowDtype(arrow_type)
    if "string" in descriptor:
        if descriptor["na"] == "NA" or descriptor["string"] == "pyarrow_numpy":  # pandas 2.1-2.2's NaN storage
            return pd.StringDtype(descriptor["string"])
        return pd.StringDtype(descriptor["string"], np.nan)
    return pd.api.types.pandas_dtype(descriptor["ext"])


def _from_arrow(chunked: Any, descriptor: dict[str, Any]) -> Any:
    """The pandas values of a stored field, rebuilt from its Arrow data as its descriptor records."""
    import numpy as np
    import pandas as pd

    if "category" in descriptor:
        return _categorical(chunked, descriptor)
    if descriptor.get("values") == "python":
        values = _DECODERS[descriptor.get("decoder", "pylist")](chunked)
        array = np.empty(len(values), dtype=object)
        array[:] = values
        return _with_nulls(array, descriptor["object"])
    if not _rebuilt_from_arrow(descriptor):
        converted = pd.Series(chunked.to_pandas(), copy=False)
        finished = _finish(converted, descriptor)
        return converted.array if finished is None else finished
    dtype = _dtype(descriptor, chunked.type)
    values = dtype.__from_arrow__(chunked)
    wanted = dtype.construct_array_type()
    if type(values) is not wanted:  # pandas 2.3's str (python, NaN) gives a StringArray, not its own class
        values = wanted._from_sequence(values, dtype=dtype)  # the ExtensionArray interface's constructor
    return values


def _with_nulls(array: Any, kind: str | None) -> Any:
    """An object array with Arrow's nulls as the column's own kind of missing value."""
    import numpy as np
    import pandas as pd

    missing = pd.isna(array)
    if missing.any():
        array = np.array(array, dtype=object)
        array[missing] = _null_value(kind)
    return array


def _finish(values: Any, descriptor: dict[str, Any]) -> Any:
    """pyarrow's conversion of a numpy, time zone or text field made exactly the recorded dtype (None: it is).

    A numpy dtype Parquet stores in another unit (datetime64[s] as milliseconds) is cast back; text that pandas 3
    reads as its ``str`` dtype becomes object again, with the column's own kind of missing value.
    """
    import numpy as np

    if "numpy" in descriptor:
        dtype = _dtype(descriptor, None)
        return None if values.dtype == dtype else values.astype(dtype).array
    if "native" in descriptor:  # pyarrow gives the instants; the unit and the tzinfo object are the writer's
        tz = _decode_tz(descriptor["tz"])
        if values.dtype.unit == descriptor["unit"] and repr(values.dtype.tz) == repr(tz):
            return None
        return values.dt.as_unit(descriptor["unit"]).dt.tz_convert(tz).array
    if values.dtype == np.dtype(object) and descriptor["object"] in (None, "None"):
        return None  # pandas 2: pyarrow gives text back as object, with None for nulls
    return _with_nulls(np.asarray(values, dtype=object), descriptor["object"])


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
    codes = []
    for chunk in chunked.chunks:
        if pa.types.is_dictionary(chunk.type):
            mapping = pc.index_in(_storage(chunk.dictionary, value_set.type), value_set=value_set)
            codes.append(pc.take(mapping, chunk.indices))
        else:
            codes.append(pc.index_in(_storage(chunk, value_set.type), value_set=value_set))
    merged = pc.fill_null(pa.chunked_array(codes, type=pa.int32()), -1).to_numpy()
    dtype = pd.CategoricalDtype(categories, ordered=descriptor["ordered"])
    return pd.Categorical.from_codes(np.asarray(merged, dtype="int64"), dtype=dtype)


def _storage(array: Any, kind: Any) -> Any:
    """An array as plain Arrow data (an extension type's storage), cast to ``kind`` if given and different."""
    import pyarrow as pa

    array = array.storage if isinstance(array.type, pa.BaseExtensionType) else array
    return array if kind is None or array.type == kind else array.cast(kind)


def _as_index(values: Any) -> Any:
    """An Index of exactly ``values``' dtype (pandas 3 would infer ``str`` from an object array of text)."""
    import pandas as pd

    return pd.Index(values, dtype=getattr(values, "dtype", None))


def _index(index: Any, plan: _Plan, layout: dict[str, Any]) -> Any:
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

    frame.index.names = [_decode_name(n) for n in layout["index_names"]]
    freq = layout.get("freq")
    if freq is not None:
        frame.index = type(frame.index)(frame.index, freq=freq)
    if "column_range" in layout:
        frame.columns = pd.RangeIndex(*layout["column_range"])
    elif layout.get("column_dtype"):
        wanted = _dtype(layout["column_dtype"], None)
        if frame.columns.dtype != wanted:
            frame.columns = frame.columns.astype(wanted)
    frame.columns.names = [_decode_name(n) for n in layout["column_names"]]
    if layout.get("allows_duplicate_labels") is False:
        frame = frame.set_flags(allows_duplicate_labels=False)
    if ATTRS_KEY in extra:
        frame.attrs = json.loads(extra[ATTRS_KEY])
    return frame


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
#: keep them in: they travel in the file's key-value metadata instead, as an Arrow IPC stream per column. Written
#: still for readers that predate the layout (which carries every categorical's categories).
EMPTY_CATEGORIES_KEY = b"xcom_s3.empty_categories"


def _with_range_index(schema: Any, frame: Any) -> Any:
    import pandas as pd

    index = frame.index
    if len(frame.columns) or not isinstance(index, pd.RangeIndex) or not isinstance(index.name, (str, type(None))):
        return schema
    saved = json.dumps([index.start, index.stop, index.step, index.name, isinstance(frame.columns, pd.RangeIndex)])
    return schema.with_metadata({**(schema.metadata or {}), RANGE_INDEX_KEY: saved.encode()})


def _with_empty_categories(schema: Any, frame: Any) -> Any:
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
            except _arrow_errors():
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


def _explained(frame: Any, exc: Exception) -> Exception:
    """The refusal naming the first column (else index level) pyarrow cannot convert, its dtype and why; ``exc``
    itself when none fails alone (the caller then finds the culprit by a round trip)."""
    import pyarrow as pa

    for named, values in _places(frame):
        try:
            pa.array(values.array, from_pandas=True)  # the values alone (a Series' index has its own dtype)
        except _arrow_errors() as column_exc:
            kinds = sorted({type(v).__name__ for v in values.dropna().tolist()[:1000]})
            mixed = f"Give it one type Parquet keeps, e.g. {named.target} = {named.target}.astype(str)"
            remedy = mixed if str(named.dtype) == "object" else _remedy(named)
            return _refusal(named, f"{_reason(column_exc)}; it holds values of types {kinds}", remedy)
    return exc
