"""The frame catalogue: every dtype pandas has, as named frames built from pandas' own dtype lists.

Why pandas' lists: a hand-picked list of dtypes is what let Arrow-backed, non-nanosecond, categorical and
container columns change on the way back unnoticed (issue 14). The lists are read from the installed pandas when
the catalogue is first built: ``pandas._testing``'s dtype lists (numpy, extension, Arrow), the extension dtype
registry, and ``pandas/conftest.py``'s time zones, index kinds and inferred object dtypes; so a new pandas brings
its new dtypes along, and :func:`unlisted_extension_dtypes` fails the catalogue's test when one has no kind here.

Two tables, each id -> builder:

- :func:`kinds`: column kinds, a dtype with a few sample values (a missing one wherever the dtype has one); a
  column is any selection of them (``Kind.take``), so the hypothesis strategy (``strategies.catalogue_frames``)
  and the explicit examples share them;
- :func:`members`: the explicit examples, each a DataFrame: every kind as a column; every kind but the variants of
  one family (more time zones, fill values, closed sides, nested element types) also as an index and as the
  categories of a categorical with missing values (the property draws every kind in every place); object
  columns holding lists, tuples, dicts, sets, bytes, Decimals, big ints, mixed time zones and the rest of pandas'
  inferred types; pandas' own index kinds, a MultiIndex, names, duplicates, a named column axis;
  ``DataFrame.attrs``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import importlib.util
import sys
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Units pandas supports for datetime64/timedelta64 (pandas/conftest.py's ``unit`` fixture).
UNITS = ("s", "ms", "us", "ns")
#: Period frequencies, one per offset family pandas can hold in a PeriodDtype.
PERIOD_FREQS = ("M", "Y", "Q", "W-SUN", "D", "B", "h", "min", "s", "ms", "us", "ns")
#: Older spellings of the same frequencies (pandas 2.1 knows "H", "T", "S", "L", "U", "N").
OLD_FREQS = {"Y": "A", "h": "H", "min": "T", "s": "S", "ms": "L", "us": "U", "ns": "N"}


@dataclass(frozen=True)
class Kind:
    """A column kind: what a column of that dtype may hold, as a Series of sample values (missing ones included).

    ``source`` names the pandas list the dtype comes from. ``family`` groups kinds that take the same path through
    a writer (ints of every width, a timestamp in every zone, the closed sides of an interval): every kind is an
    explicit example as a column, the first of each family also as an index and as a categorical's categories.
    """

    id: str
    sample: Callable[[], Any]
    source: str
    family: str

    def take(self, picks: Iterable[int]) -> Any:
        """A column of this kind: the sample values at ``picks`` (any length, repeats allowed), same dtype."""
        sample = self.sample()
        positions = [p % len(sample) for p in picks]
        return sample.take(positions).reset_index(drop=True)

    def column(self) -> Any:
        """Every sample value once: the explicit example's column."""
        return self.sample().reset_index(drop=True)


def pandas_lists() -> tuple[Any, Any]:
    """``pandas._testing`` and ``pandas.conftest`` of the installed pandas.

    Importing pandas' conftest registers and loads a hypothesis profile of its own (``ci`` on pandas 2.1, which
    is the name of one of ours): every profile is put back as it was, so the suite keeps running under its own.
    """
    import pandas._testing as tm
    from hypothesis import settings

    if "pandas.conftest" not in sys.modules:
        current = settings._current_profile  # type: ignore[attr-defined]
        saved = {name: settings.get_profile(name) for name in ("default", "dev", "ci", "gate") if _has(name)}
        try:
            _import_pandas_conftest()
        finally:
            for name, profile in saved.items():
                settings.register_profile(name, profile)
            settings.load_profile(current)
    return tm, sys.modules["pandas.conftest"]


def _import_pandas_conftest() -> None:
    """``import pandas.conftest``; pandas 3's names ``HealthCheck.differing_executors`` (hypothesis 6.83+), which an
    entry locked with an older hypothesis lacks: there the same file runs without that one health-check name."""
    try:
        import pandas.conftest  # noqa: F401
    except AttributeError as exc:
        if "differing_executors" not in str(exc):
            raise
        spec = importlib.util.find_spec("pandas.conftest")
        assert spec is not None and spec.origin is not None
        source = Path(spec.origin).read_text().replace("hypothesis.HealthCheck.differing_executors,", "")
        module = types.ModuleType("pandas.conftest")
        module.__file__ = spec.origin
        sys.modules["pandas.conftest"] = module
        exec(compile(source, spec.origin, "exec"), module.__dict__)


def _has(profile: str) -> bool:
    from hypothesis import settings
    from hypothesis.errors import InvalidArgument

    try:
        settings.get_profile(profile)
    except InvalidArgument:
        return False
    return True


# ---- numpy and pandas' own extension dtypes ----------------------------------------------------------------


