"""The benchmark's DataFrames: mixed dtypes, deterministic from a seed, sized by their in-memory footprint.

Every child process rebuilds its frame from (size, seed) instead of loading a file, so all paths see the same
frame and no path starts with a warmed-up Arrow memory pool. Strings are distinct (no shared objects), so
``memory_usage(deep=True)`` is the real footprint on pandas 2 (object dtype) and pandas 3 (Arrow-backed ``str``).
"""

from __future__ import annotations

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
