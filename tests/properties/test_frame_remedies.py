"""Each dtype a frame refusal names gets its own remedy, whole, addressed to a column or to the index.

The catalogue test runs every remedy a refusal on this pyarrow gives; most of these kinds are refused only on some
pyarrow (the view types, fixed-size lists with missing entries, unions), so this pins the text of each, for a
column and for an index, on every pyarrow that can build the dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

pytestmark = pytest.mark.ours_only


def _arrow(build: Callable[[], Any], needs: str = "") -> Callable[[], Any]:
    def dtype() -> Any:
        if needs and not hasattr(pa, needs):
            pytest.skip(f"pyarrow {pa.__version__} has no {needs}")
        return pd.ArrowDtype(build())

    return dtype


def _union(mode: str) -> Callable[[], Any]:
    fields = [pa.field("0", pa.int64()), pa.field("1", pa.string())]
    return _arrow(lambda: pa.sparse_union(fields) if mode == "sparse" else pa.dense_union(fields))


PYTHON_VALUES = "Convert it to Python values before returning the frame: "
TO_PYTHON_COLUMN = "df['c'] = pd.Series(pa.array(df['c'].array).to_pylist(), index=df.index, dtype=object)"
TO_PYTHON_INDEX = "df.index = pd.Index(pa.array(df.index.array).to_pylist(), dtype=object)"
MONTH_DAY_NANO = "Store its months, days and nanoseconds in int columns of their own (Parquet has no such interval)"
UNION = "Store each type's values in a column of its own (Parquet has no union type)"

#: kind -> (its dtype, the remedy for column 'c', the remedy for the index)
CASES: dict[str, tuple[Callable[[], Any], str, str]] = {
    "sparse": (
        lambda: pd.SparseDtype("float64"),
        "Convert it to a dense dtype before returning the frame: df['c'] = df['c'].sparse.to_dense()",
        "Convert it to a dense dtype before returning the frame: df.index = df.index.astype(df.index.dtype.subtype)",
    ),
    "categorical": (
        lambda: pd.CategoricalDtype([1, 2]),
        "Make its categories text before returning the frame: df['c'] = df['c'].cat.rename_categories(str)",
        "Make its categories text before returning the frame: df.index = df.index.rename_categories(str)",
    ),
    "string view": (
        _arrow(lambda: pa.string_view(), "string_view"),
        PYTHON_VALUES + TO_PYTHON_COLUMN,
        PYTHON_VALUES + TO_PYTHON_INDEX,
    ),
    "binary view": (
        _arrow(lambda: pa.binary_view(), "binary_view"),
        PYTHON_VALUES + TO_PYTHON_COLUMN,
        PYTHON_VALUES + TO_PYTHON_INDEX,
    ),
    "fixed-size list": (
        _arrow(lambda: pa.list_(pa.int64(), 2)),
        PYTHON_VALUES + TO_PYTHON_COLUMN,
        PYTHON_VALUES + TO_PYTHON_INDEX,
    ),
    "list view": (
        _arrow(lambda: pa.list_view(pa.int64()), "list_view"),
        PYTHON_VALUES + TO_PYTHON_COLUMN,
        PYTHON_VALUES + TO_PYTHON_INDEX,
    ),
    "month_day_nano": (_arrow(pa.month_day_nano_interval), MONTH_DAY_NANO, MONTH_DAY_NANO),
    "dense union": (_union("dense"), UNION, UNION),
    "sparse union": (_union("sparse"), UNION, UNION),
    "other byte order": (
        lambda: np.dtype("int64").newbyteorder("S"),
        "Convert it to this machine's byte order: df['c'] = df['c'].astype(df['c'].dtype.newbyteorder('='))",
        "Convert it to this machine's byte order: df.index = df.index.astype(df.index.dtype.newbyteorder('='))",
    ),
    "complex": (
        lambda: np.dtype("complex128"),
        "Store the real and imaginary parts as two float columns (df['c'].to_numpy().real and .imag)",
        "Store the real and imaginary parts as two float columns (df.index.to_numpy().real and .imag)",
    ),
    "any other": (
        lambda: np.dtype("object"),
        "Convert it to a dtype Parquet keeps before returning the frame, e.g. df['c'] = df['c'].astype(str)",
        "Convert it to a dtype Parquet keeps before returning the frame, e.g. df.index = df.index.astype(str)",
    ),
    "a large list (no arrow remedy of its own)": (
        _arrow(lambda: pa.large_list(pa.int64())),
        "Convert it to a dtype Parquet keeps before returning the frame, e.g. df['c'] = df['c'].astype(str)",
        "Convert it to a dtype Parquet keeps before returning the frame, e.g. df.index = df.index.astype(str)",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_each_dtype_gets_its_remedy_in_full_for_a_column_and_for_the_index(case):
    from xcom_s3.frame_refusals import Named, remedy

    build, for_column, for_index = CASES[case]
    dtype = build()
    assert remedy(Named("column 'c'", "df['c']", dtype)) == for_column
    assert remedy(Named("index level 0", "df.index", dtype)) == for_index
