"""(2) Every frame of the catalogue (tests/frame_catalogue.py, built from pandas' own dtype lists) comes back exactly
through push and pull, or its push is refused with an error naming the column, its dtype and what to do.

Exactly: ``pandas.testing.assert_frame_equal(check_exact=True)`` with dtypes, index and column classes, names and
``freq``; plus ``DataFrame.attrs``, and the Python type of every value in object columns and levels (a tuple that
comes back as a list, or None as NaN, is a change). Never a silent change, never a raw library exception.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import frame_catalogue
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from airflow_io import is_ours, round_trip
from hypothesis import example, given
from strategies import catalogue_frames
from xcom_compat import XComContext

from properties.budget import share
from properties.checks import EXACT

CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)
#: Words a refusal uses to say what to do (each message ends with an instruction such as "Convert it ...").
REMEDY_WORDS = ("convert", "store", "use ", "give", "rename", "cast", "drop", "remove", "keep", "set ")
#: How refusals of the frame as a whole (its labels, names, attrs) begin: they name no column's dtype.
FRAME_REFUSALS = (
    "DataFrame.attrs ",
    "DataFrame has duplicate column names ",
    "DataFrame column names ",
    "DataFrame index levels share a name ",
    "DataFrame index or column axis has the name ",
)


@dataclass(frozen=True)
class Outcome:
    """What one catalogue frame did: ``exact``, ``refused`` (with the message), or ``broken`` (with why)."""

    verdict: str
    detail: str = ""


def outcome(backend: Any, frame: Any, ctx: XComContext = CTX) -> Outcome:
    """Push and pull ``frame`` through ``backend`` as Airflow does and judge the result."""
    try:
        got = round_trip(backend, frame, ctx)
    except Exception as exc:
        return _judge_refusal(backend, frame, exc)
    difference = exact_difference(got, frame)
    return Outcome("exact") if difference is None else Outcome("broken", f"changed on the way back: {difference}")


def _judge_refusal(backend: Any, frame: Any, exc: Exception) -> Outcome:
    """A refusal is clear when it is our UnsupportedFrameError naming a column of the frame (or an index level,
    or the attrs), that column's dtype, and what to do."""
    message = str(exc)
    if not is_ours(backend):
        return Outcome("refused", f"{type(exc).__name__}: {message}")
    from xcom_s3.errors import UnsupportedFrameError

    if not isinstance(exc, UnsupportedFrameError):
        return Outcome("broken", f"raw {type(exc).__name__} (not UnsupportedFrameError): {message}")
    named = [(mention, dtype) for mentions, dtype in _parts(frame) for mention in mentions if mention in message]
    if not named and message.startswith(FRAME_REFUSALS):
        named = [("the frame", "")]
    if not named:
        return Outcome("broken", f"the refusal names no column or index level: {message}")
    if not any(str(dtype) in message for _, dtype in named):
        return Outcome("broken", f"the refusal does not name the dtype of {named[0][0]} ({named[0][1]}): {message}")
    if not any(word in message.lower() for word in REMEDY_WORDS):
        return Outcome("broken", f"the refusal does not say what to do: {message}")
    return Outcome("refused", message)


def _parts(frame: Any) -> list[tuple[list[str], Any]]:
    """(how a refusal may name it, dtype) of every column, index level and the column labels."""
    parts = [([f"column {label!r}"], frame.dtypes.iloc[i]) for i, label in enumerate(frame.columns)]
    index = frame.index
    for level in range(index.nlevels):
        name = index.names[level]
        mentions = [f"index level {level}"] + ([f"index level {name!r}"] if name is not None else [])
        parts.append((mentions, index.get_level_values(level).dtype))
    parts.append((["column labels"], frame.columns.dtype))
    return parts


