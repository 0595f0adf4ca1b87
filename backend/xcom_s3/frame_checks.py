"""The checks before and during the upload: a frame that would not come back exactly is refused, naming why.

The head of the frame (:data:`SAMPLE_ROWS` rows) makes the whole round trip through the very writer and reader
that frames.py uses (:class:`RoundTrip`) and is compared with what went in; object columns are compared value by
value as each slice is encoded (:func:`check_python`); ``DataFrame.attrs`` must survive JSON. No list of
unsupported dtypes is kept: whatever Parquet, Arrow or pandas cannot hold shows up in the round trip.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from xcom_s3 import frame_layout, frame_refusals
from xcom_s3.errors import UnsupportedFrameError


class RoundTrip(NamedTuple):
    """frames.py's writer and reader, passed in so the checks run the very code that uploads and downloads."""

    write: Callable[[Any, Any, str], None]  #: (frame, binary sink, codec)
    read: Callable[[Any], Any]  #: Parquet bytes -> frame


#: Rows of the frame that make the whole round trip before the push (see :func:`check_round_trip`).
SAMPLE_ROWS = 64


def attrs_json(frame: Any) -> bytes | None:
    """``DataFrame.attrs`` as JSON that gives them back exactly, or the refusal saying what cannot be kept."""
    if not frame.attrs:
        return None
    try:
        text = json.dumps(frame.attrs, allow_nan=True)
        same = _same_python(json.loads(text), frame.attrs)
    except (TypeError, ValueError) as exc:
        text, same = "", str(exc)
    if same is not True:
        raise UnsupportedFrameError(
            f"DataFrame.attrs {frame.attrs!r:.200} cannot be stored exactly as JSON ({same}). Keep only str keys "
            "and JSON values (lists, not tuples) in df.attrs, or clear them (df.attrs = {}) before returning the frame."
        )
    return text.encode()


def _same_python(got: Any, expected: Any) -> bool | str:
    """True when ``got`` is ``expected`` exactly: the same type at every level, the same value (NaN is NaN, -0.0 is
    not 0.0, Decimal('1.5') is not Decimal('1.50'), a time zone is the same tzinfo); else what differs."""
    import numpy as np

    if type(got) is not type(expected):
        return f"{type(expected).__name__} {expected!r:.60} comes back as {type(got).__name__} {got!r:.60}"
    if isinstance(expected, dict):
        if list(got) != list(expected):
            return f"the dict {expected!r:.60} comes back as {got!r:.60}"
        return next((d for k in expected if (d := _same_python(got[k], expected[k])) is not True), True)
    if isinstance(expected, (list, tuple)):
        if len(got) != len(expected):
            return f"{expected!r:.60} comes back as {got!r:.60}"
        return next((d for a, b in zip(got, expected, strict=True) if (d := _same_python(a, b)) is not True), True)
    if isinstance(expected, np.ndarray):
        if got.dtype != expected.dtype or got.shape != expected.shape:
            return f"the array {expected!r:.60} comes back as {got!r:.60}"
        return _same_python(got.tolist(), expected.tolist())
    return True if got is expected or repr(got) == repr(expected) else f"{expected!r:.60} comes back as {got!r:.60}"


def _python_mismatch(chunked: Any, values: Any, decoder: str) -> str | None:
    """How ``decoder`` fails to give back the non-missing ``values`` of an object column, or None."""
    import numpy as np
    import pandas as pd

    array = np.asarray(values)  # an object column's (or level's) own ndarray of Python values
    try:
        decoded = frame_layout.DECODERS[decoder](chunked)
    except frame_refusals.arrow_errors() as exc:
        return f"Arrow cannot convert it back: {frame_refusals.reason(exc)}"
    for row in np.flatnonzero(~pd.isna(array)):
        same = _same_python(decoded[row], array[row])
        if same is not True:
            return f"row {row}: {same}"
    return None


def check_python(table: Any, part: Any, fields: Sequence[tuple[frame_layout.Field, Callable[[Any], Any]]]) -> None:
    """Each object field of Python values gives this slice's values back through its decoder, the first of
    :data:`frame_layout.DECODERS` that gives back the first slice's; else the push is refused naming the field."""
    for spec, get in fields:
        descriptor = spec.descriptor
        if descriptor.get("values") != "python" or spec.field is None:
            continue
        chunked = table.column(spec.field)
        if "decoder" in descriptor:
            mismatch = _python_mismatch(chunked, get(part), descriptor["decoder"])
        else:
            tried = {decoder: _python_mismatch(chunked, get(part), decoder) for decoder in frame_layout.DECODERS}
            found = [decoder for decoder, failed in tried.items() if failed is None]
            mismatch = None if found else tried["pylist"]
            descriptor["decoder"] = found[0] if found else "pylist"
        if mismatch:
            raise frame_refusals.refusal(
                spec,
                f"Parquet cannot give its values back as they went in ({mismatch})",
                frame_refusals.python_values_remedy(spec.target),
            )


