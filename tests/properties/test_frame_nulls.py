"""(2) A missing value of an object column or index level comes back as the very kind it went in as.

Parquet has one null; the layout records which of pandas' missing values an object column holds (None, float NaN,
``pd.NA``, ``pd.NaT``) and the reader puts that one back, whatever the present values are: text, ints, or
sequences (lists, which an object array must hold as such). pandas' own equality cannot tell these apart (it takes
None for NaN), so each missing value is checked by identity (NaN: a float that is NaN). Any backend.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from airflow_io import round_trip
from xcom_compat import XComContext

from properties.same_value import assert_same_value

CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)
MISSING: dict[str, Any] = {"None": None, "nan": float("nan"), "NA": pd.NA, "NaT": pd.NaT}
#: Present values of each kind an object column holds: Arrow gives text back as it is, the others through Python.
PRESENT: dict[str, list[Any]] = {"text": ["a", "b"], "ints": [1, 2], "lists": [[1, 2], [3]]}


def same_missing(got, expected) -> bool:
    if isinstance(expected, float):
        return type(got) is float and math.isnan(got)
    return got is expected


def objects(values: list) -> np.ndarray:
    """An object array holding ``values`` as they are (lists stay lists, not a 2-d array)."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


@pytest.mark.parametrize("present", list(PRESENT), ids=list(PRESENT))
@pytest.mark.parametrize("kind", list(MISSING), ids=list(MISSING))
def test_missing_values_of_an_object_column_come_back_as_themselves(backend, xcom_s3_env, kind, present):
    first, second = PRESENT[present]
    values = objects([first, MISSING[kind], second, MISSING[kind]])
    frame = pd.DataFrame({"o": pd.Series(values, dtype=object), "n": [1, 2, 3, 4]})
    got = round_trip(backend, frame, CTX)
    assert str(got["o"].dtype) == "object", got.dtypes
    back = got["o"].tolist()
    for row in (1, 3):
        assert same_missing(back[row], MISSING[kind]), f"row {row}: {MISSING[kind]!r} comes back as {back[row]!r}"
    assert_same_value([back[0], back[2]], [first, second])


@pytest.mark.parametrize("kind", list(MISSING), ids=list(MISSING))
def test_missing_values_of_an_object_index_come_back_as_themselves(backend, xcom_s3_env, kind):
    index = pd.Index(objects(["a", MISSING[kind], "b"]), dtype=object, name="key")
    got = round_trip(backend, pd.DataFrame({"n": [1, 2, 3]}, index=index), CTX)
    assert str(got.index.dtype) == "object", got.index
    back = got.index.tolist()
    assert same_missing(back[1], MISSING[kind]), f"{MISSING[kind]!r} comes back as {back[1]!r}"
    assert_same_value([back[0], back[2]], ["a", "b"])
