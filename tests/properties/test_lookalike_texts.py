"""(3) Nothing is misinterpreted, continued: strings holding the JSON text of a reference or an escape.

The readers accept JSON text where a stored value is expected (3.x rows the REST API wrote hold JSON strings), so a
user string such as ``'{"__xcom_s3__": 1, "kind": "ref", ...}'`` must come back as that string, never as what it
names, and purging its row must delete nothing: on 2.x purge sees the row as Airflow decoded it, i.e. the string.
"""

from __future__ import annotations

import json
from typing import Any

from airflow_io import store, through_db
from hypothesis import example, given
from hypothesis import strategies as st
from strategies import contexts, json_values, lookalike_dicts
from xcom_compat import XComContext

from properties.budget import share
from properties.checks import lookalike_comes_back, text_of_a_reference_pushed_as_a_value_is_just_a_value

CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)
#: The text of an escape: on 3.x it was pulled as 5 before strings like it were escaped.
ESCAPE_TEXT = '{"__xcom_s3__": 1, "kind": "escaped", "value": 5}'
#: The same with the marker's first character written as a JSON escape: no plain substring check finds it.
UNICODE_ESCAPE_TEXT = '{"\\u005f_xcom_s3__": 1, "kind": "escaped", "value": 5}'


def lookalike_texts() -> st.SearchStrategy[str]:
    """The JSON text of marker dicts (forged references, escapes, junk), compact or spaced, ASCII or not."""

    def text(obj: dict[str, Any], compact: bool, ascii_only: bool) -> str:
        separators = (",", ":") if compact else (", ", ": ")
        return json.dumps(obj, separators=separators, ensure_ascii=ascii_only)

    return st.builds(text, lookalike_dicts(), st.booleans(), st.booleans())


@given(value=lookalike_texts(), ctx=contexts(key=st.just("return_value")))
@example(value=ESCAPE_TEXT, ctx=CTX)
@example(value=UNICODE_ESCAPE_TEXT, ctx=CTX)
def test_texts_of_references_come_back_as_themselves(backend, xcom_s3_env, value, ctx):
    """Any backend: a string holding a reference's or an escape's JSON text round-trips like any string. Below
    the threshold only: above it the string is offloaded like any other (test_equivalence's offloaded mode)."""
    xcom_s3_env.set("threshold", 10**9)
    lookalike_comes_back(backend, value, ctx)


@share(0.3)
@given(original=json_values(), ctx=contexts(key=st.just("return_value")), other=contexts(key=st.just("copy")))
def test_the_text_of_a_real_reference_pushed_as_a_value_is_just_a_value(
    backend, xcom_s3_env, storage, original, ctx, other
):
    """Any backend: the JSON text of what the DB holds for an offloaded value, pushed as a user string below the
    threshold, comes back as that string; purging the copy deletes nothing."""
    xcom_s3_env.new_prefix()
    xcom_s3_env.set("threshold", 0)
    first = through_db(store(backend, original, ctx))
    xcom_s3_env.set("threshold", 10**9)
    text_of_a_reference_pushed_as_a_value_is_just_a_value(backend, storage, first, ctx, original, other)