def check_round_trip(frame: Any, codec: str, trip: RoundTrip) -> Any:
    """The first :data:`SAMPLE_ROWS` rows of ``frame`` go through this writer, Parquet and this reader: a dtype,
    index, name or value that would not come back exactly refuses the push, naming what and why.

    Whatever Parquet, Arrow or pandas cannot hold shows up here, whatever its dtype: no list of unsupported dtypes
    is kept. Object columns are compared value by value on every slice as well (:func:`check_python`).
    Returns the encoded file when the head is the whole frame (so it is encoded once), else None.
    """
    import pyarrow as pa

    swapped = _byte_swapped(frame)
    if swapped is not None:
        raise swapped
    head = frame.iloc[:SAMPLE_ROWS]
    whole = len(head) == len(frame)
    if not whole:  # only the file of a whole frame is kept: the codec does not change what comes back
        head, codec = _unproven(head), "none"
    head.attrs = frame.attrs
    try:
        sink = pa.BufferOutputStream()
        trip.write(head, sink, codec)
        encoded = sink.getvalue()
        back = trip.read(encoded)
    except UnsupportedFrameError:
        raise
    except Exception as exc:  # whatever Arrow, Parquet or pandas raise: the column at fault is named instead
        raise culprit(head, codec, exc, trip) from exc
    difference = _difference(back, head)
    if difference is not None:
        raise difference
    return encoded if whole else None


def _byte_swapped(frame: Any) -> UnsupportedFrameError | None:
    """The refusal of the first numpy column not in this machine's byte order (``>i8`` here): Arrow takes no such
    array, and pandas 2 cannot even select columns beside one (its take raises a ValueError of its own)."""
    import numpy as np

    for position, dtype in enumerate(frame.dtypes):
        if isinstance(dtype, np.dtype) and not dtype.isnative:
            named = frame_layout.places(frame.iloc[:0])[position][0]
            return frame_refusals.refusal(named, "Arrow takes no byte-swapped arrays", frame_refusals.remedy(named))
    return None


def _plain_dtypes() -> frozenset[Any]:
    import numpy as np

    names = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64")
    return frozenset(np.dtype(name) for name in names)


def _unproven(head: Any) -> Any:
    """The head without its columns that are exact by construction: native-order numpy bools, ints and 32/64-bit
    floats, which Arrow and Parquet hold as they are and the layout casts back to their dtype. Each column costs
    the round trip about a millisecond. Kept whole when its labels are not all ``str`` (whether labels of mixed
    types come back depends on all of them); one column is always kept, so the index and labels make the trip."""
    labels = head.columns
    if labels.nlevels > 1 or not all(type(label) is str for label in labels):
        return head
    import numpy as np

    plain = _plain_dtypes()
    keep = [p for p, dtype in enumerate(head.dtypes) if not (isinstance(dtype, np.dtype) and dtype in plain)]
    if len(keep) == head.shape[1]:
        return head
    return head.iloc[:, keep or [0]]


def _survives(frame: Any, codec: str, trip: RoundTrip) -> Exception | None:
    """What a small frame's round trip raises, or None."""
    import pyarrow as pa

    try:
        sink = pa.BufferOutputStream()
        trip.write(frame, sink, codec)
        trip.read(sink.getvalue())
    except Exception as exc:
        return exc
    return None


def culprit(head: Any, codec: str, exc: Exception, trip: RoundTrip) -> UnsupportedFrameError:
    """The refusal for a head that failed its round trip: the first column, else index level, failing alone."""
    import pandas as pd

    places = frame_layout.places(head)
    for position in range(head.shape[1]):
        alone = head.iloc[:, [position]].set_axis(pd.RangeIndex(len(head)))
        failed = _survives(alone, codec, trip)
        if isinstance(failed, UnsupportedFrameError):
            return failed
        if failed is not None:
            named = places[position][0]
            return frame_refusals.refusal(named, frame_refusals.reason(failed), frame_refusals.remedy(named))
    for named, values in places[head.shape[1] :]:
        # dtype=: pandas 2 would make an object level of Periods (datetimes, intervals) a typed one that passes.
        probe = pd.DataFrame({"v": range(len(values))}, index=pd.Index(values, dtype=values.dtype))
        failed = _survives(probe, codec, trip)
        if failed is not None:
            return frame_refusals.refusal(named, frame_refusals.reason(failed), frame_refusals.remedy(named))
    return UnsupportedFrameError(
        f"DataFrame cannot be stored as Parquet: {frame_refusals.reason(exc)}. No column or index level fails alone: "
        "convert the columns of unusual dtypes to plain ones (e.g. df[c] = df[c].astype(str)) before returning the "
        "frame."
    )