def exact_difference(got: Any, expected: Any) -> str | None:
    """How ``got`` differs from the frame ``expected``, or None when it is the same frame exactly."""
    import pandas as pd

    if not isinstance(got, pd.DataFrame):
        return f"got a {type(got).__name__} back, not a DataFrame"
    try:
        pd.testing.assert_frame_equal(got, expected, **EXACT, check_freq=True, check_flags=True)
    except AssertionError as exc:
        return " ".join(str(exc).split())
    if str(got.dtypes.to_dict()) != str(expected.dtypes.to_dict()):
        return f"dtypes {expected.dtypes.to_dict()} -> {got.dtypes.to_dict()}"
    found = _same_python(got.attrs, expected.attrs, "attrs")
    if found:
        return found
    for position, label in enumerate(expected.columns):
        found = _same_values(got.iloc[:, position], expected.iloc[:, position], f"column {label!r}")
        if found:
            return found
    for axis, name in ((got.index, "index"), (got.columns, "column axis")):
        other = expected.index if name == "index" else expected.columns
        for level in range(other.nlevels):
            where = f"{name} level {level}"
            found = _same_values(axis.get_level_values(level), other.get_level_values(level), where)
            if found:
                return found
    return None


def _same_values(got: Any, expected: Any, where: str) -> str | None:
    """Every value of an object (or categorical-of-object) column comes back as the same Python value and type."""
    import numpy as np
    import pandas as pd

    if isinstance(expected.dtype, pd.CategoricalDtype):
        return _same_values(got.dtype.categories, expected.dtype.categories, f"{where} categories")
    if expected.dtype != np.dtype(object):
        return None  # values and dtype (a time zone by pandas' own equality) compared by assert_frame_equal
    for i, (a, b) in enumerate(zip(list(got), list(expected), strict=True)):
        found = _same_python(a, b, f"{where} row {i}")
        if found:
            return found
    return None


def _same_python(got: Any, expected: Any, where: str) -> str | None:
    """Same type at every level, same value and repr (NaN is NaN, -0.0 is not 0.0, Decimal('1.5') is not '1.50', a
    datetime's tzinfo is the same tzinfo)."""
    import numpy as np

    if type(got) is not type(expected):
        return f"{where}: {type(expected).__name__} {expected!r:.60} came back as {type(got).__name__} {got!r:.60}"
    if isinstance(expected, dict):
        if list(got) != list(expected):
            return f"{where}: keys {list(expected)!r:.60} came back as {list(got)!r:.60}"
        return next((f for k in expected if (f := _same_python(got[k], expected[k], f"{where}[{k!r}]"))), None)
    if isinstance(expected, (list, tuple)):
        if len(got) != len(expected):
            return f"{where}: {expected!r:.60} came back as {got!r:.60}"
        pairs = enumerate(zip(got, expected, strict=True))
        return next((f for i, (a, b) in pairs if (f := _same_python(a, b, f"{where}[{i}]"))), None)
    if isinstance(expected, np.ndarray):
        if got.dtype != expected.dtype or got.shape != expected.shape:
            return f"{where}: {expected!r:.60} came back as {got!r:.60}"
        return _same_python(got.tolist(), expected.tolist(), where)
    if isinstance(expected, (set, frozenset, memoryview)):
        return None if got == expected else f"{where}: {expected!r:.60} came back as {got!r:.60}"
    if isinstance(expected, float) and math.isnan(expected):
        return None if math.isnan(got) else f"{where}: nan came back as {got!r}"
    if got is expected:
        return None
    try:
        same = bool(got == expected) and repr(got) == repr(expected)
    except (TypeError, ValueError):
        same = repr(got) == repr(expected)
    return None if same else f"{where}: {expected!r:.60} came back as {got!r:.60}"


# ---- the explicit examples ---------------------------------------------------------------------------------