def _numpy_sample(dtype: Any) -> Any:
    """Sample values of a numpy dtype: its extremes, a missing value where it has one, signed zero, inf."""
    import numpy as np
    import pandas as pd

    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return pd.Series(np.array([info.min, 0, info.max, 1], dtype=dtype))
    if dtype.kind == "f":
        finfo = np.finfo(dtype)
        return pd.Series(np.array([-np.inf, -0.0, np.nan, finfo.max, finfo.tiny, 0.5], dtype=dtype))
    if dtype.kind == "c":
        return pd.Series(np.array([1 + 2j, complex(np.nan, 0), -0.0 + 0j], dtype=dtype))
    if dtype.kind == "b":
        return pd.Series(np.array([True, False, True], dtype=dtype))
    if dtype.kind == "S":
        return pd.Series(np.array([b"ab", b"", b"\x00z"], dtype=dtype))
    if dtype.kind in "mM":
        unit = np.datetime_data(dtype)[0]
        # Beyond the nanosecond range (years 1677-2262) wherever the unit allows.
        far = {"s": 10**11, "ms": 10**14, "us": 10**17}.get(unit, 9 * 10**18)
        raw = np.array([-far, np.iinfo("int64").min, 0, 1, far], dtype="int64")  # int64's minimum is NaT
        return pd.Series(raw.view(dtype))
    if dtype.kind == "O":
        return pd.Series(["a", None, "é", "", "\x00"], dtype=object)
    raise ValueError(f"no sample values for numpy dtype {dtype}")


def _text() -> Any:
    import pandas as pd

    return pd.Series(["a", "é", "", "\x00"], dtype=str)


def _numpy_kinds(tm: Any) -> list[Kind]:
    """Every numpy dtype of ``tm.ALL_NUMPY_DTYPES`` and ``tm.NARROW_NP_DTYPES``, temporal ones in every unit."""
    import numpy as np

    found: dict[str, Kind] = {}
    listed = [(d, "ALL_NUMPY_DTYPES") for d in tm.ALL_NUMPY_DTYPES] + [
        (d, "NARROW_NP_DTYPES") for d in tm.NARROW_NP_DTYPES
    ]
    for name, source in listed:
        dtype = np.dtype(name)
        if dtype.kind == "U" or name is str:
            # pandas keeps numpy text as object (pandas 2) or its "str" dtype (pandas 3): what pandas infers.
            found.setdefault("str", Kind("str", _text, source, "str"))
            continue
        variants = [np.dtype(f"{dtype.kind}8[{unit}]") for unit in UNITS] if dtype.kind in "mM" else [dtype]
        for variant in variants:
            key = "bytes" if variant.kind == "S" else str(variant)
            sampled = np.dtype("S3") if variant.kind == "S" else variant
            family = f"numpy-{variant.kind}" + (f"-{np.datetime_data(variant)[0]}" if variant.kind in "mM" else "")
            found.setdefault(key, Kind(key, functools.partial(_numpy_sample, sampled), source, family))
    return list(found.values())


def _ea_series(values: list[Any], dtype: Any) -> Any:
    import pandas as pd

    return pd.Series(pd.array(values, dtype=dtype))


def _masked_kinds(tm: Any) -> list[Kind]:
    """pandas' nullable integers, floats and booleans, each with a missing value."""
    import numpy as np
    import pandas as pd

    out = []
    for name in tm.ALL_INT_EA_DTYPES:
        info = np.iinfo(pd.api.types.pandas_dtype(name).numpy_dtype)
        values: list[float | None] = [int(info.min), None, int(info.max), 0]
        family = f"masked-{str(name).rstrip('0123456789')}"
        out.append(Kind(str(name), functools.partial(_ea_series, values, name), "ALL_INT_EA_DTYPES", family))
    for name in tm.FLOAT_EA_DTYPES:
        values = [0.5, None, -np.inf, -0.0]
        out.append(Kind(str(name), functools.partial(_ea_series, values, name), "FLOAT_EA_DTYPES", "masked-Float"))
    boolean = functools.partial(_ea_series, [True, None, False], "boolean")
    out.append(Kind("boolean", boolean, "BooleanDtype", "masked-boolean"))
    return out


def _string_kinds() -> list[Kind]:
    """Every StringDtype this pandas builds: each storage, with pd.NA and (pandas 2.3+) NaN as missing value."""
    import numpy as np
    import pandas as pd

    dtypes: list[Any] = []
    for storage in ("python", "pyarrow", "pyarrow_numpy"):
        for args in ((storage, pd.NA), (storage, np.nan), (storage,)):
            try:
                dtype = pd.StringDtype(*args)
            except (TypeError, ValueError, ImportError):
                continue
            if dtype not in dtypes:
                dtypes.append(dtype)
    kinds = []
    for dtype in dtypes:
        na = "NA" if dtype.na_value is pd.NA else "NaN"
        name = f"StringDtype({dtype.storage!r}, na_value={na})"
        values = ["a", None, "é", "", "\x00"]
        kinds.append(Kind(name, functools.partial(_ea_series, values, dtype), "string_dtype fixtures", name))
    return kinds


