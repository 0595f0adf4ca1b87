"""A frame as plain JSON that two pandas versions can compare: dtype names, labels, and every cell typed.

A frame written under one pandas/pyarrow and read under another cannot be compared as objects (a pickle does not
survive a pandas major), so each side reduces its frame to this form. Unlike e2e_canon (which lets a dtype rename
pass as a note), nothing is blurred here: the dtype's name, each cell's Python type and value, None vs NaN.
"""

from __future__ import annotations

from typing import Any


def describe(frame: Any) -> dict[str, Any]:
    """Every column and index level as (label, dtype name, typed cells), the column axis, and the attrs."""
    index = frame.index
    return {
        "columns": [
            [_cell(label), str(frame.dtypes.iloc[i]), _cells(frame.iloc[:, i])] for i, label in enumerate(frame.columns)
        ],
        "index": [
            [_cell(index.names[level]), str(index.get_level_values(level).dtype), _cells(index.get_level_values(level))]
            for level in range(index.nlevels)
        ],
        "index_class": type(index).__name__,
        "column_axis": [[_cell(name) for name in frame.columns.names], str(frame.columns.dtype)],
        "attrs": _cell(dict(frame.attrs)),
    }


def _cells(values: Any) -> list[Any]:
    import pandas as pd

    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = values.dtype.categories
        return [_cells(categories), [int(code) for code in pd.Categorical(values).codes], values.dtype.ordered]
    return [_cell(v) for v in list(values)]


def _cell(value: Any) -> Any:
    """[type, value]: the type's full name, so 1 and 1.0, a tuple and a list, None and NaN stay apart; scalars by
    repr (-0.0 is not 0.0, a Timestamp keeps its unit and zone); a numpy scalar's repr changed in numpy 2, so by its
    Python value."""
    kind = _type_name(value)
    if isinstance(value, (list, tuple)):
        return [kind, [_cell(v) for v in value]]
    if isinstance(value, dict):
        return [kind, [[_cell(k), _cell(v)] for k, v in value.items()]]
    if isinstance(value, (set, frozenset)):
        return [kind, sorted((_cell(v) for v in value), key=repr)]
    if getattr(value, "tz", None) is not None and hasattr(value, "tz_convert"):
        # The instant and the zone's name: a zone's rules past 2037 differ between pytz and zoneinfo (the local
        # time of 2262-03-31 is an hour apart), the instant does not.
        return [kind, f"{value.tz_convert('UTC')!r} in {value.tz}"]
    if type(value).__module__ == "numpy" and hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return [kind, repr(value.item())]
    return [kind, repr(value)]


def _type_name(value: Any) -> str:
    """``pandas.Timestamp``, ``numpy.bool``: the package and the class, as both sides spell them (pandas 3 moved
    ``__module__`` to the public one, numpy 2 dropped the ``bool_`` underscore)."""
    kind = type(value)
    return f"{kind.__module__.split('.')[0]}.{kind.__qualname__.rstrip('_')}"


def difference(written: dict[str, Any], read: dict[str, Any]) -> str | None:
    """The first part of ``read`` that is not ``written`` (a readable line), or None when they are the same."""
    for part in ("index_class", "column_axis", "attrs"):
        if written[part] != read[part]:
            return f"{part}: {_short(written[part])} came back as {_short(read[part])}"
    for what in ("columns", "index"):
        if len(written[what]) != len(read[what]):
            return f"{len(written[what])} {what} came back as {len(read[what])}"
        for before, after in zip(written[what], read[what], strict=True):
            name = f"{'column' if what == 'columns' else 'index level'} {_short(before[0])}"
            if before[1] != after[1]:
                return f"{name}: dtype {before[1]} came back as {after[1]}"
            if before[2] != after[2]:
                return f"{name} ({before[1]}): values {_short(before[2])} came back as {_short(after[2])}"
    return None


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"
