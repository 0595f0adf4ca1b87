"""A JSON form of any XCom value, comparable across Python, pandas and Airflow versions.

The upgrade rehearsal reads each XCom under the old release and again under the new one, in different
venvs: pickles would not survive a pandas major, so both sides reduce values to this form and compare JSON.
Frames keep columns, index, values and dtypes; the dtypes are also reduced to a family ("string",
"datetime64[UTC]") so a pandas upgrade that renames a dtype (object -> str) is a note, not a lost value.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any


def canonical(value: Any) -> Any:
    """JSON-able, type-tagged where JSON would blur a difference (tuple vs list, datetime vs str)."""
    frame = _frame(value)
    if frame is not None:
        return frame
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, dict):
        return {"__dict__": sorted([[canonical(k), canonical(v)] for k, v in value.items()], key=repr)}
    if isinstance(value, tuple):
        return {"__tuple__": [canonical(v) for v in value]}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return {"__set__": sorted((canonical(v) for v in value), key=repr)}
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, Decimal):
        return {"__decimal__": str(value)}
    if hasattr(value, "item") and callable(value.item):  # numpy / pandas scalars
        return canonical(value.item())
    return {"__repr__": repr(value), "__type__": f"{type(value).__module__}.{type(value).__qualname__}"}


def _cell(value: Any) -> Any:
    import pandas as pd

    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return {"__datetime__": value.isoformat()}
    return canonical(value)


def dtype_family(dtype: Any) -> str:
    """The dtype with the distinctions a pandas upgrade may change on its own taken out."""
    name = str(dtype)
    if name in ("object", "str", "string") or name.startswith("string["):
        return "string"
    if name.startswith("datetime64["):
        tz = name.split(",", 1)[1].strip(" ]") if "," in name else "naive"
        return f"datetime64[{tz}]"
    return name


def _frame(value: Any) -> dict[str, Any] | None:
    pd = _pandas_if_loaded()
    if pd is None or not isinstance(value, pd.DataFrame):
        return None
    return {
        "__frame__": {
            "columns": [canonical(c) for c in value.columns],
            "index": [_cell(v) for v in value.index],
            "dtypes": [dtype_family(t) for t in value.dtypes],
            "data": [[_cell(v) for v in value[c].tolist()] for c in value.columns],
        },
        "__frame_dtypes__": [str(t) for t in value.dtypes],
    }


def _pandas_if_loaded() -> Any:
    """pandas only if the value could be a frame: a process that never imported pandas has no frames."""
    import sys

    return sys.modules.get("pandas")


def compare(original: Any, read_back: Any) -> tuple[bool, list[str]]:
    """(equal, notes): values equal, and what differs only in dtype names (exact dtypes are notes)."""
    notes = []
    if isinstance(original, dict) and "__frame__" in original and isinstance(read_back, dict):
        before, after = original.get("__frame_dtypes__"), read_back.get("__frame_dtypes__")
        if before != after:
            notes.append(f"frame dtypes {before} -> {after}")
        return original.get("__frame__") == read_back.get("__frame__"), notes
    return original == read_back, notes