def _tz_sample(unit: str, tz: Any) -> Any:
    import pandas as pd

    stamps = pd.to_datetime(["2024-03-10 01:30", None, "2024-11-03 05:30", "1970-01-01 00:00"]).as_unit(unit)
    return pd.Series(stamps.tz_localize("UTC").tz_convert(tz))


def _tz_kinds(conftest: Any) -> list[Kind]:
    """datetime64 with a time zone: every unit with UTC and a DST zone, every zone of conftest.TIMEZONES in ns."""
    pairs = [(unit, tz) for unit in UNITS for tz in ("UTC", "US/Eastern")]
    pairs += [("ns", tz) for tz in conftest.TIMEZONES if tz is not None and tz not in ("UTC", "US/Eastern")]
    kinds: dict[str, Kind] = {}
    for unit, tz in pairs:  # pytz.utc and pytz.timezone("UTC") are both <UTC>: one kind
        sample = functools.partial(_tz_sample, unit, tz)
        name = f"datetime64[{unit}, {tz!r}]"
        kinds.setdefault(name, Kind(name, sample, "TIMEZONES x units", f"tz-{unit}"))
    return list(kinds.values())


def _period_sample(freq: str) -> Any:
    import warnings

    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # business-day periods are deprecated on pandas 3
        periods = pd.period_range("2024-01-01", periods=2, freq=freq)
        return pd.Series(pd.array([periods[0], None, periods[1]], dtype=periods.dtype))


def _period_kinds() -> list[Kind]:
    """A PeriodDtype per frequency family, spelled as this pandas spells it."""
    import warnings

    import pandas as pd

    kinds = []
    for freq in PERIOD_FREQS:
        for spelling in (freq, OLD_FREQS.get(freq, freq)):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FutureWarning)  # PeriodDtype[B] is deprecated on pandas 3
                    pd.PeriodDtype(spelling)
                    _period_sample(spelling)
            except (TypeError, ValueError):
                continue
            kinds.append(Kind(f"period[{freq}]", functools.partial(_period_sample, spelling), "PeriodDtype", "period"))
            break
    return kinds


def _interval_sample(subtype: str, closed: str) -> Any:
    import pandas as pd

    breaks: Any
    if subtype.startswith("datetime64"):
        breaks = pd.date_range("2024-01-01", periods=3, tz="UTC" if "UTC" in subtype else None)
    elif subtype.startswith("timedelta64"):
        breaks = pd.to_timedelta([0, 1, 2], unit="h")
    else:
        breaks = pd.Index([0, 1, 3], dtype=subtype)
    intervals = pd.arrays.IntervalArray.from_breaks(breaks, closed=closed)  # type: ignore[arg-type]
    if intervals.dtype.subtype.kind in "iu":  # integer bounds cannot be missing (pandas would make them floats)
        return pd.Series(intervals)
    return pd.Series(pd.arrays.IntervalArray([intervals[0], None, intervals[1]], dtype=intervals.dtype))


def _interval_kinds() -> list[Kind]:
    """IntervalDtype: int64 closed each way pandas allows, and the other subtypes closed right."""
    from pandas._libs.interval import VALID_CLOSED

    subtypes = ("int64", "uint64", "float64", "datetime64[ns]", "datetime64[ns, UTC]", "timedelta64[ns]")
    pairs = [(s, "right") for s in subtypes] + [("int64", closed) for closed in sorted(VALID_CLOSED - {"right"})]
    return [
        Kind(
            f"interval[{s}, {closed}]", functools.partial(_interval_sample, s, closed), "IntervalDtype", f"interval-{s}"
        )
        for s, closed in pairs
    ]


def _sparse_sample(subtype: Any, fill: Any) -> Any:
    import numpy as np
    import pandas as pd

    base = _numpy_sample(np.dtype(subtype))
    return pd.Series(pd.arrays.SparseArray(base.to_numpy(), fill_value=fill))


def _sparse_kinds(tm: Any) -> list[Kind]:
    """SparseDtype over pandas' real numpy dtypes and bool: each with its default fill value, one per numpy kind
    (float, unsigned, signed, bool) also with another."""
    import numpy as np
    import pandas as pd

    kinds: dict[str, Kind] = {}
    seen_kinds: set[str] = set()
    for listed in [*tm.ALL_REAL_NUMPY_DTYPES, *tm.BOOL_DTYPES]:
        subtype = np.dtype(listed)
        first = subtype.kind not in seen_kinds
        seen_kinds.add(subtype.kind)
        fills = [pd.SparseDtype(subtype).fill_value] + ([True if subtype.kind == "b" else 1] if first else [])
        for fill in fills:
            dtype = str(pd.SparseDtype(subtype, fill))
            sample = functools.partial(_sparse_sample, subtype, fill)
            kinds.setdefault(dtype, Kind(dtype, sample, "SparseDtype", "sparse"))
    return list(kinds.values())


