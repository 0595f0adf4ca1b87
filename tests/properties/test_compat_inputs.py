"""compat reads two inputs Airflow hands it in more than one shape: a setting (unset, empty or set) and a stored
value that arrives as JSON text (a ``str``: REST stubs, rows migrated as text) rather than as bytes or decoded JSON.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import xcom_compat
from airflow_io import load, store, through_db
from hypothesis import given
from hypothesis import strategies as st
from strategies import contexts, json_values

from properties.stored import decode, reference

#: Checks of this repository's compat module: n/a when another backend (with its own copy) is selected.
pytestmark = pytest.mark.ours_only

PROBE = "AIRFLOW__XCOM_S3__COMPAT_PROBE"


@pytest.mark.parametrize(("env", "expected"), [(None, None), ("", None), ("x", "x"), (" ", " "), ("0", "0")])
def test_a_setting_reads_through_airflow_and_empty_means_unset(monkeypatch, env, expected):
    if env is None:
        monkeypatch.delenv(PROBE, raising=False)
    else:
        monkeypatch.setenv(PROBE, env)
    assert xcom_compat.config_value("xcom_s3", "compat_probe") == expected


@given(value=json_values(), ctx=contexts(key=st.just("return_value")))
def test_a_row_holding_the_json_text_of_a_reference_reads_as_its_value(backend, xcom_s3_env, value, ctx):
    xcom_s3_env.set("threshold", 0)
    stored = through_db(store(backend, value, ctx))
    assert reference(stored) is not None
    as_text = SimpleNamespace(value=json.dumps(decode(stored)))
    assert backend.deserialize_value(as_text) == load(backend, stored, ctx)