def _difference(got: Any, expected: Any) -> UnsupportedFrameError | None:
    """The refusal naming the first column, index level, label or attribute where ``got`` is not ``expected``."""
    import pandas as pd

    testing = pd.testing
    columns, levels = frame_layout.fields(expected)
    dtypes = got.dtypes  # a new Series on every access
    for position, spec in enumerate(columns):
        try:
            testing.assert_series_equal(
                got.iloc[:, position], expected.iloc[:, position], check_exact=True, check_names=False,
                check_index=False, check_categorical=True,
            )  # fmt: skip
            if str(dtypes.iloc[position]) != str(spec.dtype):
                raise AssertionError(f"dtype {spec.dtype} comes back as {dtypes.iloc[position]}")
            _assert_same_objects(got.iloc[:, position], expected.iloc[:, position])
        except AssertionError as exc:
            return frame_refusals.refusal(spec, frame_refusals.changed(exc), frame_refusals.remedy(spec))
        except Exception as exc:  # pandas cannot even compare it (e.g. an ArrowDtype of string_view)
            reason = (
                f"pandas cannot compare its values ({frame_refusals.reason(exc)}), so its round trip cannot be checked"
            )
            return frame_refusals.refusal(spec, reason, frame_refusals.remedy(spec))
    index = expected.index
    try:
        testing.assert_index_equal(got.index, index, exact=True, check_exact=True, check_names=True)
        for level in range(index.nlevels):
            _assert_same_objects(got.index.get_level_values(level), index.get_level_values(level))
        if getattr(index, "freq", None) != getattr(got.index, "freq", None):
            raise AssertionError(f"freq {index.freq} comes back as {got.index.freq}")
    except Exception as exc:  # AssertionError, or pandas cannot compare this index
        same = [str(got.index.get_level_values(i).dtype) == str(level.dtype) for i, level in enumerate(levels)]
        if not levels:
            return UnsupportedFrameError(f"DataFrame index cannot be stored exactly: {frame_refusals.changed(exc)}.")
        culprit = levels[same.index(False)] if False in same else levels[0]
        return frame_refusals.refusal(culprit, frame_refusals.changed(exc), frame_refusals.remedy(culprit))
    try:
        testing.assert_index_equal(got.columns, expected.columns, exact=True, check_exact=True, check_names=True)
    except AssertionError as exc:
        return UnsupportedFrameError(
            f"DataFrame column labels (dtype {expected.columns.dtype}) cannot be stored exactly: "
            f"{frame_refusals.changed(exc)}. Use str labels (df.columns = df.columns.map(str))."
        )
    return None


def _assert_same_objects(got: Any, expected: Any) -> None:
    """The values of an object column come back as the same Python values (pandas' equality takes None for NaN
    and 1 for 1.0)."""
    import numpy as np

    if expected.dtype == np.dtype(object):
        for row, (a, b) in enumerate(zip(got, expected, strict=True)):
            same = _same_python(a, b)
            if same is not True:
                raise AssertionError(f"row {row}: {same}")


def explained(frame: Any, exc: Exception) -> Exception:
    """The refusal naming the first column (else index level) pyarrow cannot convert, its dtype and why; ``exc``
    itself when none fails alone (the caller then finds the culprit by a round trip)."""
    import pyarrow as pa

    for named, values in frame_layout.places(frame):
        try:
            pa.array(values.array, from_pandas=True)  # the values alone (a Series' index has its own dtype)
        except frame_refusals.arrow_errors() as column_exc:
            kinds = sorted({type(v).__name__ for v in values.dropna().tolist()[:1000]})
            mixed = f"Give it one type Parquet keeps, e.g. {named.target} = {named.target}.astype(str)"
            remedy = mixed if str(named.dtype) == "object" else frame_refusals.remedy(named)
            return frame_refusals.refusal(
                named, f"{frame_refusals.reason(column_exc)}; it holds values of types {kinds}", remedy
            )
    return exc