#: Members our backend must keep exactly wherever this pandas/pyarrow builds them (measured on pandas 2.1 to 3.0,
#: pyarrow 19 to 26): a writer that refuses what it used to keep fails here, not only one that changes a frame.
PANDAS = tuple(int(part) for part in pd.__version__.split(".")[:2])
MUST_BE_EXACT = re.compile(
    "|".join(
        f"(?:{rule})"
        for rule in [
            r"column:(u?int\d+|float(32|64)|bool|(datetime|timedelta)64\[(s|ms|us|ns)\]|str|object|bytes)",
            r"index:(u?int\d+|float(32|64)|bool|(datetime|timedelta)64\[(s|ms|us|ns)\]|str|object)",
            r"(column|index|category):(U?Int\d+|Float(32|64)|boolean)",
            r"(column|index|category):StringDtype\('(python|pyarrow|pyarrow_numpy)', na_value=(NA|NaN)\)",
            r"(column|index|category):datetime64\[(s|ms|us|ns), '(UTC|US/Eastern)'\]",
            r"column:datetime64\[ns, (?!tzlocal).*\]",
            r"(column|index):(period\[[\w-]+\]|interval\[(u?int64|float64|datetime64\[ns\]|timedelta64\[ns\]), \w+\])",
            r"(column|index):category(\[ordered\])?",
            r"category(\[ordered\])?:(u?int\d+|float64|(datetime|timedelta)64\[\w+\]|str|object|bool)",
            r"(column|index|category):ArrowDtype\((u?int\d+|float|double|bool|(large_)?(string|binary)|fixed_size_binary"
            r"\[3\]|decimal\d+\(\d+, \d+\)|date(32|64)\[\w+\]|time(32|64)\[\w+\]|timestamp\[\w+(, tz=[\w/]+)?\]"
            r"|duration\[\w+\]|null)\)",
            r"column:ArrowDtype\(((large_)?list|map|dictionary)<.*\)",
            r"index:ArrowDtype\(((large_)?list|map)<.*\)",
            # pandas 2.0 cannot compare struct values (NotImplementedError), so there a struct is refused.
            *([r"(column|index):ArrowDtype\(struct<.*\)"] if PANDAS >= (2, 1) else []),
            r"object:inferred:(boolean\+?|bytes|date|datetime|decimal|empty\+?|floating|integer|mixed|string\+?|time"
            r"|timedelta)",
            r"object:(str|str-nan|str-na|int|float|bool|bytes|decimal|list|list-of-str|nested-list|dict|dict-of-lists"
            r"|list-of-dicts|ndarray|date|time|timedelta|datetime-naive|timestamp-one-zone|all-none|all-nan|empty)",
            r"index:object:(str|str-nan|int|bytes|decimal|date|datetime-naive)",
            r"index:(range.*|named.*|duplicates.*|datetime-freq|timedelta-freq)",
            r"index:multi-(named|unnamed-missing|partly-named|range-like-level)",
            r"index:indices_dict:(string|datetime|datetime-tz|period|timedelta|range|u?int\d+|float\d+|bool-object"
            r"|bool-dtype|categorical|interval|empty|tuples|mi-with-dt64tz-level|multi|repeats|nullable_\w+"
            r"|string-python|string-pyarrow)(-missing)?",
            r"frame:(named-column-axis|(int|range)-column-labels|multiindex-columns|no-rows|no-columns"
            r"|no-rows-no-columns|empty-category-no-rows|no-duplicate-labels-flag)",
            r"attrs:(json|empty|nan)",
        ]
    )
)


def names_the_culprit(member: str, message: str) -> bool:
    """A refusal of a one-column member names that column; of an index member, the index."""
    if member.startswith("index:"):
        return "DataFrame index level" in message
    if member.startswith(("column:", "category", "object:")):
        return "DataFrame column 'c'" in message
    return True


def test_the_catalogue_covers_every_extension_dtype_pandas_registers():
    """Guard the catalogue: a dtype a new pandas registers gets a kind, or this names it."""
    assert frame_catalogue.unlisted_extension_dtypes() == []
    assert len(frame_catalogue.members()) > 300, "the catalogue lost most of its members"