def _categorical(values: list[Any], categories: list[Any], ordered: bool) -> Any:
    import pandas as pd

    return pd.Series(pd.Categorical(values, categories=categories, ordered=ordered))


# ---- Arrow types -------------------------------------------------------------------------------------------


def _arrow_values(kind: Any) -> list[Any]:
    """Two Python values of the Arrow type ``kind`` (nested types built from their children's values)."""
    import pyarrow as pa

    t = pa.types
    if t.is_null(kind):
        return [None, None]
    if t.is_boolean(kind):
        return [True, False]
    if t.is_integer(kind):
        width = kind.bit_width
        low, high = (0, 2**width - 1) if t.is_unsigned_integer(kind) else (-(2 ** (width - 1)), 2 ** (width - 1) - 1)
        return [low, high]
    if t.is_floating(kind):
        return [0.5, -0.0]
    if t.is_decimal(kind):
        digits = "1" * (kind.precision - kind.scale)
        return [decimal.Decimal(f"-{digits}.{'5' * kind.scale}"), decimal.Decimal(0).scaleb(-kind.scale)]
    if t.is_fixed_size_binary(kind):
        return [b"\x00" * kind.byte_width, b"z" * kind.byte_width]
    if t.is_binary(kind) or t.is_large_binary(kind) or _is(kind, "is_binary_view"):
        return [b"\x00\xff", b""]
    if t.is_string(kind) or t.is_large_string(kind) or _is(kind, "is_string_view"):
        return ["é\x00", ""]
    if t.is_date(kind):
        return [dt.date(1, 1, 1), dt.date(9999, 12, 31)]
    if t.is_time(kind):
        return [dt.time(0, 0), dt.time(23, 59, 59, 999000 if kind.unit in ("s", "ms") else 999999)]
    if t.is_timestamp(kind):
        return [
            dt.datetime(1970, 1, 1, 0, 0, 1),
            dt.datetime(2262, 4, 1) if kind.unit == "ns" else dt.datetime(9000, 1, 1),
        ]
    if t.is_duration(kind):
        return [dt.timedelta(seconds=-1), dt.timedelta(days=100_000 if kind.unit != "ns" else 100)]
    if t.is_interval(kind):
        return [pa.MonthDayNano([1, 2, 3]), pa.MonthDayNano([0, 0, -1])]
    return _nested_values(kind)


def _nested_values(kind: Any) -> list[Any]:
    import pyarrow as pa

    t = pa.types
    if t.is_fixed_size_list(kind):
        a, b = _arrow_values(kind.value_type)
        return [[a] * kind.list_size, [b, None][: kind.list_size] + [a] * (kind.list_size - 2)]
    if t.is_list(kind) or t.is_large_list(kind) or _is(kind, "is_list_view"):
        a, b = _arrow_values(kind.value_type)
        return [[a, None, b], []]
    if t.is_map(kind):
        key, _ = _arrow_values(kind.key_type)
        return [[(key, _arrow_values(kind.item_type)[0])], []]
    if t.is_struct(kind):
        fields = [kind.field(i) for i in range(kind.num_fields)]
        return [{f.name: _arrow_values(f.type)[which] for f in fields} for which in (0, 1)]
    if t.is_dictionary(kind):
        return _arrow_values(kind.value_type)
    if t.is_union(kind):
        return [_arrow_values(kind.field(0).type)[0], _arrow_values(kind.field(1).type)[0]]
    raise ValueError(f"no sample values for Arrow type {kind}")


def _is(kind: Any, predicate: str) -> bool:
    import pyarrow as pa

    test = getattr(pa.types, predicate, None)
    return bool(test and test(kind))


def _arrow_sample(kind: Any) -> Any:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    if pa.types.is_union(kind):
        children = [pa.array([_arrow_values(kind.field(i).type)[0], None]) for i in (0, 1)]
        types = pa.array([0, 1, 0], type=pa.int8())
        offsets = pa.array([0, 0, 1], type=pa.int32())
        array = pa.UnionArray.from_dense(types, offsets, children, [f.name for f in kind], [0, 1])
    elif pa.types.is_float16(kind):
        array = pa.array(np.array([0.5, -0.0, np.nan], dtype="float16"), type=kind)
    else:
        a, b = _arrow_values(kind)
        array = pa.array([a, None, b], type=kind)
    return pd.Series(pd.arrays.ArrowExtensionArray(array))


