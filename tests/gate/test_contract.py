"""Checks of OUR backend's contract that the property suite leaves to robustness: run against the selected backend
(``XCOM_S3_TEST_BACKEND``) when it is ours or derived from it, so the gate can show a mutant that breaks them is
caught."""

from __future__ import annotations

import pytest
from airflow_io import load, store, through_db
from properties.stored import reference
from xcom_compat import XComContext

CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)


@pytest.mark.ours_only
def test_a_reference_outside_the_prefix_is_refused(xcom_s3_env, backend):
    """Ours-only: a reference naming an object under another prefix of the same bucket is never read.

    A worker configured for prefix B must not dereference what a DB row (possibly forged) says lives under A.
    """
    from xcom_s3.errors import ForeignReferenceError

    xcom_s3_env.set("threshold", 0)
    value = {"secret": "x" * 100}
    stored = through_db(store(backend, value, CTX))
    assert reference(stored) is not None, "THRESHOLD=0 but nothing was offloaded"
    assert load(backend, stored, CTX) == value  # readable where it was written
    xcom_s3_env.new_prefix()
    with pytest.raises(ForeignReferenceError):
        load(backend, stored, CTX)
