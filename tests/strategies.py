"""Hypothesis strategies named for the domain: XCom values, DataFrames, run contexts and look-alike values.

Values go beyond JSON on purpose (tuples, sets, datetimes, Decimals, bytes, UUIDs, serde-reserved dict keys):
the equivalence property compares against what the running release's default backend does with each.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from hypothesis import strategies as st
from xcom_compat import XComContext

# ---- XCom values -------------------------------------------------------------------------------------------

#: Strings that trip JSON, URL and S3 tooling: NUL, line separators, a lone surrogate (not UTF-8 encodable).
TRICKY_TEXT = [
    "",
    " ",
    "\x00",
    "\u2028",
    "é",
    "😀",
    "\ud800",
    "null",
    "123",
    "true",
    '{"a": 1}',
    "s3:/x",
    "NaN",
]
#: Dict keys serde and our own envelope treat specially.
RESERVED_KEYS = ["__classname__", "__version__", "__data__", "__var", "__type", "__xcom_s3__", "kind", "uri"]


def _timezones() -> st.SearchStrategy[dt.tzinfo]:
    """Fixed offsets and a zone with DST. No fallback without a tz database: the frame columns' zones need one too,
    and a strategy that quietly dropped its DST zone would leave those datetimes untested."""
    from zoneinfo import ZoneInfo

    return st.sampled_from(
        [dt.timezone.utc, dt.timezone(dt.timedelta(hours=5, minutes=30)), ZoneInfo("America/New_York")]
    )


def texts() -> st.SearchStrategy[str]:
    return st.one_of(st.text(max_size=20), st.sampled_from(TRICKY_TEXT))


def _scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**63),
        st.integers(),  # big ints: JSON has no limit, serde may
        st.floats(),  # NaN and +-inf included: JSON text allows them, the 3.x transport does not
        texts(),
    )


def _hashables() -> st.SearchStrategy[Any]:
    return st.one_of(st.integers(min_value=-1000, max_value=1000), st.text(max_size=8))


def _extras() -> st.SearchStrategy[Any]:
    """Non-JSON values some releases' default backends round-trip and others reject."""
    return st.one_of(
        st.datetimes(timezones=st.one_of(st.none(), _timezones()), allow_imaginary=False),
        st.dates(),
        st.timedeltas(),
        st.decimals(allow_nan=False, places=None),
        st.binary(max_size=8),
        st.uuids(),
        st.sets(_hashables(), max_size=4),
        st.frozensets(_hashables(), max_size=4),
    )


def xcom_values(*, extras: bool = True, max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Nested XCom values: JSON-ish scalars, lists, dicts, tuples, and (``extras``) non-JSON leaves."""
    leaves = st.one_of(_scalars(), _extras()) if extras else _scalars()
    keys: st.SearchStrategy[Any] = st.one_of(texts(), st.sampled_from(RESERVED_KEYS))
    if extras:
        keys = keys | st.integers(min_value=-5, max_value=5)  # int keys: every release turns them into strings

    def containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        options = [st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)]
        if extras:
            options.append(st.lists(children, max_size=3).map(tuple))
        return st.one_of(*options)

    return st.recursive(leaves, containers, max_leaves=max_leaves)


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Values every release stores and returns unchanged (plain JSON, finite floats, string keys)."""
    leaves = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text()
    )
    return st.recursive(
        leaves,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
        max_leaves=max_leaves,
    )


def sized_values() -> st.SearchStrategy[Any]:
    """JSON values with a long string inside, so sizes spread over a few hundred bytes to a few KB."""
    return st.tuples(json_values(max_leaves=6), st.text(min_size=0, max_size=2000)).map(
        lambda pair: {"data": pair[0], "pad": pair[1]}
    )


# ---- run contexts ------------------------------------------------------------------------------------------

#: Pieces real ids contain and key schemes trip over.
ID_PIECES = [
    "/",
    " ",
    "+",
    ":",
    "%",
    ".",
    "..",
    "~",
    "?",
    "#",
    "%2F",
    "é",
    "日本",
    "manual__2024-01-01T00:00:00+00:00",
]


def ids(min_size: int = 1) -> st.SearchStrategy[str]:
    """An id: unicode, spaces, slashes, ``+``, ``:``, percent signs and dot segments."""
    piece = st.one_of(st.text(min_size=1, max_size=6), st.sampled_from(ID_PIECES))
    return st.lists(piece, min_size=min_size, max_size=4).map("".join)