def _arrow_types(tm: Any) -> list[tuple[Any, str]]:
    """Every type of ``tm.ALL_PYARROW_DTYPES``, the large, view and fixed-size variants, and each nested family
    (list, large_list, fixed_size_list, struct, map) over a few element types, nested twice too, and
    dictionaries."""
    import pyarrow as pa

    listed = [(kind, "ALL_PYARROW_DTYPES") for kind in tm.ALL_PYARROW_DTYPES]
    extra: list[Any] = [
        pa.null(),
        pa.float16(),
        pa.large_string(),
        pa.large_binary(),
        pa.binary(3),
        pa.decimal128(38, 10),
        pa.decimal256(40, 5),
        pa.month_day_nano_interval(),
        *(getattr(pa, name)() for name in ("string_view", "binary_view") if hasattr(pa, name)),
        pa.dense_union([pa.field("i", pa.int64()), pa.field("s", pa.string())]),
        pa.dictionary(pa.int32(), pa.string()),
        pa.dictionary(pa.int8(), pa.int64()),
    ]
    nested: list[tuple[Any, str]] = []
    elements = [pa.int64(), pa.string(), pa.timestamp("ns", tz="UTC"), pa.decimal128(7, 3), pa.bool_()]
    for element in [*elements, pa.list_(pa.int64()), pa.struct([("x", pa.int64())])]:
        for family in (
            pa.list_(element),
            pa.large_list(element),
            pa.list_(element, 2),
            pa.struct([("a", element), ("b", pa.string())]),
            pa.map_(pa.string(), element),
        ):
            nested.append((family, "nested pyarrow types"))
    return listed + [(kind, "pyarrow types") for kind in extra] + nested


def _arrow_family(kind: Any) -> str:
    """The family of an Arrow type: its name without widths, units and parameters, a time zone kept apart."""
    import re

    family = re.sub(r"\d+|\[.*|\(.*|<.*", "", str(kind))
    return f"arrow-{family}" + ("-tz" if getattr(kind, "tz", None) else "")


def _arrow_kinds(tm: Any) -> list[Kind]:
    kinds: dict[str, Kind] = {}
    for kind, source in _arrow_types(tm):
        name = f"ArrowDtype({kind})"
        kinds.setdefault(name, Kind(name, functools.partial(_arrow_sample, kind), source, _arrow_family(kind)))
    return list(kinds.values())


def _builds(name: str, build: Callable[[], Any]) -> bool:
    """Whether this pandas can build a member at all (it has no float16 or bytes index; pyarrow cannot take rows of
    a binary_view): what they say they do not implement is left out and listed (:func:`unbuildable`); any other
    failure is the catalogue's bug."""
    import pyarrow as pa

    try:
        build()
    except (NotImplementedError, pa.ArrowNotImplementedError) as exc:
        _UNBUILDABLE.append(f"{name}: {type(exc).__name__}: {exc}")
        return False
    return True


#: Members this pandas cannot build (:func:`unbuildable`).
_UNBUILDABLE: list[str] = []


# ---- the kinds ---------------------------------------------------------------------------------------------

#: Kinds also used as an ordered categorical's categories in the explicit examples.
ORDERED = ("int64", "float64", "datetime64[ns]", "str", "ArrowDtype(int64)")


@functools.cache
def kinds() -> dict[str, Kind]:
    """Every column kind, by id: numpy, nullable, string, tz-aware, period, interval, sparse, categorical, Arrow."""
    tm, conftest = pandas_lists()
    found = [
        *_numpy_kinds(tm),
        *_masked_kinds(tm),
        *_string_kinds(),
        *_tz_kinds(conftest),
        *_period_kinds(),
        *_interval_kinds(),
        *_sparse_kinds(tm),
        Kind(
            "category", lambda: _categorical(["b", None, "a"], ["b", "a", "z"], False), "CategoricalDtype", "category"
        ),
        Kind("category[ordered]", lambda: _categorical([1, None, 3], [3, 1, 2], True), "CategoricalDtype", "category"),
        *_arrow_kinds(tm),
    ]
    table: dict[str, Kind] = {}
    for kind in found:
        assert kind.id not in table, f"two column kinds are named {kind.id!r}"
        kind.sample()  # a kind that does not build is the catalogue's bug: fail here, never leave it out quietly
        table[kind.id] = kind
    return table


def categorical_over(kind: Kind, ordered: bool = False) -> Any:
    """A categorical whose categories are ``kind``'s non-missing sample values (reversed, the first one unused),
    with a missing value among its rows; None when pandas cannot make categories of that dtype."""
    import pandas as pd

    sample = kind.sample()
    try:
        categories = pd.Index(sample.dropna().drop_duplicates().array)[::-1]
        if len(categories) < 2 or isinstance(sample.dtype, pd.CategoricalDtype):
            return None
        codes = [len(categories) - 1, -1, 1, len(categories) - 1]
        dtype = pd.CategoricalDtype(categories, ordered=ordered)
        return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype))
    except Exception:  # whatever this pandas raises for categories it cannot hold
        return None


