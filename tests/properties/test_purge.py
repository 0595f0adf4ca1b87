"""(6) purge, called as the release calls it, removes exactly the referenced object and nothing else."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
from airflow_io import PURGE_CALLED, is_ours, load, purge, store, through_db
from hypothesis import given
from hypothesis import strategies as st
from strategies import context_tuple, contexts, frames, json_values
from xcom_compat import BaseXCom, XComContext, capabilities

from properties.budget import share
from properties.checks import assert_loads_as, purge_removes_only_its_own

WHY_NOT_CALLED = (
    f"n/a: Airflow {capabilities().airflow_version} never calls XCom.purge (added in 2.9): the hook is tested "
    "directly, and deterministic keys make reruns overwrite instead"
)


@share(0.3)
@given(
    ctxs=st.lists(contexts(), min_size=1, max_size=4, unique_by=context_tuple),
    victim=st.integers(min_value=0),
    frame=frames(max_rows=3),
)
def test_purge_removes_exactly_the_referenced_object(backend, xcom_s3_env, storage, ctxs, victim, frame):
    """Any backend: of several offloaded values (JSON and a frame), purging one deletes its object only."""
    xcom_s3_env.new_prefix()
    xcom_s3_env.set("threshold", 0)
    frame_ctx = XComContext(key="frame", task_id="f", dag_id="f", run_id="f", map_index=-1)
    pushes = [(ctx, {"i": i}) for i, ctx in enumerate(ctxs)] + [(frame_ctx, frame)]
    purge_removes_only_its_own(backend, storage, pushes, victim % len(pushes))


@pytest.mark.ours_only
def test_a_purged_value_is_missing_not_wrong(backend, xcom_s3_env):
    """Reading a purged reference raises ObjectMissingError (never another value); purging twice is harmless."""
    from xcom_s3.errors import ObjectMissingError

    xcom_s3_env.set("threshold", 0)
    ctx = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)
    stored = through_db(store(backend, {"gone": True}, ctx))
    assert len(xcom_s3_env.keys()) == 1
    purge(backend, stored, ctx)
    purge(backend, stored, ctx)
    assert xcom_s3_env.keys() == []
    with pytest.raises(ObjectMissingError):
        load(backend, stored, ctx)


#: Offloaded by any backend that offloads at all (ours at THRESHOLD=0; 64 KiB is our default threshold).
NEIGHBOUR = {"neighbour": True, "pad": "x" * 70_000}


@share(0.3)
@given(value=json_values(), ctx=contexts())
def test_purging_an_inline_value_deletes_nothing(backend, xcom_s3_env, storage, value, ctx):
    """Any backend: inline rows point at nothing: purging one leaves the other XComs of its task instance
    readable (an offloaded neighbour still loads) and, where the harness sees the storage, every object in place."""
    if getattr(backend, "purge", None) is None:
        pytest.skip(WHY_NOT_CALLED)
    xcom_s3_env.new_prefix()
    xcom_s3_env.set("threshold", 0)
    neighbour = dataclasses.replace(ctx, key=f"{ctx.key}.neighbour")  # same dag, run, task and map index
    neighbour_row = through_db(store(backend, NEIGHBOUR, neighbour))
    before = storage.objects() if storage is not None else None
    xcom_s3_env.set("threshold", 10**9)
    stored = through_db(store(backend, value, ctx))
    purge(backend, stored, ctx)
    purge(BaseXCom, stored, ctx) if PURGE_CALLED else None  # the default's own purge accepts the same call
    if storage is not None:
        assert storage.objects() == before, "purging an inline row changed the storage"
    assert_loads_as(backend, neighbour_row, neighbour, NEIGHBOUR)


def test_the_release_calls_purge(backend):
    """Where the capabilities say Airflow calls purge, the release defines the hook and the backend has one;
    ours overrides it (compared statically: a staticmethod, classmethod or plain function alike)."""
    if not capabilities().purge_called:
        assert not hasattr(BaseXCom, "purge"), "purge exists although capabilities() says it is never called"
        pytest.skip(WHY_NOT_CALLED)
    assert callable(getattr(BaseXCom, "purge", None)), "capabilities() says purge is called, but BaseXCom lacks it"
    assert callable(getattr(backend, "purge", None)), "the backend lost the purge hook"
    if is_ours(backend):  # ours offloads, so it must replace the default's purge (a no-op)
        assert _function(backend, "purge") is not _function(BaseXCom, "purge")


def _function(cls: type, name: str) -> object:
    """The plain function behind ``cls.name`` whether it is a staticmethod, classmethod or method."""
    attr = inspect.getattr_static(cls, name)
    return getattr(attr, "__func__", attr)
