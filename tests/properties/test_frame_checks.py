"""(2) The checks before a frame's upload judge what comes back, wherever in the frame it hides.

The head of a frame makes the whole round trip before the push, and Python values are compared one by one; these
properties pin that the judgement holds for every input of a shape, not just the one example a refusal text test
uses: a tuple refused at the first key of ``df.attrs`` is refused at any key and at any depth; a numpy array in an
object column comes back as an array of its own dtype or is refused; a frame longer than the checked head is
judged as its head alone would be; and a frame that fails only as a whole (no column or index level failing
alone) gets the general refusal, never one blaming a part that is fine. Ours only: the texts are ours.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from airflow_io import round_trip, store
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst
from xcom_compat import XComContext
from xcom_s3 import frame_checks, frames
from xcom_s3.errors import UnsupportedFrameError

from properties.budget import share

pytestmark = pytest.mark.ours_only

CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)
#: Rows past the checked head (frame_checks.SAMPLE_ROWS), so the head is not the whole frame.
LONG = frame_checks.SAMPLE_ROWS + 36


def refusal(backend: Any, xcom_s3_env: Any, frame: pd.DataFrame) -> str:
    """The text of the refusal pushing ``frame`` meets (nothing reaches S3)."""
    xcom_s3_env.set("threshold", 0)
    with pytest.raises(UnsupportedFrameError) as raised:
        store(backend, frame, CTX)
    assert xcom_s3_env.keys() == [], "a refused frame wrote to S3"
    return str(raised.value)


# ---- DataFrame.attrs: a value JSON would change is refused wherever it sits ----------------------------------

_json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.text(max_size=4))


@st.composite
def attrs_with_a_tuple(draw: st.DrawFn) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """``df.attrs`` of JSON values with one tuple (JSON gives back a list) at a drawn key and list position."""
    keys = draw(st.lists(st.text(min_size=1, max_size=4), min_size=1, max_size=4, unique=True))
    attrs: dict[str, Any] = {key: draw(st.one_of(_json_scalars, st.lists(_json_scalars, max_size=3))) for key in keys}
    tup = tuple(draw(st.lists(_json_scalars, max_size=2)))
    key = draw(st.sampled_from(keys))
    if draw(st.booleans()):
        items = draw(st.lists(_json_scalars, max_size=3))
        items.insert(draw(st.integers(0, len(items))), tup)
        attrs[key] = items
    else:
        attrs[key] = tup
    return attrs, tup


@given(drawn=attrs_with_a_tuple())
@example(drawn=({"ok": 1, "shape": (3, 2)}, (3, 2)))  # the tuple after a key that comes back the same
@example(drawn=({"x": [1, (2,)]}, (2,)))  # after a list item that comes back the same
@example(drawn=({"x": [(1, 2), 3]}, (1, 2)))  # before one
def test_attrs_holding_a_tuple_anywhere_are_refused(backend, xcom_s3_env, drawn):
    """JSON gives a tuple back as a list, at whatever key and list position it sits: the push is refused, naming
    the tuple, and nothing reaches S3."""
    attrs, tup = drawn
    frame = pd.DataFrame({"a": [1, 2]})
    frame.attrs = attrs
    message = refusal(backend, xcom_s3_env, frame)
    assert message.startswith("DataFrame.attrs "), message
    assert f"tuple {tup!r:.60} comes back as list" in message, message


# ---- numpy arrays in an object column ------------------------------------------------------------------------

_array_dtypes = st.one_of(
    npst.integer_dtypes(endianness="="),
    npst.unsigned_integer_dtypes(endianness="="),
    npst.floating_dtypes(endianness="=", sizes=(32, 64)),
    npst.boolean_dtypes(),
    npst.unicode_string_dtypes(endianness="=", min_len=1, max_len=3),
    npst.byte_string_dtypes(min_len=1, max_len=3),
)


@share(0.5)
@given(dtype=_array_dtypes, data=st.data())
@example(dtype=np.dtype("<U2"), data=None)  # Arrow reads text arrays back as object arrays: refused
@example(dtype=np.dtype("int8"), data=None)
def test_numpy_arrays_in_an_object_column_come_back_of_their_own_dtype_or_are_refused(
    backend, xcom_s3_env, dtype, data
):
    """An object column of 1-D arrays of one dtype comes back as arrays of that very dtype and values, or its push
    is refused naming the column: never arrays of another dtype (text arrays as object arrays)."""
    shape = (2,)
    if data is None:
        first = np.array(["a", "bc"], dtype=dtype) if dtype.kind == "U" else np.array([1, 2], dtype=dtype)
        values = [first, first[::-1].copy()]
    else:
        elements = npst.arrays(dtype, shape, elements={"allow_nan": False} if dtype.kind == "f" else None)
        values = data.draw(st.lists(elements, min_size=1, max_size=3))
    frame = pd.DataFrame({"arrays": pd.Series(values, dtype=object)})
    xcom_s3_env.set("threshold", 0)
    try:
        back = round_trip(backend, frame, CTX)
    except UnsupportedFrameError as exc:
        assert str(exc).startswith("DataFrame column 'arrays' (dtype object) cannot be stored"), str(exc)
        return
    for row, (got, sent) in enumerate(zip(back["arrays"], values, strict=True)):
        assert isinstance(got, np.ndarray) and got.dtype == sent.dtype, f"row {row}: {sent!r} came back as {got!r}"
        assert got.tolist() == sent.tolist(), f"row {row}: {sent!r} came back as {got!r}"


def test_numpy_text_arrays_in_an_object_column_are_refused(backend, xcom_s3_env):
    """Arrow gives text arrays back as object arrays of str: the push is refused, saying so."""
    frame = pd.DataFrame({"arrays": pd.Series([np.array(["a", "bc"]), np.array(["d", "e"])], dtype=object)})
    message = refusal(backend, xcom_s3_env, frame)
    assert message.startswith("DataFrame column 'arrays' (dtype object) cannot be stored as Parquet exactly: "), message
    assert "row 0: ndarray array(['a', 'bc'], dtype='<U2') comes back as" in message, message


# ---- the checked head stands for the whole frame -----------------------------------------------------------------


def _longer(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame``'s rows repeated past the checked head, after a plain int64 column (exact by construction, which
    the head's round trip may leave out)."""
    reps = -(-LONG // len(frame))
    long = pd.concat([frame] * reps).iloc[:LONG]
    long.insert(0, "plain", np.arange(LONG, dtype="int64"))
    return long


def _first_sentence(message: str) -> str:
    """Where and what (``DataFrame column 'c' (dtype ...) cannot be stored as Parquet exactly``), without the
    quoted values, which differ with the rows."""
    return message.split(": ", 1)[0]


def test_a_frame_past_the_checked_head_is_refused_as_its_head_alone_is(backend, xcom_s3_env):
    """Every catalogue member refused as a short frame is refused the same way (the same column, dtype and kind of
    reason) as a frame of more rows than the head the checks round-trip, after a plain column: what the head's
    round trip catches (a dtype pandas cannot even compare, labels of mixed types) is not lost for leaving exact
    columns out of it."""
    import frame_catalogue

    xcom_s3_env.set("threshold", 0)
    checked = 0
    for name, build in frame_catalogue.members().items():
        frame = build()
        if len(frame) == 0 or frame.columns.nlevels > 1 or "plain" in frame.columns:
            continue
        try:
            store(backend, frame, CTX)
            continue
        except UnsupportedFrameError as exc:
            short = str(exc)
        try:
            store(backend, _longer(frame), CTX)
        except UnsupportedFrameError as exc:
            assert _first_sentence(str(exc)) == _first_sentence(short), f"{name}: {exc} (short: {short})"
        else:
            raise AssertionError(f"{name}: refused in {len(frame)} rows ({short}), pushed in {LONG}")
        checked += 1
    assert checked >= 20, f"only {checked} catalogue members are refused"


# ---- a frame failing only as a whole ------------------------------------------------------------------------------


def test_a_frame_failing_only_as_a_whole_gets_the_general_refusal():
    """When the frame's round trip fails but each column, and each stored index level, round-trips alone (a
    failure of their combination), the refusal says so and names none of them: a column or index level that is
    fine is never blamed. The writer is frames.py's own, made to fail on frames of more than one column."""
    cause = ValueError("the columns do not go together")

    def write(frame: Any, sink: Any, codec: str) -> None:
        if frame.shape[1] > 1:
            raise cause
        frames._write(frame, sink, codec)

    trip = frame_checks.RoundTrip(write=write, read=frames.parquet_to_frame)
    head = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}, index=pd.Index([10, 20], name="k"))
    refused = frame_checks.culprit(head, "zstd", cause, trip)
    assert str(refused) == (
        "DataFrame cannot be stored as Parquet: ValueError: the columns do not go together. No column or index level "
        "fails alone: convert the columns of unusual dtypes to plain ones (e.g. df[c] = df[c].astype(str)) before "
        "returning the frame."
    )


def test_a_frame_failing_only_as_a_whole_is_refused_through_the_push(backend, xcom_s3_env, monkeypatch):
    """The same through a push: frames.py's round trip is what the checks run, so the refusal reaches the task."""
    cause = ValueError("the columns do not go together")
    real = frames._write

    def write(frame: Any, sink: Any, codec: str) -> None:
        if frame.shape[1] > 1:
            raise cause
        real(frame, sink, codec)

    monkeypatch.setattr(frames, "_ROUND_TRIP", frame_checks.RoundTrip(write=write, read=frames.parquet_to_frame))
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}, index=pd.Index([10, 20], name="k"))
    message = refusal(backend, xcom_s3_env, frame)
    assert message.startswith("DataFrame cannot be stored as Parquet: ValueError: the columns do not go together. "), (
        message
    )