def unlisted_extension_dtypes() -> list[str]:
    """Extension dtypes pandas registers that no kind of the catalogue has (a new pandas added one)."""
    from pandas.core.dtypes.base import _registry

    covered = {type(kind.sample().dtype).__name__ for kind in kinds().values()}
    return sorted({cls.__name__ for cls in _registry.dtypes} - covered)


# ---- object columns ----------------------------------------------------------------------------------------

#: Object contents also used as an index in the explicit examples (hashable values, as an index needs).
OBJECT_INDEXES = ("str", "str-nan", "int", "bytes", "decimal", "tuple", "date", "datetime-naive", "mixed-str-int")


def _object(values: list[Any]) -> Callable[[], Any]:
    def build() -> Any:
        import numpy as np
        import pandas as pd

        array = np.empty(len(values), dtype=object)
        array[:] = values  # element by element: a list value must stay one element
        return pd.Series(array, dtype=object)

    return build


#: pandas 2.1's ``tm.PYTHON_DATA_TYPES``, for pandas 2.0, which lacks the list.
PYTHON_DATA_TYPES = [
    str,
    int,
    float,
    complex,
    list,
    tuple,
    range,
    dict,
    set,
    frozenset,
    bool,
    bytes,
    bytearray,
    memoryview,
]


def object_contents() -> dict[str, Callable[[], Any]]:
    """Object columns: conftest's inferred dtypes, tm.PYTHON_DATA_TYPES, containers, nulls, big ints, time zones."""
    import numpy as np
    import pandas as pd

    tm, conftest = pandas_lists()
    contents: dict[str, list[Any]] = {}
    for name, values in conftest._any_skipna_inferred_dtype:  # its names repeat ("string" twice): numbered
        key = f"inferred:{name}"
        while key in contents:
            key += "+"
        contents[key] = list(values)
    tokyo = dt.timezone(dt.timedelta(hours=9))
    utc = dt.timezone.utc
    contents.update(
        {
            "str": ["a", None, "é"],
            "str-nan": ["a", np.nan, "é"],
            "str-na": ["a", pd.NA, "é"],
            "str-mixed-nulls": ["a", None, np.nan],
            "int": [1, None, -(2**63)],
            "int-beyond-64-bits": [2**70, None, -(2**80)],
            "int-and-float": [1, 2.5, None],
            "float": [0.5, None, -0.0],
            "complex": [1 + 2j, None, 0j],
            "bool": [True, None, False],
            "bytes": [b"a", None, b"\x00\xff"],
            "bytearray": [bytearray(b"a"), None, bytearray()],
            "memoryview": [memoryview(b"a"), None, memoryview(b"")],
            "decimal": [decimal.Decimal("1.50"), None, decimal.Decimal("-2.25")],
            "decimal-scales": [decimal.Decimal("1.5"), None, decimal.Decimal("2.25")],
            "decimal-nan": [decimal.Decimal("1.5"), decimal.Decimal("NaN"), None],
            "list": [[1, 2], None, []],
            "list-of-str": [["a", "b"], None, ["c"]],
            "nested-list": [[[1], [2, 3]], None, [[]]],
            "tuple": [(1, 2), None, ()],
            "list-and-tuple": [[1, 2], (3, 4), None],
            "dict": [{"a": 1, "b": "x"}, None, {"a": 2, "b": "y"}],
            "dict-different-keys": [{"a": 1}, {"b": 2}, None],
            "dict-int-keys": [{1: "a"}, None, {2: "b"}],
            "dict-of-lists": [{"a": [1, 2]}, None, {"a": []}],
            "list-of-dicts": [[{"a": 1}], None, []],
            "ndarray": [np.array([1, 2]), None, np.array([], dtype="int64")],
            "set": [{1, 2}, None, set()],
            "frozenset": [frozenset({1}), None, frozenset()],
            "range": [range(3), None, range(0)],
            "date": [dt.date(2024, 1, 1), None, dt.date(1, 1, 1)],
            "time": [dt.time(1, 2, 3), None, dt.time(0)],
            "timedelta": [dt.timedelta(seconds=1), None, dt.timedelta(days=-1)],
            "datetime-naive": [dt.datetime(2024, 1, 1), None, dt.datetime(1, 1, 1)],
            "datetime-one-zone": [dt.datetime(2024, 1, 1, tzinfo=utc), None, dt.datetime(2024, 6, 1, tzinfo=utc)],
            "datetime-mixed-zones": [dt.datetime(2024, 1, 1, tzinfo=utc), None, dt.datetime(2024, 1, 1, tzinfo=tokyo)],
            "timestamp-one-zone": [pd.Timestamp("2024-01-01", tz="UTC"), None, pd.Timestamp("2024-06-01", tz="UTC")],
            "timestamp-mixed-zones": [
                pd.Timestamp("2024-01-01", tz="UTC"),
                None,
                pd.Timestamp("2024", tz="Asia/Tokyo"),
            ],
            "period": [pd.Period("2024-01", "M"), None, pd.Period("2024-02", "M")],
            "interval": [pd.Interval(0, 1), None, pd.Interval(1, 2)],
            "mixed-str-int": ["a", 1, None],
            "all-none": [None, None, None],
            "all-nan": [np.nan, np.nan, np.nan],
            "empty": [],
        }
    )
    held = {type(v) for values in contents.values() for v in values}
    # pandas 2.1+ lists the Python types it tests object columns with; 2.0 has no such list: the same types then.
    listed = getattr(tm, "PYTHON_DATA_TYPES", PYTHON_DATA_TYPES)
    missing = [t.__name__ for t in listed if t not in held]
    assert not missing, f"no object column of the catalogue holds {missing} (tm.PYTHON_DATA_TYPES)"
    return {f"object:{name}": _object(values) for name, values in contents.items()}