def run_ids() -> st.SearchStrategy[str]:
    stamps = st.datetimes(min_value=dt.datetime(2000, 1, 1), timezones=st.just(dt.timezone.utc))
    kinds = st.sampled_from(["manual", "scheduled", "backfill", "asset_triggered"])
    generated = st.builds(lambda kind, stamp: f"{kind}__{stamp.isoformat()}", kinds, stamps)
    return st.one_of(generated, ids())


def contexts(*, key: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[XComContext]:
    """A complete run context as 2.3+/3.x pass it: map_index -1 when unmapped, else 0..n."""
    return st.builds(
        XComContext,
        key=key if key is not None else st.one_of(st.just("return_value"), ids()),
        task_id=ids(),
        dag_id=ids(),
        run_id=run_ids(),
        map_index=st.integers(min_value=-1, max_value=2000),
    )


def context_tuple(ctx: XComContext) -> tuple[Any, ...]:
    """The fields that identify an XCom (what must map to one object, and only one)."""
    return (ctx.dag_id, ctx.run_id, ctx.task_id, ctx.map_index, ctx.key)


# ---- look-alikes -------------------------------------------------------------------------------------------


def lookalike_strings() -> st.SearchStrategy[str]:
    rest = st.one_of(st.text(max_size=30), st.sampled_from(["bucket/key", "xcom-s3-test/xcom/d/r/t/-1/k.json.zst"]))
    return st.builds(lambda scheme, tail: scheme + tail, st.sampled_from(["s3://", "xcom_s3://"]), rest)


def lookalike_dicts() -> st.SearchStrategy[dict[str, Any]]:
    """Dicts carrying the marker, from junk to fully formed references and escapes."""
    marker = st.one_of(st.just(1), st.integers(), st.text(max_size=4), st.none())
    forged_ref = st.fixed_dictionaries(
        {
            "__xcom_s3__": marker,
            "kind": st.sampled_from(["ref", "escaped", "other"]),
            "uri": st.one_of(lookalike_strings(), st.text(max_size=10)),
        },
        optional={
            "format": st.sampled_from(["json", "parquet"]),
            "codec": st.sampled_from(["zstd", "gzip", "none"]),
            "size": st.integers(min_value=0, max_value=10**6),
            "sha256": st.text("0123456789abcdef", min_size=64, max_size=64),
            "value": json_values(max_leaves=3),
        },
    )
    loose = st.dictionaries(st.text(max_size=6), json_values(max_leaves=3), max_size=3).map(
        lambda d: {**d, "__xcom_s3__": 1}
    )
    return st.one_of(forged_ref, loose)


def lookalikes() -> st.SearchStrategy[Any]:
    """Top-level values a reader could mistake for one of ours, and containers holding them."""
    top = st.one_of(lookalike_strings(), lookalike_dicts())
    return st.one_of(top, st.lists(top, min_size=1, max_size=3), st.dictionaries(st.text(max_size=5), top, max_size=3))


# ---- DataFrames --------------------------------------------------------------------------------------------

#: Every common dtype a task returns, by the name the tests report.
FRAME_DTYPES = (
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float32", "float64", "bool", "object_str", "inferred_str", "string", "Int64", "boolean", "Float64",
    "datetime_ns", "datetime_us", "datetime_tz", "timedelta", "category", "category_ordered",
)  # fmt: skip


def _column(kind: str, n: int) -> st.SearchStrategy[Any]:
    """A pandas Series of dtype ``kind`` with ``n`` rows (NaN/NA/NaT included where the dtype has them)."""
    if kind.startswith(("int", "uint")) or kind in ("float32", "float64", "bool"):
        return _numpy_column(kind, n)
    if kind in ("object_str", "inferred_str", "string"):
        return _text_column(kind, n)
    if kind in ("Int64", "boolean", "Float64"):
        return _masked_column(kind, n)
    if kind.startswith("datetime") or kind == "timedelta":
        return _time_column(kind, n)
    if kind.startswith("category"):
        return _category_column(kind == "category_ordered", n)
    raise ValueError(f"unknown frame dtype {kind!r}")


def _numpy_column(kind: str, n: int) -> st.SearchStrategy[Any]:
    """Integers over the dtype's whole range, floats with NaN and infinities, bools: no missing values."""
    import numpy as np
    import pandas as pd

    values: st.SearchStrategy[Any]
    if kind.startswith(("int", "uint")):
        info = np.iinfo(kind)
        values = st.lists(st.integers(int(info.min), int(info.max)), min_size=n, max_size=n)
        return values.map(lambda v: pd.Series(np.array(v, dtype=kind)))
    if kind in ("float32", "float64"):
        width: Literal[32, 64] = 32 if kind == "float32" else 64
        values = st.lists(st.floats(width=width), min_size=n, max_size=n)
        return values.map(lambda v: pd.Series(np.array(v, dtype=kind)))
    return st.lists(st.booleans(), min_size=n, max_size=n).map(lambda v: pd.Series(v, dtype=bool))


def _text_column(kind: str, n: int) -> st.SearchStrategy[Any]:
    """Strings as object, as pandas infers them, or as the ``string`` dtype (which has NA)."""
    import pandas as pd

    if kind == "object_str":
        return st.lists(st.text(max_size=8), min_size=n, max_size=n).map(lambda v: pd.Series(v, dtype=object))
    if kind == "inferred_str":  # object on pandas 2, the new "str" dtype on pandas 3
        return st.lists(st.text(max_size=8), min_size=n, max_size=n).map(pd.Series)
    values = st.lists(st.one_of(st.none(), st.text(max_size=8)), min_size=n, max_size=n)
    return values.map(lambda v: pd.Series(v, dtype="string"))


def _masked_column(kind: str, n: int) -> st.SearchStrategy[Any]:
    """pandas' nullable Int64, boolean and Float64, with NA."""
    import pandas as pd

    inner = {"Int64": st.integers(-(2**63), 2**63 - 1), "boolean": st.booleans(), "Float64": st.floats()}[kind]
    values = st.lists(st.one_of(st.none(), inner), min_size=n, max_size=n)
    return values.map(lambda v: pd.Series(v, dtype=kind))


def _time_column(kind: str, n: int) -> st.SearchStrategy[Any]:
    """Naive datetimes in ns or us, tz-aware ones in a named zone, timedeltas: NaT included."""
    import pandas as pd

    if kind == "timedelta":
        spans = st.timedeltas(min_value=-dt.timedelta(days=10**5), max_value=dt.timedelta(days=10**5))
        values = st.lists(st.one_of(st.none(), spans), min_size=n, max_size=n)
        return values.map(lambda v: pd.Series(pd.to_timedelta(v), dtype="timedelta64[ns]"))
    stamps = st.datetimes(min_value=dt.datetime(1700, 1, 1), max_value=dt.datetime(2250, 1, 1))
    values = st.lists(st.one_of(st.none(), stamps), min_size=n, max_size=n)
    if kind == "datetime_tz":  # zone names, as users write them (pytz on pandas 2, zoneinfo on pandas 3)
        zones = st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata"])
        return st.tuples(values, zones).map(
            lambda p: pd.Series(pd.to_datetime(p[0]), dtype="datetime64[ns]").dt.tz_localize("UTC").dt.tz_convert(p[1])
        )
    unit = kind.rsplit("_", 1)[1]
    return values.map(lambda v: pd.Series(pd.to_datetime(v), dtype=f"datetime64[{unit}]"))


def _category_column(ordered: bool, n: int) -> st.SearchStrategy[Any]:
    """Categoricals of one to four categories, unordered or ordered, with missing values."""
    import pandas as pd

    cats = st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=4, unique=True)

    def build(drawn: tuple[list[str], list[int | None]]) -> Any:
        categories, picks = drawn
        values = [None if p is None else categories[p % len(categories)] for p in picks]
        return pd.Series(pd.Categorical(values, categories=categories, ordered=ordered))

    picks = st.lists(st.one_of(st.none(), st.integers(0, 10)), min_size=n, max_size=n)
    return st.tuples(cats, picks).map(build)


