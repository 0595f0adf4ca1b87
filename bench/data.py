"""The benchmark's values: mixed dtypes, deterministic from a seed, sized by their in-memory footprint.

Every child process rebuilds its value from (kind, size, seed) instead of loading a file, so all paths of a kind
see the same value and no path starts with a warmed-up Arrow memory pool. Strings are distinct (no shared
objects), so ``memory_usage(deep=True)`` is the real footprint on pandas 2 (object dtype) and pandas 3
(Arrow-backed ``str``). A pyarrow Table or a polars frame has the same columns, one schema on both stacks, and is
sized by its own buffers (``nbytes``, ``estimated_size``): the same target size means more rows than a pandas 2
frame, whose Python strings weigh more.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

CATEGORIES = [f"region-{i:02d}" for i in range(40)]
TZ = "Europe/Berlin"


def frame_bytes(frame: pd.DataFrame) -> int:
    """The frame's in-memory size, index included, strings counted in full."""
    return int(frame.memory_usage(index=True, deep=True).sum())


def _build(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = np.arange(rows, dtype=np.int64) * 7919 + seed
    tokens = rng.integers(0, 16**8, size=rows, dtype=np.int64)
    start = pd.Timestamp("2024-01-01", tz=TZ).value
    return pd.DataFrame(
        {
            "id": ids,
            "qty": rng.integers(-1000, 1000, size=rows, dtype=np.int32),
            "price": rng.normal(100.0, 25.0, size=rows),
            "ratio": rng.random(rows, dtype=np.float32),
            "name": [f"customer-{i:09d}-{t:08x}" for i, t in zip(ids.tolist(), tokens.tolist(), strict=True)],
            "ts": pd.to_datetime(start + rng.integers(0, 365 * 86400, size=rows) * 10**9, utc=True).tz_convert(TZ),
            "region": pd.Categorical.from_codes(rng.integers(0, len(CATEGORIES), size=rows), CATEGORIES),
            "flag": rng.random(rows) < 0.3,
        }
    )


def make_frame(target_bytes: int, seed: int = 7) -> pd.DataFrame:
    """A frame of about ``target_bytes`` in memory (rows scaled from a 10,000-row sample of the same layout)."""
    sample = _build(10_000, seed)
    per_row = frame_bytes(sample) / len(sample)
    rows = max(1, int(target_bytes / per_row))
    return _build(rows, seed)


def _arrow(rows: int, seed: int) -> Any:
    """The frame's columns as a plain Arrow table (no pandas metadata), one schema on pandas 2 and 3."""
    import pyarrow as pa

    table = pa.Table.from_pandas(_build(rows, seed), preserve_index=False).replace_schema_metadata(None)
    # pandas 3's ``str`` converts to large_string and its categorical to large_string values: cast to one layout.
    same = {"name": pa.string(), "region": pa.dictionary(pa.int8(), pa.string())}
    return table.cast(pa.schema([pa.field(f.name, same.get(f.name, f.type)) for f in table.schema]))


def _sized(build: Any, measure: Any, target_bytes: int, seed: int) -> Any:
    sample = build(10_000, seed)
    per_row = measure(sample) / 10_000
    return build(max(1, int(target_bytes / per_row)), seed)


def value_bytes(value: Any) -> int:
    """The value's in-memory size: a frame's deep memory usage, a Table's buffers, a polars frame's estimate."""
    if isinstance(value, pd.DataFrame):
        return frame_bytes(value)
    if hasattr(value, "estimated_size"):
        return int(value.estimated_size())
    return int(value.nbytes)


def value_rows(value: Any) -> int:
    return int(value.shape[0])


def make_value(kind: str, target_bytes: int, seed: int = 7) -> Any:
    """A ``kind`` ("pandas", "arrow", "polars") value of about ``target_bytes`` in memory."""
    if kind == "pandas":
        return make_frame(target_bytes, seed)
    if kind == "arrow":
        return _sized(_arrow, value_bytes, target_bytes, seed)
    if kind == "polars":
        import polars as pl

        return _sized(lambda rows, s: pl.from_arrow(_arrow(rows, s)), value_bytes, target_bytes, seed)
    raise ValueError(f"unknown kind {kind!r}")