@functools.cache
def column_kinds() -> dict[str, Kind]:
    """Every kind a column can be drawn from: :func:`kinds`, the object contents, and a categorical over each kind
    (its categories that kind's values)."""
    table = dict(kinds())
    for name, build in object_contents().items():
        table[name] = Kind(name, build, "object contents", name)
    for kind in kinds().values():
        if categorical_over(kind) is not None:
            name = f"category:{kind.id}"
            table[name] = Kind(name, functools.partial(categorical_over, kind), kind.source, "category")
    drawable = {name: kind for name, kind in table.items() if len(kind.sample())}  # "object:empty" has no values
    return {
        name: kind for name, kind in drawable.items() if _builds(f"drawn:{name}", functools.partial(kind.take, [1, 0]))
    }


# ---- index kinds and frames --------------------------------------------------------------------------------


def _frame_with_index(index: Any) -> Any:
    import pandas as pd

    return pd.DataFrame({"v": range(len(index))}, index=index)


def index_kinds() -> dict[str, Callable[[], Any]]:
    """pandas' own index kinds (conftest.indices_dict, each also with missing values where conftest makes them)
    and ours: ranges, names, duplicates, freq, MultiIndexes with missing and tz-aware levels."""
    import pandas as pd

    _, conftest = pandas_lists()
    listed = conftest.indices_dict
    table: dict[str, Callable[[], Any]] = {
        f"indices_dict:{key}": functools.partial(index.copy, deep=True) for key, index in listed.items()
    }
    for key, index in listed.items():
        if key in ("range", "empty", "repeats", "bool-dtype") or key.startswith(("int", "uint", "float")):
            continue  # conftest's index_with_missing leaves these out: they cannot hold a missing value
        with_missing = _multi_with_missing if isinstance(index, pd.MultiIndex) else _flat_with_missing
        table[f"indices_dict:{key}-missing"] = functools.partial(with_missing, index)
    named = listed["int64"]
    table.update(
        {
            "range": lambda: pd.RangeIndex(4),
            "range-offset-step-named": lambda: pd.RangeIndex(-5, 7, 3, name="r"),
            "range-descending": lambda: pd.RangeIndex(10, 0, -4),
            "range-empty-named": lambda: pd.RangeIndex(0, name="empty"),
            "named": lambda: named.rename("row"),
            "named-int-name": lambda: named.rename(7),
            "named-tuple-name": lambda: named.rename(("a", 1)),
            "duplicates": lambda: pd.Index(["a", "a", "b"], dtype=object),
            "duplicates-datetime": lambda: pd.DatetimeIndex(["2024-01-01", "2024-01-01", None], name="t"),
            "datetime-freq": lambda: pd.date_range("2024-01-01", periods=3, freq="h", tz="Europe/Paris"),
            "timedelta-freq": lambda: pd.timedelta_range("1 day", periods=3, freq="2D"),
            "multi-named": lambda: pd.MultiIndex.from_arrays(
                [["x", "x", "y"], pd.to_datetime(["2024-01-01", None, "2024-01-02"]).tz_localize("UTC")],
                names=["outer", "when"],
            ),
            "multi-unnamed-missing": lambda: pd.MultiIndex.from_tuples([(None, 1), ("a", 2), ("a", 2)]),
            "multi-partly-named": lambda: pd.MultiIndex.from_arrays([[1, 2], ["a", "b"]], names=["n", None]),
            "multi-range-like-level": lambda: pd.MultiIndex.from_arrays([[0, 1, 2], ["a", "b", "c"]]),
            "multi-levels-share-a-name": lambda: pd.MultiIndex.from_arrays([[1, 2], ["a", "b"]], names=["x", "x"]),
        }
    )
    return table


def _multi_with_missing(index: Any) -> Any:
    """conftest's ``index_with_missing`` for a MultiIndex: the first level missing in the first and last rows."""
    import pandas as pd

    values = index.tolist()
    values[0] = (None, *values[0][1:])
    values[-1] = (None, *values[-1][1:])
    return pd.MultiIndex.from_tuples(values, names=index.names)


