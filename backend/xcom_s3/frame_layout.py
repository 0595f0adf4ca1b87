"""The layout: what the schema records (:data:`LAYOUT_KEY`) so the reader rebuilds each column exactly.

For every data column and index level a *descriptor*: the numpy dtype, the extension dtype's name, that a column
is an ``ArrowDtype`` (of the Arrow type it was written as), a StringDtype's storage, a categorical's categories, an
object column's kind of missing value and which of Arrow's two Python conversions (:data:`DECODERS`) gives its
values back; plus the index names, ``freq``, the column axis and the flags. A column no descriptor can rebuild is
refused here, naming it. frame_rebuild reads the layout back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from xcom_s3 import frame_refusals
from xcom_s3.errors import UnsupportedFrameError

#: What pandas needs to rebuild each column and index level (JSON; see the module docstring).
LAYOUT_KEY = b"xcom_s3.layout"

LAYOUT_VERSION = 1


#: pandas' own key for ``DataFrame.attrs`` (``DataFrame.to_parquet`` writes it, ``read_parquet`` restores it).
ATTRS_KEY = b"PANDAS_ATTRS"


class Field(frame_refusals.Named):
    """A stored column of the frame (a data column or an index level): its descriptor and Arrow field name."""

    def __init__(self, named: frame_refusals.Named, values: Any) -> None:
        super().__init__(named.where, named.target, named.dtype)
        self.descriptor = _describe(values, self)
        self.field: str | None = None  #: filled in from the schema (:func:`name_fields`)


def places(frame: Any) -> list[tuple[frame_refusals.Named, Any]]:
    """Every data column and stored index level (a RangeIndex with columns lives in metadata only), with values."""
    import pandas as pd

    dtypes = frame.dtypes  # a new Series on every access
    places = [
        (frame_refusals.Named(f"column {label!r}", f"df[{label!r}]", dtypes.iloc[i]), frame.iloc[:, i])
        for i, label in enumerate(frame.columns)
    ]
    index = frame.index
    if isinstance(index, pd.RangeIndex) and len(frame.columns):
        return places
    for level in range(index.nlevels):
        name, values = index.names[level], index.get_level_values(level)
        where = f"index level {name!r}" if name is not None else f"index level {level}"
        target = "df.index" if index.nlevels == 1 else "the level (df = df.reset_index(level=...))"
        places.append((frame_refusals.Named(where, target, values.dtype), values))
    return places


def _describe(values: Any, spec: frame_refusals.Named) -> dict[str, Any]:
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
            raise frame_refusals.refusal(
                spec, f"its time zone {dtype.tz!r} has no name another process could rebuild it from", _by_name(spec)
            )
        arrow_name = _unreadable_arrow_zone(dtype.tz)
        if arrow_name is not None:
            raise _unreadable_zone_refusal(dtype.tz, arrow_name, spec)
        return {"native": "datetimetz", "unit": dtype.unit, "tz": zone}
    if isinstance(dtype, pd.CategoricalDtype):
        return _describe_categories(dtype, spec)
    if isinstance(dtype, pd.ArrowDtype):
        _refuse_time_of_day(values, spec)
        return {"arrow": True}
    if isinstance(dtype, pd.StringDtype):
        return {"string": dtype.storage, "na": "NA" if dtype.na_value is pd.NA else "nan"}
    name = str(dtype)
    try:
        rebuilt = pd.api.types.pandas_dtype(name)
    except (TypeError, ValueError, NotImplementedError):
        rebuilt = None
    if rebuilt is None or rebuilt != dtype or not hasattr(rebuilt, "__from_arrow__"):
        raise frame_refusals.refusal(
            spec, f"pandas cannot rebuild the dtype {name!r} from Arrow data", frame_refusals.remedy(spec)
        )
    return {"ext": name}


def _encode_tz(tz: Any) -> dict[str, Any] | None:
    """A time zone as JSON naming it the way its own library does (zoneinfo, pytz, dateutil, pendulum, datetime), so the
    reader rebuilds the same kind of tzinfo; None for one without such a name (dateutil's tzlocal)."""
    import datetime as dt
    import zoneinfo

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
    if module == "pendulum":  # Airflow's own: the zone of every date in a task's context
        if type(tz).__name__ == "FixedTimezone":  # pendulum 2's UTC too
            return {"pendulum_offset": offset.total_seconds(), "name": tz.name}
        if isinstance(tz, zoneinfo.ZoneInfo):  # pendulum 3; pyarrow cannot convert pendulum 2's named zones
            return {"pendulum": tz.key}
    return None


def _unreadable_arrow_zone(tz: Any) -> str | None:
    """The name Arrow would store ``tz`` under, when no reader could look it up (a fixed offset named by its owner,
    dateutil's ``tzoffset('X', 3600)`` or pendulum's ``FixedTimezone(3600, name='X')``: Arrow keeps the name)."""
    import pyarrow as pa

    name = str(pa.lib.tzinfo_to_string(tz))
    try:
        pa.lib.string_to_tzinfo(name)
    except (KeyError, ValueError):  # pytz's or zoneinfo's unknown zone; pyarrow's ArrowInvalid without either
        return name
    return None


def _unreadable_zone_refusal(tz: Any, arrow_name: str, spec: frame_refusals.Named) -> UnsupportedFrameError:
    """A fixed offset named by its owner, or a zone file outside a directory named zoneinfo (dateutil's tzfile
    read from a path: Arrow names it by that path, or by what follows its first ``zoneinfo/``)."""
    why = f"Arrow stores its time zone {tz!r} under the name {arrow_name!r}, which names no zone a reader can find"
    offset = tz.utcoffset(None)
    if offset is None:  # a zone with rules: only its name can rebuild it
        return frame_refusals.refusal(spec, why, _by_name(spec))
    return frame_refusals.refusal(
        spec,
        why,
        f"Convert it to the same offset without a name, e.g. {spec.target} = {spec.target}.dt.tz_convert("
        f"datetime.timezone(datetime.timedelta(seconds={int(offset.total_seconds())})))",
    )


def _by_name(spec: frame_refusals.Named) -> str:
    return f"Convert it to a zone by name, e.g. {spec.target} = {spec.target}.dt.tz_convert('Europe/Paris')"


def decode_tz(zone: dict[str, Any]) -> Any:
    """The writer's tzinfo; a pytz zone, where pytz is not installed (pandas 3 dropped it: a pandas 2 writer, a
    pandas 3 reader), as what pandas 3 itself builds from the same name: zoneinfo, UTC and fixed offsets as
    ``datetime.timezone``. The instants are the same; only the tzinfo's library differs."""
    import datetime as dt

    if "timezone" in zone:
        offset = dt.timedelta(seconds=zone["timezone"])
        return dt.timezone(offset) if zone["name"] is None else dt.timezone(offset, zone["name"])
    if "zoneinfo" in zone:
        import zoneinfo

        return zoneinfo.ZoneInfo(zone["zoneinfo"])
    if "pytz" in zone or "pytz_offset" in zone:
        try:
            import pytz
        except ImportError:
            return _pytz_as_pandas_3_builds_it(zone)
        return pytz.timezone(zone["pytz"]) if "pytz" in zone else pytz.FixedOffset(int(zone["pytz_offset"]))
    if "pendulum" in zone or "pendulum_offset" in zone:
        import pendulum
        from pendulum.tz.timezone import FixedTimezone

        if "pendulum" in zone:
            return pendulum.timezone(zone["pendulum"])
        # pendulum's own instance where it matches: pendulum 2 and 3.0 compare zones by identity
        seconds, name = int(zone["pendulum_offset"]), zone["name"]
        known = pendulum.timezone(name) if name == "UTC" else pendulum.tz.fixed_timezone(seconds)  # pendulum 2: UTC
        if isinstance(known, FixedTimezone) and known.offset == seconds and known.name == name:
            return known
        return FixedTimezone(seconds, name=name)
    from dateutil import tz as dateutil_tz

    if "dateutil_offset" in zone:
        return dateutil_tz.tzoffset(zone["name"], zone["dateutil_offset"])
    return dateutil_tz.tzutc() if zone["dateutil"] == "tzutc" else dateutil_tz.gettz(zone["dateutil"])


def _pytz_as_pandas_3_builds_it(zone: dict[str, Any]) -> Any:
    import datetime as dt
    import zoneinfo

    if "pytz_offset" in zone:
        return dt.timezone(dt.timedelta(minutes=zone["pytz_offset"]))
    return dt.timezone.utc if zone["pytz"] == "UTC" else zoneinfo.ZoneInfo(zone["pytz"])


@functools.cache
def _null_kinds() -> dict[type, str]:
    """How the layout names a missing value of an object column, by its type (pandas' NA and NaT are singletons);
    a missing value of any other type (Decimal('NaN'), numpy's float64 NaN) Parquet could not give back."""
    import pandas as pd

    return {type(None): "None", float: "nan", type(pd.NA): "NA", type(pd.NaT): "NaT"}


def null_value(kind: str | None) -> Any:
    """The missing value a layout's kind names (:func:`_null_kinds`); None for "None" and for no kind recorded."""
    import pandas as pd

    missing: dict[str | None, Any] = {"nan": float("nan"), "NA": pd.NA, "NaT": pd.NaT}
    return missing.get(kind)


def _refuse_time_of_day(values: Any, spec: frame_refusals.Named) -> None:
    """A date64 column holding a time of day is refused: Parquet would give it back as midnight."""
    import pyarrow as pa

    if not pa.types.is_date64(values.dtype.pyarrow_dtype):
        return
    reason = frame_refusals.time_of_day(pa.array(values.array))
    if reason:
        timestamps = "pd.ArrowDtype(pa.timestamp('ms'))"
        remedy = f"Keep the time as a timestamp, e.g. {spec.target} = {spec.target}.astype({timestamps})"
        raise frame_refusals.refusal(spec, reason, remedy)


def _describe_object(values: Any, spec: frame_refusals.Named) -> dict[str, Any]:
    """An object column: the one kind of missing value it holds (Parquet has one null), and whether its values are
    text (Arrow's string or binary, read back as they are) or other Python values, read back through Arrow's
    to_pylist or to_pandas, whichever gives them back (chosen and checked as the slices are encoded)."""
    import numpy as np
    import pandas as pd

    array = np.asarray(values)  # an object column's (or level's): object already
    # By type (map(type) runs in C): a million values are classified in milliseconds.
    every = set(map(type, array))
    for text_type in (str, bytes):  # the common case, decided in one pass: text, missing values None if any
        if every <= {text_type, type(None)}:
            return {"object": "None" if type(None) in every else None, "values": "text"}
    missing = pd.isna(array)
    types = set(map(type, array[missing])) if missing.any() else set()
    kinds = {_null_kinds().get(t) for t in types}
    if None in kinds:
        odd = next(v for v in array[missing] if type(v) not in _null_kinds())
        raise frame_refusals.refusal(
            spec,
            f"it holds the missing value {odd!r} ({type(odd).__name__}), which Parquet would give back as None",
            f"Use None for missing values ({spec.target} = {spec.target}.where({spec.target}.notna(), None))",
        )
    if len(kinds) > 1:
        raise frame_refusals.refusal(
            spec,
            f"it holds missing values of different kinds ({', '.join(sorted(str(k) for k in kinds))}), which "
            "Parquet stores as one null",
            f"Use one kind of missing value, e.g. None: {spec.target} = "
            f"{spec.target}.where({spec.target}.notna(), None)",
        )
    present = set(map(type, array[~missing]))
    text = present <= {str} or present <= {bytes}  # numpy's str_ is not str: it goes the checked way
    return {"object": next(iter(kinds), None), "values": "text" if text else "python"}


def _describe_categories(dtype: Any, spec: frame_refusals.Named) -> dict[str, Any]:
    """A categorical: ordered or not, and all its categories in order (unused ones too) as an Arrow IPC stream with
    their own descriptor. Parquet keeps only the values, and gives back a dictionary only for text."""
    import base64

    import pyarrow as pa

    try:
        named = frame_refusals.Named(
            f"{spec.where} categories", f"{spec.target}.cat.categories", dtype.categories.dtype
        )
        categories = Field(named, dtype.categories)
    except UnsupportedFrameError as exc:
        reason = f"its categories (dtype {dtype.categories.dtype}) cannot be kept ({exc})"
        raise frame_refusals.refusal(spec, reason, frame_refusals.remedy(spec)) from exc
    try:
        table = pa.table({"categories": pa.array(dtype.categories, from_pandas=True)})
    except frame_refusals.arrow_errors() as exc:
        raise frame_refusals.refusal(
            spec, f"Arrow cannot hold its categories ({frame_refusals.reason(exc)})", frame_refusals.remedy(spec)
        ) from exc
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


def decode_name(encoded: Any) -> Any:
    if "tuple" in encoded:
        return tuple(decode_name(part) for part in encoded["tuple"])
    return encoded["value"]


def fields(frame: Any) -> tuple[list[Field], list[Field]]:
    """The frame's data columns and index levels, described (refused here when no descriptor can rebuild one)."""
    fields = [Field(named, values) for named, values in places(frame)]
    return fields[: frame.shape[1]], fields[frame.shape[1] :]


def name_fields(schema: Any, columns: list[Field], levels: list[Field]) -> None:
    """Give each field its Arrow field name, from the schema's pandas metadata."""
    meta = schema.pandas_metadata or {}
    index_fields = [c for c in meta.get("index_columns", []) if isinstance(c, str)]
    data_fields = [c["field_name"] for c in meta.get("columns", []) if c.get("field_name") not in index_fields]
    for spec, field in zip(columns, data_fields, strict=True):
        spec.field = field
    for spec, field in zip(levels, index_fields, strict=True):
        spec.field = field


def encoded_names(frame: Any) -> tuple[list[Any], list[Any]]:
    """The index's and the column axis' names as the layout records them, or the refusal naming the one JSON
    cannot give back (checked before pyarrow's conversion, which fails on it too and would blame a column)."""
    try:
        return [_encode_name(n) for n in frame.index.names], [_encode_name(n) for n in frame.columns.names]
    except TypeError as exc:
        raise UnsupportedFrameError(
            f"DataFrame index or column axis has the name {exc}, which Parquet cannot keep. Rename it to a str, "
            "int, float or a tuple of them (df.index.names = [...], df.columns.names = [...])."
        ) from None


def build(frame: Any, columns: list[Field], levels: list[Field]) -> dict[str, Any]:
    """The layout the schema carries (:data:`LAYOUT_KEY`): descriptors, names, freq, the column axis, flags."""
    import numpy as np
    import pandas as pd

    index, axis = frame.index, frame.columns
    names, axis_names = encoded_names(frame)
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


#: Arrow's two conversions of a column to Python values, in the order they are tried.
DECODERS: dict[str, Callable[[Any], list[Any]]] = {
    "pylist": lambda chunked: chunked.to_pylist(),
    "pandas": lambda chunked: list(chunked.to_pandas()),
}
