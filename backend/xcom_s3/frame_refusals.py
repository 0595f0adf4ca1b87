"""Refusing a frame: messages that name the column (or index level), its dtype, why and what to do instead.

Every refusal is an :class:`UnsupportedFrameError` raised before the upload completes (see frame_checks).
"""

from __future__ import annotations

from typing import Any

from xcom_s3.errors import UnsupportedFrameError


def arrow_errors() -> tuple[type[Exception], ...]:
    import pyarrow as pa

    # UnicodeEncodeError: text Parquet cannot hold as UTF-8 (lone surrogates), raised while converting a column.
    # OverflowError: a Python int beyond 64 bits. TypeError: what pandas cannot hand to Arrow (sparse data).
    return (pa.ArrowException, UnicodeEncodeError, OverflowError, TypeError, ValueError, NotImplementedError)


#: Milliseconds in a day: Parquet has no date64, so it stores one as date32, whole days since the epoch.
MS_PER_DAY = 86_400_000


def time_of_day(values: Any) -> str | None:
    """Why a date64 array (or chunked array) cannot be stored exactly: its first value that is not a whole day;
    None if every value is one.

    Parquet would give such a value back as its day's midnight, silently: the round trip of the head compares
    Python values, and a date64 converts to a ``date`` without its time of day, so only this check sees it.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    ms = pc.cast(values, pa.int64())
    remainder = pc.subtract(ms, pc.multiply(pc.divide(ms, MS_PER_DAY), MS_PER_DAY))  # integer division
    row = pc.index(pc.not_equal(remainder, 0), True).as_py()
    if row < 0:
        return None
    return (
        f"its value at row {row} ({ms[row].as_py()} ms) holds a time of day, and Parquet keeps date64 as whole "
        "days: it would come back as midnight"
    )


class Named:
    """A column or index level as a message names it: where it is, the expression a remedy assigns to, its dtype."""

    def __init__(self, where: str, target: str, dtype: Any) -> None:
        self.where = where  #: "column 'c'", "index level 'i'", "index level 0"
        self.target = target  #: "df['c']", "df.index"
        self.dtype = dtype


def reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


def changed(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"it would come back changed ({text[:300]})"


def refusal(spec: Named, reason: str, remedy: str) -> UnsupportedFrameError:
    return UnsupportedFrameError(
        f"DataFrame {spec.where} (dtype {spec.dtype}) cannot be stored as Parquet exactly: {reason}. {remedy}."
    )


def python_values_remedy(target: str) -> str:
    """What to do with an object column (or index level) whose Python values Parquet would give back otherwise."""
    return (
        "Convert the values to ones Parquet keeps: lists rather than tuples or sets, dicts with the same str keys in "
        "the same order, ints within 64 bits, Decimals of one scale, datetimes of one time zone "
        f"(e.g. {target} = {target}.map(list, na_action='ignore')), or to text ({target} = {target}.astype(str))"
    )


def remedy(spec: Named) -> str:
    """What to do with a column (or index level) whose dtype cannot be kept: the usual conversion for its kind."""
    import numpy as np
    import pandas as pd

    target = spec.target
    index = target.startswith("df.index")  # an Index has no .sparse or .cat accessor: the methods are its own
    if isinstance(spec.dtype, pd.SparseDtype):
        dense = f"{target}.astype({target}.dtype.subtype)" if index else f"{target}.sparse.to_dense()"
        return f"Convert it to a dense dtype before returning the frame: {target} = {dense}"
    if isinstance(spec.dtype, pd.CategoricalDtype):  # astype(str) gives numpy str_ values, not str
        categories = f"{target}.rename_categories(str)" if index else f"{target}.cat.rename_categories(str)"
        return f"Make its categories text before returning the frame: {target} = {categories}"
    arrow = str(spec.dtype.pyarrow_dtype) if isinstance(spec.dtype, pd.ArrowDtype) else ""
    # pandas can neither cast nor filter the view types, and casts no nested type to str (pyarrow 14-16 write no
    # fixed-size list with missing entries): their Python values, which an object column keeps, are what works.
    if arrow in ("string_view", "binary_view") or arrow.startswith(("fixed_size_list", "list_view")):
        values = f"pa.array({target}.array).to_pylist()"
        python = f"pd.Index({values}, dtype=object)" if index else f"pd.Series({values}, index=df.index, dtype=object)"
        return f"Convert it to Python values before returning the frame: {target} = {python}"
    if arrow == "month_day_nano_interval":
        return "Store its months, days and nanoseconds in int columns of their own (Parquet has no such interval)"
    if arrow.startswith(("dense_union", "sparse_union")):
        return "Store each type's values in a column of its own (Parquet has no union type)"
    if isinstance(spec.dtype, np.dtype) and not spec.dtype.isnative:
        return f"Convert it to this machine's byte order: {target} = {target}.astype({target}.dtype.newbyteorder('='))"
    if spec.dtype.kind == "c":  # every numpy and extension dtype has a kind ("O" unless it says otherwise)
        return f"Store the real and imaginary parts as two float columns ({target}.to_numpy().real and .imag)"
    return f"Convert it to a dtype Parquet keeps before returning the frame, e.g. {target} = {target}.astype(str)"