def _index(n: int) -> st.SearchStrategy[Any]:
    """Index variants: default/offset/named RangeIndex, integer, string, datetime, two-level MultiIndex."""
    import pandas as pd

    name = st.one_of(st.none(), st.text(min_size=1, max_size=5))
    return st.one_of(
        st.just(pd.RangeIndex(n)),
        st.builds(
            lambda start, step, nm: pd.RangeIndex(start, start + n * step, step, name=nm),
            st.integers(-100, 100),
            st.integers(1, 5),
            name,
        ),
        st.builds(
            lambda v, nm: pd.Index(v, dtype="int64", name=nm),
            st.lists(st.integers(-(2**40), 2**40), min_size=n, max_size=n),
            name,
        ),
        st.builds(
            lambda v, nm: pd.Index(v, dtype=object, name=nm),
            st.lists(st.text(max_size=6), min_size=n, max_size=n),
            name,
        ),
        st.builds(
            lambda start, nm: pd.date_range(start, periods=n, freq="h", tz="UTC", name=nm),
            st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1)),
            name,
        ),
        st.builds(
            lambda a, b: pd.MultiIndex.from_arrays([a, b], names=["outer", "inner"]),
            st.lists(st.sampled_from(["x", "y"]), min_size=n, max_size=n),
            st.lists(st.integers(0, 3), min_size=n, max_size=n),
        ),
    )


