"""(3) Escapes only where needed: a string that merely starts like JSON (``{`` then anything, or the JSON text of a
dict that is not one of ours) is stored exactly as the default backend stores it, never wrapped in an escape.

test_equivalence checks inline rows against the default's but lets any escaped value through; this pins down that
only look-alikes (test_lookalike_texts) are escaped, so rows other tools read stay the default's.
"""

from __future__ import annotations

import json

import pytest
from airflow_io import store, through_db
from hypothesis import example, given
from hypothesis import strategies as st
from strategies import json_values
from xcom_compat import BaseXCom, XComContext

from properties.stored import is_escape

CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)
#: No ``_`` and no backslash: no text drawn can name the marker, even through a JSON escape.
PLAIN = st.characters(blacklist_characters="_\\", blacklist_categories=("Cs",))


def brace_texts() -> st.SearchStrategy[str]:
    """``{`` then any text (mostly not JSON), or the JSON text of a plain dict."""
    broken = st.text(PLAIN, max_size=20).map(lambda rest: "{" + rest)
    dicts = st.dictionaries(st.text(PLAIN, max_size=5), json_values(max_leaves=4), max_size=3).map(json.dumps)
    return st.one_of(broken, dicts)


@pytest.mark.ours_only
@given(text=brace_texts())
@example(text="{")
@example(text='{"a": 1')
@example(text='{"kind": "ref", "uri": "s3://b/k"}')
def test_a_text_that_only_looks_like_json_is_stored_as_the_default_stores_it(backend, xcom_s3_env, text):
    xcom_s3_env.set("threshold", 10**9)
    expected = through_db(store(BaseXCom, text, CTX))
    got = through_db(store(backend, text, CTX))
    assert not is_escape(got), f"{text!r} was escaped"
    assert type(got) is type(expected) and got == expected
