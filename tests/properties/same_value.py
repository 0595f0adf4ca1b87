"""Equality that also demands the same types all the way down: a tuple is not a list, 1 is not 1.0 or True."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from typing import Any


def _is_nan(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, decimal.Decimal) and value.is_nan()


def assert_same_value(actual: Any, expected: Any, path: str = "$") -> None:
    """Assert ``actual`` equals ``expected`` with identical types at every level (NaN equals NaN)."""
    assert type(actual) is type(expected), f"{path}: type {type(actual).__name__} != {type(expected).__name__}"
    if isinstance(expected, dict):
        assert list(actual) == list(expected), f"{path}: keys {list(actual)!r} != {list(expected)!r}"
        for key in expected:
            assert_same_value(actual[key], expected[key], f"{path}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), f"{path}: length {len(actual)} != {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same_value(a, e, f"{path}[{i}]")
    elif _is_nan(expected):
        assert _is_nan(actual), f"{path}: {actual!r} is not NaN"
    elif isinstance(expected, dt.datetime):
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
        assert actual.utcoffset() == expected.utcoffset(), f"{path}: offset {actual!r} != {expected!r}"
        assert type(actual.tzinfo) is type(expected.tzinfo), f"{path}: tzinfo {actual!r} != {expected!r}"
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
        if isinstance(expected, float):  # 0.0 == -0.0
            assert math.copysign(1, actual) == math.copysign(1, expected), f"{path}: {actual!r} != {expected!r}"