@st.composite
def frames(draw: st.DrawFn, dtypes: tuple[str, ...] = FRAME_DTYPES, max_rows: int = 12) -> Any:
    """A DataFrame with unique column names, each column one of ``dtypes``, and one of the index variants."""
    import pandas as pd

    n = draw(st.integers(min_value=0, max_value=max_rows))
    kinds = draw(st.lists(st.sampled_from(dtypes), min_size=1, max_size=5))
    names = draw(st.lists(st.text(min_size=1, max_size=6), min_size=len(kinds), max_size=len(kinds), unique=True))
    columns = {f"{name}": draw(_column(kind, n)) for name, kind in zip(names, kinds, strict=True)}
    index = draw(_index(n))
    frame = pd.DataFrame({name: series.set_axis(index) for name, series in columns.items()}, index=index)
    if draw(st.booleans()):
        frame.columns.name = draw(st.text(min_size=1, max_size=5))
    return frame


@st.composite
def catalogue_frames(draw: st.DrawFn, max_rows: int = 6, max_columns: int = 4) -> Any:
    """A DataFrame drawn from the frame catalogue (tests/frame_catalogue.py, pandas' own dtype lists): columns of
    any kind (a categorical over one included), any rows of each kind's sample values, any index kind, sometimes
    a named column axis and attrs."""
    import frame_catalogue
    import pandas as pd

    kinds = frame_catalogue.column_kinds()
    index = draw(_catalogue_index(kinds, max_rows))
    n = len(index)
    chosen = draw(st.lists(st.sampled_from(sorted(kinds)), min_size=1, max_size=max_columns))
    names = draw(st.lists(st.text(min_size=1, max_size=6), min_size=len(chosen), max_size=len(chosen), unique=True))
    columns = {}
    for name, kind_id in zip(names, chosen, strict=True):
        picks = draw(st.lists(st.integers(0, 20), min_size=n, max_size=n))
        columns[name] = kinds[kind_id].take(picks).set_axis(index)
    frame = pd.DataFrame(columns, index=index)
    if draw(st.booleans()):
        frame.columns.name = draw(st.text(min_size=1, max_size=5))
    frame.attrs = draw(st.sampled_from([{}, {}, {"source": "db", "n": 1, "tags": ["a"]}]))
    return frame


def _catalogue_index(kinds: dict[str, Any], max_rows: int) -> st.SearchStrategy[Any]:
    """A RangeIndex, any column kind as an index (any rows of it), or one of pandas' own index kinds."""
    import frame_catalogue
    import pandas as pd

    listed = frame_catalogue.index_kinds()
    name = st.one_of(st.none(), st.text(min_size=1, max_size=5))
    ranges = st.builds(
        lambda n, start, step, nm: pd.RangeIndex(start, start + n * step, step, name=nm),
        st.integers(0, max_rows),
        st.integers(-5, 5),
        st.integers(1, 3),
        name,
    )

    def of_kind(kind_id: str, picks: list[int], nm: str | None) -> Any:
        return pd.Index(kinds[kind_id].take(picks), name=nm)

    by_kind = st.builds(of_kind, st.sampled_from(sorted(kinds)), st.lists(st.integers(0, 20), max_size=max_rows), name)
    return st.one_of(ranges, by_kind, st.sampled_from(sorted(listed)).map(lambda key: listed[key]()))
