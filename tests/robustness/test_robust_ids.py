"""Ids with unicode, spaces, slashes, ``+`` and ``:``: valid S3 keys, distinct, reversible, and readable back."""

from __future__ import annotations

from typing import Any

import airflow_io
import pytest
import strategies
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from rb_support import as_ref, key_of, scaled
from xcom_compat import XComContext

#: S3's limit on a key: 1024 bytes of UTF-8.
MAX_KEY_BYTES = 1024
#: The longest ids Airflow's metadata DB holds (ID_LEN for dag/task/run ids; the xcom key column is 512).
AIRFLOW_ID_LEN, AIRFLOW_XCOM_KEY_LEN = 250, 512
#: What the strategies draw from, plus the awkward pieces the issue names.
AWKWARD = st.one_of(
    strategies.ids(), st.sampled_from(["a b", "a/b", "a+b", "a:b", "日本/語 +:", "..", ".", "%2F", "~"])
)


def awkward_contexts() -> st.SearchStrategy[XComContext]:
    return st.builds(
        XComContext,
        key=st.one_of(st.just("return_value"), AWKWARD),
        task_id=AWKWARD,
        dag_id=AWKWARD,
        run_id=st.one_of(strategies.run_ids(), AWKWARD),
        map_index=st.integers(min_value=-1, max_value=100_000),
    )


def _check_key(key: str, prefix: str) -> None:
    assert len(key.encode("utf-8")) <= MAX_KEY_BYTES
    assert key.isascii() and key.isprintable(), "quoted keys need no escaping in URLs, XML listings or logs"
    assert all(segment not in ("", ".", "..") for segment in key.split("/"))
    assert key.startswith(prefix + "/")


@given(ctx=awkward_contexts())
def test_keys_are_valid_and_reversible(ctx: XComContext) -> None:
    from xcom_s3.keys import EXTENSIONS, object_key, parse_object_key

    for ext in EXTENSIONS:
        key = object_key("xcom", ctx, ext)
        _check_key(key, "xcom")
        assert parse_object_key(key, "xcom") == (ctx, ext)


@given(a=awkward_contexts(), b=awkward_contexts())
def test_distinct_contexts_give_distinct_keys(a: XComContext, b: XComContext) -> None:
    from xcom_s3.keys import object_key

    assume(strategies.context_tuple(a) != strategies.context_tuple(b))
    assert object_key("xcom", a, "json.zst") != object_key("xcom", b, "json.zst")


@settings(max_examples=scaled("s3_key_examples", dev=15, ci=60))
@given(ctx=awkward_contexts())
def test_s3_accepts_the_keys_and_the_backend_reads_them_back(backend: Any, xcom_s3_env: Any, ctx: XComContext):
    """The key the writer builds is stored as-is by S3 and passes the reader's own location check."""
    prefix = xcom_s3_env.new_prefix()
    value = {"ctx": list(strategies.context_tuple(ctx)), "pad": "x" * 100}
    stored = airflow_io.through_db(airflow_io.store(backend, value, ctx))
    keys = xcom_s3_env.keys()
    assert keys == [key_of(as_ref(stored))]
    _check_key(keys[0], prefix)
    assert airflow_io.load(backend, stored, ctx) == value


@pytest.mark.parametrize("char", ["a", "é", "日"])
def test_the_longest_airflow_ids_still_give_valid_keys(char: str) -> None:
    from xcom_s3.keys import object_key

    ctx = XComContext(
        key=char * AIRFLOW_XCOM_KEY_LEN,
        task_id=char * AIRFLOW_ID_LEN,
        dag_id=char * AIRFLOW_ID_LEN,
        run_id=char * AIRFLOW_ID_LEN,
        map_index=99_999,
    )
    key = object_key("xcom", ctx, "json.zst")
    _check_key(key, "xcom")
    # Shortened ids stay distinct: a context differing only in its (over-long) key gives another object key.
    other = XComContext(**{**ctx.__dict__, "key": ctx.key[:-1] + "z"})  # type: ignore[index]
    assert object_key("xcom", other, "json.zst") != key
