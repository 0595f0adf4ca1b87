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

from typing import Any, Protocol

import pytest
from airflow_io import as_default_reads, default_round_trip, load, purge, round_trip, store, through_db
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


def round_trips_as_default(backend: Any, value: Any, ctx: XComContext) -> None:
    """Whatever the default returns, the backend returns with the same types; whatever it rejects, it rejects."""
    expected = attempt(default_round_trip, value, ctx)
    got = attempt(round_trip, backend, value, ctx)
    if not expected.ok:
        assert not got.ok, (
            f"the default backend rejects this value ({expected.error!r}); this backend returned {got.value!r}"
        )
        return
    assert got.ok, f"the default backend round-trips this value; this backend raised {got.error!r}"
    assert_same_value(got.value, expected.value)


def lookalike_comes_back(backend: Any, value: Any, ctx: XComContext) -> None:
    """A value that looks like a reference (s3:// strings, marker dicts) comes back as itself."""
    got = round_trip(backend, value, ctx)
    assert_same_value(got, default_round_trip(value, ctx))
    assert got == value


def assert_frames_identical(actual: Any, expected: Any) -> None:
    """Bit-exact values, dtypes, index/column classes, names, categories; not ``freq`` (no Parquet slot)."""
    import pandas as pd

    assert isinstance(actual, pd.DataFrame), f"got a {type(actual).__name__} back, not a DataFrame"
    pd.testing.assert_frame_equal(
        actual,
        expected,
        check_exact=True,
        check_dtype=True,
        check_index_type=True,
        check_column_type=True,
        check_names=True,
        check_categorical=True,
        check_freq=False,
    )


def assert_loads_as(backend: Any, stored: Any, ctx: XComContext, value: Any) -> None:
    """``stored`` (a DB value ``backend`` wrote for ``value``) still loads: as the default backend would return
    ``value``, or for a DataFrame as a frame of its shape (exactness is ``frame_round_trips``' business)."""
    got = load(backend, stored, ctx)
    if type(value).__name__ == "DataFrame":
        assert type(got).__name__ == "DataFrame" and got.shape == value.shape, f"got {got!r:.200} for a frame"
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
        pytest.skip("the backend has no purge hook: this Airflow never calls purge (added in 2.9)")
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
    held = as_default_reads(first_row, ctx)
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
