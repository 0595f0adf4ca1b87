"""XComs that Airflow's own components read without the backend stay as the default backend stores them.

docs/xcom-direct-reads.md lists the reads, release by release: Airflow 3's API server renders an operator's extra
link from the ``_link_<name>`` row itself (``XComOperatorLink.get_link``), the scheduler reads ``skipmixin_key`` and
``past_depends_met``, and the 2.x webserver reads TriggerDagRunLink's and the lineage endpoint's keys where no S3
credentials are. Whatever a backend writes there is what the UI shows.
"""

from __future__ import annotations

from typing import Any

import pytest
from airflow_io import IS_3X, default_round_trip, load, store, through_db
from hypothesis import given
from hypothesis import strategies as st
from strategies import contexts, ids, sized_values
from xcom_compat import BaseXCom, XComContext

from properties.budget import share
from properties.same_value import assert_same_value
from properties.stored import is_escape, reference

#: Keys Airflow reads by exact name (the scheduler's, TriggerDagRunLink's on 2.x, the 2.x lineage endpoint's).
EXACT_KEYS = (
    "skipmixin_key",
    "past_depends_met",
    "trigger_run_id",
    "trigger_execution_date_iso",
    "pipeline_inlets",
    "pipeline_outlets",
)
#: BaseOperatorLink.xcom_key's default is ``_link_<class name>``; TriggerDagRunOperator pushes this one itself.
LINK_KEY = "_link_TriggerDagRunLink"
#: A link to a triggered run, padded past every size threshold a backend may use (64 KiB is ours by default).
LINK_URL = "http://localhost:8080/dags/target/runs/manual__2024-01-01T00:00:00+00:00?" + "q=" + "x" * 70_000


def _ctx(key: str, template: XComContext | None = None) -> XComContext:
    base = template or XComContext(task_id="trigger", dag_id="d", run_id="r", map_index=-1)
    return XComContext(key=key, task_id=base.task_id, dag_id=base.dag_id, run_id=base.run_id, map_index=base.map_index)


def inline_keys() -> st.SearchStrategy[str]:
    """A key the backend must keep inline: one of Airflow's fixed keys, or any extra link's ``_link_<name>``."""
    return st.one_of(st.sampled_from(EXACT_KEYS), ids().map(lambda name: "_link_" + name))


def test_extra_link_is_stored_as_the_default_backend_stores_it(backend: Any, xcom_s3_env: Any) -> None:
    """Any backend, at its most aggressive setting: the ``_link_`` row is the default's, byte for byte, and the
    task still pulls the URL back. Airflow 3's API server builds the UI's link from that row alone."""
    if not IS_3X:
        pytest.skip("n/a: Airflow 2 renders extra links with each link's own get_link code, from no _link_ XCom")
    xcom_s3_env.set("threshold", 0)
    ctx = _ctx(LINK_KEY)
    expected = through_db(store(BaseXCom, LINK_URL, ctx))
    stored = through_db(store(backend, LINK_URL, ctx))
    shown = repr(stored)[:120]
    assert stored == expected, (
        f"the operator extra link XCom {LINK_KEY!r} is stored as {shown}, not as the default backend stores it: "
        "Airflow 3's API server reads that row straight from the DB (XComOperatorLink.get_link), so the UI's "
        "'Triggered DAG' link (and every operator extra link) would show that instead of the URL"
    )
    assert load(backend, stored, ctx) == LINK_URL


@pytest.mark.ours_only
@share(0.2)
@given(value=sized_values(), key=inline_keys(), ctx=contexts())
def test_keys_airflow_reads_directly_stay_inline(backend, xcom_s3_env, value, key, ctx):
    """At THRESHOLD=0 every such key keeps the default's row, S3 stays empty, and the value round-trips."""
    xcom_s3_env.new_prefix()  # one per example: S3 must be empty for this one alone
    xcom_s3_env.set("threshold", 0)
    ctx = _ctx(key, ctx)
    stored = through_db(store(backend, value, ctx))
    assert stored == through_db(store(BaseXCom, value, ctx)), f"{key!r} is not stored as the default stores it"
    assert xcom_s3_env.keys() == []
    assert_same_value(load(backend, stored, ctx), default_round_trip(value, ctx))


@pytest.mark.ours_only
@pytest.mark.parametrize("key", [LINK_KEY, "skipmixin_key", "trigger_run_id"])
def test_large_link_stays_inline_and_a_lookalike_is_still_escaped(backend, xcom_s3_env, key):
    """A 70 KB URL stays inline at THRESHOLD=0; a value that looks like our reference under the same key is
    escaped, as for every inline value, so nothing reads it as a reference."""
    xcom_s3_env.set("threshold", 0)
    ctx = _ctx(key)
    stored = through_db(store(backend, LINK_URL, ctx))
    assert reference(stored) is None and not is_escape(stored)
    assert load(backend, stored, ctx) == LINK_URL
    lookalike = {"__xcom_s3__": 1, "kind": "ref", "uri": "s3://xcom-s3-test/x", "format": "json"}
    stored = through_db(store(backend, lookalike, ctx))
    assert is_escape(stored), f"a look-alike under {key!r} is stored unescaped: {stored!r:.200}"
    assert load(backend, stored, ctx) == lookalike
    assert xcom_s3_env.keys() == []


@pytest.mark.ours_only
def test_a_value_without_a_key_is_offloaded_as_any_other(backend: Any, xcom_s3_env: Any) -> None:
    """No key is no key Airflow reads by name: where a caller passes none (serialize_value's defaults), a value
    past the threshold goes to S3 like any other, and reads back."""
    xcom_s3_env.set("threshold", 0)
    ctx = XComContext(task_id="t", dag_id="d", run_id="r", map_index=-1)
    stored = through_db(store(backend, {"rows": [1, 2]}, ctx))
    assert reference(stored) is not None, stored
    assert len(xcom_s3_env.keys()) == 1
    assert load(backend, stored, ctx) == {"rows": [1, 2]}