def test_every_catalogue_member_is_exact_or_refused_clearly(backend, xcom_s3_env, record_property):
    """Any backend: each member pushed and pulled through the resolved class comes back exactly; ours may instead
    refuse it with UnsupportedFrameError naming the column, its dtype and what to do. Every broken member is
    listed (the first 40), not only the first."""
    broken = []
    counts = {"exact": 0, "refused": 0}
    ours = is_ours(backend)
    for member, build in frame_catalogue.members().items():
        result = outcome(backend, build())
        if result.verdict == "refused" and ours and MUST_BE_EXACT.fullmatch(member):
            result = Outcome("broken", f"refused, though it is kept exactly everywhere: {result.detail}")
        elif result.verdict == "refused" and ours and not names_the_culprit(member, result.detail):
            result = Outcome("broken", f"the refusal names another part of the frame: {result.detail}")
        elif result.verdict == "refused" and ours:
            result = remedy_outcome(backend, build, result)
        if result.verdict == "broken":
            broken.append(f"{member}: {result.detail}")
        else:
            counts[result.verdict] += 1
    record_property("catalogue", f"{len(frame_catalogue.members())} members: {counts} {len(broken)} broken")
    shown = "\n".join(line[:400] for line in broken[:40])
    assert not broken, f"{len(broken)} of {len(frame_catalogue.members())} catalogue frames broken {counts}:\n{shown}"


#: Where a refusal's remedy assigns code to the frame: ``df['c'] = ...``, ``df.index = ...``.
ASSIGNMENT = re.compile(r"df(?:\[[^\]]+\]|\.index|\.columns) = ")


def remedy_code(message: str) -> str | None:
    """The last assignment a refusal gives to run (its text fallback, where it gives two), up to where the
    sentence goes on: None when its remedy is words ("Rename them (df.index.names = [...])")."""
    found = list(ASSIGNMENT.finditer(message))
    if not found:
        return None
    start = found[-1].start()
    depth, end = 0, found[-1].end()
    while end < len(message):
        char = message[end]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and (char in ",;" or (char == "." and message[end + 1 : end + 2] in ("", " "))):
            break
        end += 1
    code = message[start:end]
    return None if "[...]" in code else code


def remedy_outcome(backend: Any, build: Any, refused: Outcome) -> Outcome:
    """A refusal whose remedy is code: the code runs on the frame, and the frame it makes comes back exactly, or
    is refused for another reason (the remedy got past this one)."""
    import datetime

    code = remedy_code(refused.detail)
    if code is None:
        return refused
    frame = build()
    try:
        exec(code, {"df": frame, "pd": pd, "np": np, "pa": pa, "datetime": datetime})  # our own message's code
    except Exception as exc:
        return Outcome("broken", f"its remedy `{code}` fails: {type(exc).__name__}: {exc}")
    after = outcome(backend, frame)
    if after.verdict == "broken" or after.detail == refused.detail:
        return Outcome("broken", f"after its remedy `{code}`: {after.detail or 'refused the same way'}")
    return refused


@pytest.mark.parametrize("member", ["object:tuple", "object:int-beyond-64-bits", "column:float64", "attrs:json"])
def test_members_are_judged_through_the_real_path(backend, xcom_s3_env, member):
    """Guard the judge: a plain member is exact, a tuple column is never called exact unless tuples come back."""
    frame = frame_catalogue.members()[member]()
    result = outcome(backend, frame)
    assert result.verdict in ("exact", "refused"), result.detail
    if member in ("column:float64", "attrs:json") and is_ours(backend):
        assert result.verdict == "exact", result.detail


@pytest.mark.filterwarnings("ignore:Mismatched null-like values:FutureWarning")  # pandas 2 says None == NaN
def test_the_judge_sees_silent_changes():
    """The comparison itself must fail where a frame changed: a tuple as a list, None as NaN, a dtype, attrs."""
    import numpy as np
    import pandas as pd

    base = pd.DataFrame({"c": pd.Series([(1, 2), None], dtype=object)})
    as_list = pd.DataFrame({"c": pd.Series([[1, 2], None], dtype=object)})
    assert exact_difference(as_list, base) is not None
    with_nan = pd.DataFrame({"c": pd.Series([(1, 2), np.nan], dtype=object)})
    assert exact_difference(with_nan, base) is not None
    other_unit = pd.DataFrame({"t": pd.Series(pd.to_datetime(["2024-01-01"]).as_unit("s"))})
    assert exact_difference(other_unit.astype("datetime64[ns]"), other_unit) is not None
    with_attrs = base.copy()
    with_attrs.attrs = {"a": 1}
    assert exact_difference(base, with_attrs) is not None
    assert exact_difference(base.copy(), base) is None


