"""The head round trip's last net: whatever Parquet gives back other than the frame is named, however small.

``frame_checks._difference(got, expected)`` compares the head as read back with the head as pushed. No frame the
catalogue builds reaches it with a difference (each such dtype is refused earlier, by name), so these pin it
directly: each ``got`` is a frame a changed round trip could give, differing in one way only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

pytestmark = pytest.mark.ours_only


def _frame(**columns: Any) -> pd.DataFrame:
    return pd.DataFrame(columns)


def _axis(frame: pd.DataFrame, index: Any) -> pd.DataFrame:
    return frame.set_axis(index)


def _labels(frame: pd.DataFrame, columns: Any) -> pd.DataFrame:
    return frame.set_axis(columns, axis=1)


def _named_axis(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    frame = frame.copy()
    frame.columns.name = name
    return frame


ONE_FLOAT = _frame(x=[0.1, 0.2])
FLOAT_LEVEL = _axis(_frame(v=[1, 2]), pd.Index([0.5, 1.5], name="i"))
TWO_LEVELS = _axis(_frame(v=[1, 2]), pd.MultiIndex.from_arrays([[1, 2], [3, 4]], names=["a", "b"]))
FLOAT_LABELS = pd.DataFrame([[1, 2]], columns=[0.5, 1.5])

#: what changed -> (the frame pushed, the frame read back, how the refusal starts)
CASES: dict[str, tuple[pd.DataFrame, Callable[[], pd.DataFrame], str]] = {
    "a float's last bits": (
        ONE_FLOAT,
        lambda: _frame(x=[0.1, 0.2 + 1e-12]),
        "DataFrame column 'x' (dtype float64) cannot be stored as Parquet exactly: it would come back changed",
    ),
    "the categories' order": (
        _frame(c=pd.Categorical(["a", "b"], categories=["a", "b"])),
        lambda: _frame(c=pd.Categorical(["a", "b"], categories=["b", "a"])),
        "DataFrame column 'c' (dtype category) cannot be stored as Parquet exactly: it would come back changed",
    ),
    "an int that comes back a float in an object column": (
        _frame(o=pd.Series([1, "x"], dtype=object)),
        lambda: _frame(o=pd.Series([1.0, "x"], dtype=object)),
        "DataFrame column 'o' (dtype object) cannot be stored as Parquet exactly: it would come back changed "
        "(row 0: int 1 comes back as float 1.0)",
    ),
    "a RangeIndex that comes back as int64 values": (
        _frame(v=[1, 2]),
        lambda: _axis(_frame(v=[1, 2]), pd.Index([0, 1])),
        "DataFrame index cannot be stored exactly: it would come back changed (Index are different Index classes "
        "are different",
    ),
    "an index level's last bits": (
        FLOAT_LEVEL,
        lambda: _axis(FLOAT_LEVEL, pd.Index([0.5, 1.5 + 1e-12], name="i")),
        "DataFrame index level 'i' (dtype float64) cannot be stored as Parquet exactly: it would come back changed",
    ),
    "an index level's name": (
        FLOAT_LEVEL,
        lambda: _axis(FLOAT_LEVEL, pd.Index([0.5, 1.5], name="j")),
        "DataFrame index level 'i' (dtype float64) cannot be stored as Parquet exactly: it would come back changed "
        '(Index are different Attribute "names" are different',
    ),
    "an object level's int that comes back a float": (
        _axis(_frame(v=[1, 2]), pd.Index([1, "x"], dtype=object, name="i")),
        lambda: _axis(_frame(v=[1, 2]), pd.Index([1.0, "x"], dtype=object, name="i")),
        "DataFrame index level 'i' (dtype object) cannot be stored as Parquet exactly: it would come back changed",
    ),
    "the dtype of the second level (named, not the first)": (
        TWO_LEVELS,
        lambda: _axis(TWO_LEVELS, pd.MultiIndex.from_arrays([[1, 2], [3.0, 4.0]], names=["a", "b"])),
        "DataFrame index level 'b' (dtype int64) cannot be stored as Parquet exactly: it would come back changed",
    ),
    "a float label's last bits": (
        FLOAT_LABELS,
        lambda: _labels(FLOAT_LABELS, [0.5, 1.5 + 1e-12]),
        "DataFrame column labels (dtype float64) cannot be stored exactly: it would come back changed",
    ),
    "RangeIndex labels that come back as int64 values": (
        pd.DataFrame([[1, 2]]),
        lambda: _labels(pd.DataFrame([[1, 2]]), pd.Index([0, 1])),
        "DataFrame column labels (dtype int64) cannot be stored exactly: it would come back changed (Index are "
        "different Index classes are different",
    ),
    "the column axis' name": (
        _named_axis(FLOAT_LABELS, "n"),
        lambda: _named_axis(FLOAT_LABELS, "m"),
        "DataFrame column labels (dtype float64) cannot be stored exactly: it would come back changed (Index are "
        'different Attribute "names" are different',
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_any_difference_in_the_head_read_back_is_refused_naming_where(case):
    from xcom_s3.frame_checks import _difference

    expected, changed, start = CASES[case]
    refusal = _difference(changed(), expected)
    assert refusal is not None, f"{case} passed as the same frame"
    assert str(refusal).startswith(start), str(refusal)


@pytest.mark.parametrize("frame", [ONE_FLOAT, FLOAT_LEVEL, TWO_LEVELS, FLOAT_LABELS], ids=lambda f: str(f.shape))
def test_the_same_frame_read_back_is_no_difference(frame):
    from xcom_s3.frame_checks import _difference

    assert _difference(frame.copy(deep=True), frame) is None
