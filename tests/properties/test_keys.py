"""(5) Object keys: deterministic, reversible, run-scoped, and distinct contexts never collide."""

from __future__ import annotations

import dataclasses

import pytest
from airflow_io import load, store, through_db
from hypothesis import given
from hypothesis import strategies as st
from strategies import context_tuple, contexts, json_values, run_ids
from xcom_s3.keys import parse_object_key

from properties.budget import share
from properties.stored import object_key, reference

pytestmark = pytest.mark.ours_only  # the object key layout is xcom_s3's own contract


def offload(env, backend, value, ctx) -> tuple[str, object]:
    """Push ``value`` at THRESHOLD=0; return its object key and what the DB holds."""
    stored = through_db(store(backend, value, ctx))
    ref = reference(stored)
    assert ref is not None
    return object_key(ref, env.endpoint.bucket), stored


def assert_well_formed(key: str, prefix: str) -> None:
    assert key.startswith(prefix + "/")
    segments = key.split("/")
    assert all(s not in ("", ".", "..") for s in segments), f"empty or dot segment in {key!r}"
    assert len(key.encode("utf-8")) <= 1024, f"S3 keys are at most 1024 bytes: {len(key.encode())}"


@given(ctx=contexts(), first=json_values(), second=json_values())
def test_keys_are_deterministic_and_a_rerun_overwrites(backend, xcom_s3_env, ctx, first, second):
    """Same context, same key: the second push (a retry) replaces the first, leaving one object."""
    xcom_s3_env.new_prefix()
    xcom_s3_env.set("threshold", 0)
    key1, _ = offload(xcom_s3_env, backend, first, ctx)
    key2, stored = offload(xcom_s3_env, backend, second, ctx)
    assert key1 == key2
    assert xcom_s3_env.keys() == [key1]
    assert load(backend, stored, ctx) == second
    assert_well_formed(key1, xcom_s3_env.prefix)
    parsed, ext = parse_object_key(key1, xcom_s3_env.prefix)
    assert context_tuple(parsed) == context_tuple(ctx) and key1.endswith("." + ext)


@share(0.3)
@given(ctxs=st.lists(contexts(), min_size=2, max_size=5, unique_by=context_tuple))
def test_distinct_contexts_never_collide(backend, xcom_s3_env, ctxs):
    """N distinct (dag, run, task, map_index, key) give N objects, each read back as its own value."""
    xcom_s3_env.new_prefix()
    xcom_s3_env.set("threshold", 0)
    pushed = [(ctx, {"n": i}, *offload(xcom_s3_env, backend, {"n": i}, ctx)) for i, ctx in enumerate(ctxs)]
    assert len({key for _, _, key, _ in pushed}) == len(ctxs)
    assert len(xcom_s3_env.keys()) == len(ctxs)
    for ctx, value, key, stored in pushed:
        assert load(backend, stored, ctx) == value
        parsed, _ = parse_object_key(key, xcom_s3_env.prefix)
        assert context_tuple(parsed) == context_tuple(ctx)


@share(0.5)
@given(ctx=contexts(), other_run=run_ids())
def test_run_id_is_part_of_the_key(backend, xcom_s3_env, ctx, other_run):
    """Two runs of the same task never share an object, so clearing one run cannot touch the other."""
    xcom_s3_env.new_prefix()
    xcom_s3_env.set("threshold", 0)
    rerun = dataclasses.replace(ctx, run_id=other_run)
    key, _ = offload(xcom_s3_env, backend, [1], ctx)
    other_key, _ = offload(xcom_s3_env, backend, [2], rerun)
    assert (key == other_key) == (ctx.run_id == other_run)
    assert parse_object_key(other_key, xcom_s3_env.prefix)[0].run_id == other_run
