"""The checks that apply to ANY XCom backend, as plain functions of (backend, storage, inputs).

The hypothesis properties call them with generated inputs against the backend under test (``--backend``);
``tests/reference`` calls the same functions with a few explicit inputs against Airflow's default backend,
common-io's object-storage backend and ours, and asserts which of them fail where. Each raises AssertionError
(or what the backend raised) when the backend breaks the contract.

``storage`` is whatever lists the backend's external objects (``objects() -> list[str]``): our S3 prefix,
common-io's directory, ``NO_STORAGE`` for the default backend. ``None`` means the harness cannot see where the
backend writes: the object counts are then not asserted, only what a task would observe.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import pytest
from airflow_io import as_default_reads, default_round_trip, load, purge, round_trip, store, through_db
from findings import describe
from xcom_compat import XComContext

from properties.same_value import assert_same_value
from properties.stored import attempt


class Storage(Protocol):
    def objects(self) -> list[str]: ...


class _NoStorage:
    """A backend that writes nowhere but the metadata DB (Airflow's default)."""

    def objects(self) -> list[str]:
        return []


NO_STORAGE: Storage = _NoStorage()


def _objects(storage: Storage | None) -> set[str] | None:
    return None if storage is None else set(storage.objects())


PLAIN_VALUE = {"a": 1}


def require_push_and_pull(backend: Any, ctx: XComContext, value: Any = None) -> None:
    """The precondition of a check that expects pushes to fail: the backend can push and pull a plain value
    (``{"a": 1}`` unless given) in the same context. Otherwise every rejection the check would see is that
    failure, and the check is skipped "not reached: ..." instead of passing."""
    what = "every push" if value is None else f"a push of a plain {type(value).__name__}"
    value = PLAIN_VALUE if value is None else value
    pushed = attempt(store, backend, value, ctx)
    if not pushed.ok:
        pytest.skip(f"not reached: {what} raises {describe(pushed.error)}")  # type: ignore[arg-type]
    kept = attempt(through_db, pushed.value)
    if not kept.ok:
        pytest.skip(f"not reached: {what} returns what the metadata DB cannot hold: {describe(kept.error)}")  # type: ignore[arg-type]
    pulled = attempt(load, backend, kept.value, ctx)
    if not pulled.ok:
        pytest.skip(f"not reached: {what.replace('push', 'pull')} raises {describe(pulled.error)}")  # type: ignore[arg-type]


def _kind(value: Any) -> str:
    """How a message names a value: its type, e.g. "a dict", "a DataFrame"."""
    name = type(value).__name__
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def _shown(value: Any, limit: int = 80) -> str:
    """``value`` as a message shows it: a frame by its shape, anything else by its repr, cut to ``limit``."""
    if type(value).__name__ == "DataFrame":
        return f"<DataFrame {value.shape[0]}x{value.shape[1]}>"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def round_trips_as_default(backend: Any, value: Any, ctx: XComContext) -> None:
    """Whatever the default returns, the backend returns with the same types; whatever it rejects, it rejects."""
    expected = attempt(default_round_trip, value, ctx)
    got = attempt(round_trip, backend, value, ctx)
    if not expected.ok:
        assert not got.ok, (
            f"the default backend rejects this value ({_kind(value)}: {expected.error!r}); this backend returned "
            f"{got.value!r:.200}"
        )
        return
    if not got.ok:
        raise AssertionError(
            f"the default backend round-trips {_kind(value)}; this backend raised {describe(got.error)}"  # type: ignore[arg-type]
        ) from got.error
    try:
        assert_same_value(got.value, expected.value)
    except AssertionError as exc:
        raise AssertionError(f"{_kind(value)} comes back changed: {exc}") from None


def lookalike_comes_back(backend: Any, value: Any, ctx: XComContext) -> None:
    """A value that looks like a reference (s3:// strings, marker dicts) comes back as itself.

    A push that raises is reported as it is (the push is broken, whatever the value); a pull that raises after
    a push that worked means the backend took the user's value for one of its references.
    """
    shown = f"the user {type(value).__name__.replace('str', 'string')} {_shown(value)}"
    stored = through_db(store(backend, value, ctx))
    try:
        got = load(backend, stored, ctx)
    except Exception as exc:
        raise AssertionError(f"{shown} is read as a reference: {describe(exc)}") from exc
    try:
        assert_same_value(got, default_round_trip(value, ctx))
    except AssertionError as exc:
        raise AssertionError(f"{shown} comes back as {_shown(got)} ({exc})") from None
    assert got == value, f"{shown} comes back as {_shown(got)}"


def frame_difference(actual: Any, expected: Any) -> str | None:
    """How ``actual`` visibly differs from the frame ``expected`` (type, shape, columns, each column's dtype, the
    index's class, dtype and name), as a user would say it; None when none of these differ."""
    import pandas as pd

    if not isinstance(actual, pd.DataFrame):
        return f"got {_kind(actual)} back, not a DataFrame"
    if actual.shape != expected.shape:
        return f"shape {expected.shape} -> {actual.shape}"
    if not actual.columns.equals(expected.columns):
        return f"columns {_shown(list(expected.columns))} -> {_shown(list(actual.columns))}"
    changed = [
        f"column {name!r} {old} -> {new}"
        for name, old, new in zip(expected.columns, expected.dtypes, actual.dtypes, strict=True)
        if str(old) != str(new)
    ]
    changed += [
        f"column {name!r} categories {_shown(list(old.categories))} -> {_shown(list(new.categories))}"
        for name, old, new in zip(expected.columns, expected.dtypes, actual.dtypes, strict=True)
        if str(old) == str(new) == "category" and not old.categories.equals(new.categories)
    ]
    before, after = expected.index, actual.index
    if type(before) is not type(after) or str(before.dtype) != str(after.dtype):
        changed.append(f"index {type(before).__name__}({before.dtype}) -> {type(after).__name__}({after.dtype})")
    elif list(before.names) != list(after.names):
        changed.append(f"index names {list(before.names)!r} -> {list(after.names)!r}")
    return ", ".join(changed) or None


#: ``assert_frame_equal`` at its strictest: values bit for bit, dtypes, index and column classes, names, categories.
EXACT: dict[str, bool] = {
    "check_exact": True,
    "check_dtype": True,
    "check_index_type": True,
    "check_column_type": True,
    "check_names": True,
    "check_categorical": True,
}


def assert_frames_identical(actual: Any, expected: Any) -> None:
    """Bit-exact values, dtypes, index/column classes, names, categories; not ``freq`` (no Parquet slot).

    What a user would notice first (type, shape, a column's dtype, the index) is named before pandas' own
    comparison, e.g. "frames change on the way back: column 'c' category -> object".
    """
    import pandas as pd

    difference = frame_difference(actual, expected)
    assert difference is None, f"frames change on the way back: {difference}"
    pd.testing.assert_frame_equal(actual, expected, **EXACT, check_freq=False)


def assert_loads_as(backend: Any, stored: Any, ctx: XComContext, value: Any) -> None:
    """``stored`` (a DB value ``backend`` wrote for ``value``) still loads: as the default backend would return
    ``value``, or for a DataFrame as a frame of its shape (exactness is ``frame_round_trips``' business)."""
    got = load(backend, stored, ctx)
    if type(value).__name__ == "DataFrame":
        difference = frame_difference(got, value)
        if difference is not None and (difference.startswith("got ") or difference.startswith("shape ")):
            raise AssertionError(f"frames change on the way back: {difference}")
    else:
        assert_same_value(got, default_round_trip(value, ctx))


def frame_round_trips(backend: Any, frame: Any, ctx: XComContext) -> None:
    """A DataFrame comes back identical (dtypes, index, names) through push and pull."""
    assert_frames_identical(round_trip(backend, frame, ctx), frame)


def purge_removes_only_its_own(
    backend: Any, storage: Storage | None, pushes: list[tuple[XComContext, Any]], victim: int
) -> None:
    """Purging one row, as the release calls purge, deletes the objects that row's push created and nothing
    else; the other rows still load; a second purge (a retried clear) is harmless."""
    if getattr(backend, "purge", None) is None:
        pytest.skip("n/a: the backend has no purge hook: this Airflow never calls purge (added in 2.9)")
    rows, created = [], []
    for ctx, value in pushes:
        before = _objects(storage)
        rows.append(through_db(store(backend, value, ctx)))
        after = _objects(storage)
        created.append(None if before is None or after is None else after - before)
    everything = _objects(storage)
    ctx, row = pushes[victim][0], rows[victim]
    purge(backend, row, ctx)
    left = _objects(storage)
    own = created[victim]
    if everything is not None and left is not None and own is not None:
        assert left == everything - own, f"purge deleted {sorted(everything - left)}, expected exactly {sorted(own)}"
    for i, ((other, value), stored) in enumerate(zip(pushes, rows, strict=True)):
        if i != victim:
            assert_loads_as(backend, stored, other, value)
    purge(backend, row, ctx)
    assert _objects(storage) == left, "a second purge of the same row changed the storage"


def repeat_push_leaves_one_copy(
    backend: Any, storage: Storage | None, ctx: XComContext, first: Any, second: Any
) -> None:
    """Pushing again at the same (dag, run, task, map_index, key) without a purge in between (a retry, a 3.0.x
    mapped task, anything ``airflow db clean`` left) replaces the first object instead of orphaning it."""
    before = _objects(storage)
    through_db(store(backend, first, ctx))
    once = _objects(storage)
    stored = through_db(store(backend, second, ctx))
    twice = _objects(storage)
    if before is not None and once is not None and twice is not None:
        assert len(twice - before) <= len(once - before), (
            f"the second push left {len(twice - before)} objects where the first left {len(once - before)}: "
            f"orphaned {sorted(twice - once)}"
        )
    assert_loads_as(backend, stored, ctx, second)


def reference_pushed_as_a_value_is_just_a_value(
    backend: Any, storage: Storage | None, first_row: Any, ctx: XComContext, original: Any, other: XComContext
) -> None:
    """What the DB holds for an offloaded value (our reference dict, common-io's path), pushed by a user as a
    value of its own, comes back as that value; purging the copy leaves the original object in place.

    ``first_row`` is the DB value the caller's push of ``original`` at ``ctx`` left (offloaded or not).
    """
    _copy_is_just_a_value(backend, storage, first_row, ctx, original, other, as_default_reads(first_row, ctx))


def _copy_is_just_a_value(
    backend: Any,
    storage: Storage | None,
    first_row: Any,
    ctx: XComContext,
    original: Any,
    other: XComContext,
    held: Any,
) -> None:
    """``held`` (a copy of ``first_row`` in some form) pushed at ``other`` comes back as itself, and purging it
    leaves the original's object in place and readable."""
    before = _objects(storage)
    copy = through_db(store(backend, held, other))
    back = load(backend, copy, other)
    assert back == held, f"got {back!r:.200} back instead of the pushed value {held!r:.200}"
    if getattr(backend, "purge", None) is not None:
        purge(backend, copy, other)  # purging the copy must not touch the original's object
    after = _objects(storage)
    if before is not None and after is not None:
        assert before <= after, f"purging the copy deleted {sorted(before - after)}"
    assert load(backend, first_row, ctx) == original


def large_values_leave_a_small_row(backend: Any, value: Any, ctx: XComContext, max_row_bytes: int = 1024) -> None:
    """A value far above the backend's offloading threshold leaves only a small row in the metadata DB."""
    stored = through_db(store(backend, value, ctx))
    size = len(stored) if isinstance(stored, (bytes, bytearray)) else len(repr(stored).encode())
    assert size < max_row_bytes, f"the metadata DB row holds {size} bytes: the value was not offloaded"
    assert load(backend, stored, ctx) == value


def text_of_a_reference_pushed_as_a_value_is_just_a_value(
    backend: Any, storage: Storage | None, first_row: Any, ctx: XComContext, original: Any, other: XComContext
) -> None:
    """The JSON text of what the DB holds for an offloaded value, pushed by a user as a string, comes back as that
    string; purging the copy leaves the original object in place. (A reader that accepts JSON text where it
    expects a stored value, as rows the 3.x REST API writes hold, must not take the string for the reference.)"""
    text = json.dumps(as_default_reads(first_row, ctx), default=repr)
    _copy_is_just_a_value(backend, storage, first_row, ctx, original, other, text)