def _flat_with_missing(index: Any) -> Any:
    """conftest's ``index_with_missing``: the first and last values missing."""
    values = index.values.copy()
    values[0] = None
    values[-1] = None
    return type(index)(values, copy=False)


def _frame_members() -> dict[str, Callable[[], Any]]:
    """Frame-level members: column axes, shapes, attrs."""
    import pandas as pd

    def base() -> Any:
        return pd.DataFrame({"a": [1, 2, 3], "b": ["x", None, "z"]})

    def relabelled(columns: Any) -> Callable[[], Any]:
        def build() -> Any:
            frame = base()
            frame.columns = columns
            return frame

        return build

    def with_attrs(attrs: dict[Any, Any]) -> Callable[[], Any]:
        def build() -> Any:
            frame = base()
            frame.attrs = attrs
            return frame

        return build

    return {
        "frame:named-column-axis": lambda: base().rename_axis(columns="fields"),
        "frame:int-column-labels": relabelled(pd.Index([10, 20])),
        "frame:range-column-labels": relabelled(pd.RangeIndex(2)),
        "frame:string-column-labels": relabelled(pd.Index(["x", "y"], dtype=pd.StringDtype("python"))),
        "frame:index-named-by-a-date": lambda: base().rename_axis(index=dt.date(2024, 1, 1)),
        "frame:multiindex-columns": relabelled(pd.MultiIndex.from_tuples([("x", 1), ("y", 2)], names=["lv", "n"])),
        "frame:no-rows": lambda: base().iloc[:0],
        "frame:no-columns": lambda: pd.DataFrame(index=pd.Index(["a", "b"], name="k")),
        "frame:no-rows-no-columns": lambda: pd.DataFrame(),
        "frame:empty-category-no-rows": lambda: pd.DataFrame({"c": pd.Categorical([], categories=[3, 1])}),
        "frame:no-duplicate-labels-flag": lambda: base().set_flags(allows_duplicate_labels=False),
        "frame:duplicate-labels": relabelled(pd.Index(["a", "a"])),
        "frame:labels-equal-as-text": relabelled(pd.Index([1, "1"], dtype=object)),
        "frame:labels-of-mixed-types": relabelled(pd.Index(["a", 1], dtype=object)),
        "attrs:json": with_attrs({"source": "db", "rows": 3, "ratio": 0.5, "tags": ["a", "b"], "meta": {"ok": True}}),
        "attrs:empty": with_attrs({}),
        "attrs:nan": with_attrs({"x": float("nan")}),
        "attrs:tuple": with_attrs({"shape": (3, 2)}),
        "attrs:datetime": with_attrs({"when": dt.datetime(2024, 1, 1)}),
        "attrs:int-key": with_attrs({1: "one"}),
    }


@functools.cache
def members() -> dict[str, Callable[[], Any]]:
    """The explicit examples, id -> DataFrame builder (a fresh frame per call); those this pandas cannot build
    (a float16 index) are left out and listed by :func:`unbuildable`."""
    table: dict[str, Callable[[], Any]] = {}
    families: set[str] = set()
    for kind in kinds().values():
        table[f"column:{kind.id}"] = functools.partial(_one_column, kind.column)
        if kind.family in families:
            continue
        families.add(kind.family)
        table[f"index:{kind.id}"] = functools.partial(_as_index, kind)
        if categorical_over(kind) is not None:
            table[f"category:{kind.id}"] = functools.partial(_one_column, functools.partial(categorical_over, kind))
        if kind.id in ORDERED:
            ordered = functools.partial(categorical_over, kind, True)
            table[f"category[ordered]:{kind.id}"] = functools.partial(_one_column, ordered)
    for name, build in object_contents().items():
        table[name] = functools.partial(_one_column, build)
        if name.removeprefix("object:") in OBJECT_INDEXES:
            table[f"index:{name}"] = functools.partial(_object_index, build)
    for name, build in index_kinds().items():
        table[f"index:{name}"] = functools.partial(_index_frame, build)
    table.update(_frame_members())
    return {name: build for name, build in table.items() if _builds(name, build)}


def _one_column(build: Callable[[], Any]) -> Any:
    import pandas as pd

    return pd.DataFrame({"c": build()})


def _as_index(kind: Kind) -> Any:
    import pandas as pd

    return _frame_with_index(pd.Index(kind.column(), name="i"))


def _object_index(build: Callable[[], Any]) -> Any:
    import pandas as pd

    return _frame_with_index(pd.Index(build(), dtype=object, name="i"))


def _index_frame(build: Callable[[], Any]) -> Any:
    return _frame_with_index(build())


def unbuildable() -> list[str]:
    """The members this pandas cannot build, and why (a float16 index, a bytes index)."""
    members()
    return list(_UNBUILDABLE)