# ---- beyond the head: row groups after the first --------------------------------------------------------------

ROWS = 300  #: in row groups of 50 (the writer checks a head of 64 rows by a round trip before it uploads)


@pytest.fixture
def small_row_groups(monkeypatch):
    from xcom_s3 import frames

    monkeypatch.setattr(frames, "MIN_SLICE_ROWS", 50)
    monkeypatch.setattr(frames, "SLICE_BYTES", 1)
    return frames


@pytest.mark.ours_only
def test_a_wide_frame_of_many_row_groups_comes_back_exactly(backend, xcom_s3_env, small_row_groups):
    """One column of the first kind of each family (those the writer keeps, by an in-memory round trip), 300 rows
    in 6 row groups: every row group comes back exactly, not only the checked head."""
    import pandas as pd

    kept: dict[str, frame_catalogue.Kind] = {}
    drawable = frame_catalogue.column_kinds()
    for kind in frame_catalogue.kinds().values():
        if kind.id not in drawable or kind.family in {k.family for k in kept.values()}:
            continue
        column = kind.take(range(ROWS))
        try:
            small_row_groups.frame_to_parquet(pd.DataFrame({"c": column}), "zstd")
        except small_row_groups.UnsupportedFrameError:
            continue
        kept[kind.id] = kind
    frame = pd.DataFrame({kind_id: kind.take(range(ROWS)) for kind_id, kind in kept.items()})
    frame.index = pd.RangeIndex(0, 2 * ROWS, 2, name="row")
    assert len(kept) > 30, f"only {sorted(kept)} are kept"
    result = outcome(backend, frame)
    assert result.verdict == "exact", result.detail
    # Other tools read the object as the Parquet it is: pyarrow alone, no layout needed.
    [key] = xcom_s3_env.keys()
    table = pq.read_table(pa.BufferReader(xcom_s3_env.get(key)))
    assert table.num_rows == ROWS and table.column_names[: len(kept)] == list(kept)


@pytest.mark.ours_only
@pytest.mark.parametrize(
    ("late", "reason"),
    [
        ((1, 2), "tuple"),  # a tuple among lists after the head: Parquet gives lists
        (2**70, "int"),  # an int beyond 64 bits after the head
        (float("nan"), "different kinds"),  # NaN where the head's missing values are None
    ],
    ids=["tuple-among-lists", "big-int", "second-kind-of-missing"],
)
def test_values_after_the_checked_head_are_checked_too(backend, xcom_s3_env, small_row_groups, late, reason):
    """A value the head does not show, in a later row group, refuses the push naming the column; nothing is left
    in S3."""
    import numpy as np
    import pandas as pd

    values = np.empty(ROWS, dtype=object)
    values[:] = (
        [[i] if i % 7 else None for i in range(ROWS)]
        if isinstance(late, tuple)
        else [i if i % 7 else None for i in range(ROWS)]
    )
    values[250] = late
    frame = pd.DataFrame({"ok": range(ROWS), "late": values})
    result = outcome(backend, frame)
    assert result.verdict == "refused", result.detail
    assert "column 'late'" in result.detail and reason in result.detail, result.detail
    assert xcom_s3_env.keys() == [], "a refused frame left an object in S3"


# ---- the property ------------------------------------------------------------------------------------------


@share(0.5)
@given(frame=catalogue_frames())
@example(frame=frame_catalogue.members()["object:list"]())
def test_catalogue_frames_are_exact_or_refused_clearly(backend, xcom_s3_env, frame):
    """Any backend: frames drawn from the catalogue's kinds (any rows of each, any index kind, a named column
    axis, attrs) come back exactly, or ours refuses them naming the column, its dtype and what to do."""
    result = outcome(backend, frame)
    assert result.verdict != "broken", result.detail
