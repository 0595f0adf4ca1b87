"""Where xcom_s3's semantics differ from the default backend's, pinned on a real metadata DB after a real DAG run.

A pull (2.x ``XCom.get_one`` / ``xcom_pull``; a 3.x task's ``xcom_pull``) gives the value, as with the default
backend. Reads of the rows themselves do not go through the backend's I/O: 2.x ORM rows (``XCom.get_many()``, the UI,
the REST API) hold what Airflow's ``orm_deserialize_value`` hook gives, which a custom backend overrides by design;
3.x's API server reads ``XComModel`` rows without any backend. Both show the reference of an offloaded value and the
escape of a look-alike where the default backend shows the value. Inline values read the same everywhere.

The reads run in the e2e scenario's Airflow home, after its run (e2e_orm_reader.py, through e2e_fixtures.e2e_reads:
one process with test_rest_api.py's reads), against the live DB.
"""

from __future__ import annotations

from typing import Any

import pytest
from e2e_airflow import E2E_DAG_ID
from e2e_db import MARKER
from e2e_fixtures import FRAME, GOOD_DATE, LOOKALIKE, ORM_XCOMS, SUMMARY, MainRun, Reads, Scenario

pytestmark = [pytest.mark.e2e, pytest.mark.ours_only]  # the rows hold xcom_s3's reference and escape format

#: What a pull gives for each (the DAG's own values, dags/xcom_s3_e2e_dag.py).
FRAME_PULLED = {"type": "DataFrame", "shape": [40, 7]}
LOOKALIKE_PULLED = {"type": "str", "value": "xcom_s3://not-a-reference"}
SUMMARY_PULLED = {"type": "dict", "value": {"parts": 3, "rows": 36}}
#: The reads of rows (e2e_orm_reader.py): 2.x get_many and the resolved class's rows, 3.x XComModel rows and
#: XComModel.deserialize_value (what the API server renders).
ORM_READS = ("get_many", "orm_query", "model_deserialize_value")


def _ident(name: str) -> tuple[str, int, str]:
    task_id, map_index, key = name.split(":", 2)
    return task_id, int(map_index), key


@pytest.fixture(scope="module")
def reads(e2e_scenario: Scenario, e2e_main: MainRun, e2e_reads: Reads) -> dict[str, Any]:
    """What each read path gives for FRAME, LOOKALIKE and SUMMARY, plus "stored": each row as the DB holds it."""
    home, step = e2e_scenario.home, e2e_reads.step
    if not e2e_reads.orm:
        pytest.fail(f"the ORM reads raised (exit {step.returncode}, {step.log}):\n{step.tail()}", pytrace=False)
    found: dict[str, Any] = dict(e2e_reads.orm)
    rows = {row.ident: row for row in home.db.xcom_rows(home.db.run_id_for(E2E_DAG_ID, GOOD_DATE))}
    for name in ORM_XCOMS:
        assert found[name]["rows"] == 1, f"{name}: get_many found {found[name]['rows']} rows"
        found[name]["stored"] = rows[_ident(name)].decoded
    return found


def _row_reads(read: dict[str, Any]) -> list[str]:
    """The row reads the reader made: two on every release (get_many, and orm_query or model_deserialize_value)."""
    paths = [path for path in ORM_READS if path in read]
    assert len(paths) == 2 and paths[0] == "get_many", f"the reader made the row reads {paths}"
    return paths


def _pulled(read: dict[str, Any]) -> dict[str, Any]:
    """A read as the PULLED constants name it: a frame by type and shape only."""
    return {k: v for k, v in read.items() if k != "dtypes"}


def test_orm_rows_show_the_reference_of_an_offloaded_value(reads: dict[str, Any]) -> None:
    """2.x ``XCom.get_many()`` rows and ``session.query(XCom)`` rows / 3.x ``XComModel`` rows (and
    ``XComModel.deserialize_value``): the reference, where the default backend's rows hold the value."""
    read = reads[FRAME]
    ref = read["stored"]
    assert ref[MARKER] == 1 and ref["kind"] == "ref" and ref["format"] == "parquet", f"stored: {ref!r}"
    for path in _row_reads(read):
        assert read[path] == {"type": "dict", "value": ref}, f"{path}: {read[path]!r}"


def test_orm_rows_show_the_escape_of_a_lookalike(reads: dict[str, Any]) -> None:
    """The same reads show an escaped look-alike's envelope (kept so a purge never takes it for a reference)."""
    read = reads[LOOKALIKE]
    escape = read["stored"]
    assert escape == {MARKER: 1, "kind": "escaped", "value": LOOKALIKE_PULLED["value"]}, f"stored: {escape!r}"
    for path in _row_reads(read):
        assert read[path] == {"type": "dict", "value": escape}, f"{path}: {read[path]!r}"


def _get_one_bypasses_the_backend(airflow_version: str) -> bool:
    """2.6-2.8's ``XCom.get_one`` decodes with ``BaseXCom.deserialize_value``, not the configured backend's (2.3-2.5
    call ``cls.deserialize_value``, 2.9+ ``XCom.deserialize_value``): there it gives any custom backend's stored
    object, as the rows do."""
    major, minor = (int(part) for part in airflow_version.split(".")[:2])
    return major == 2 and 6 <= minor <= 8


def test_pulls_give_the_value(reads: dict[str, Any], e2e_main: MainRun) -> None:
    """2.x ``xcom_pull`` and ``XCom.get_one`` (except on 2.6-2.8, where Airflow's ``get_one`` bypasses the backend
    and gives the stored object), 3.x the backend's ``deserialize_value`` as a task's pull calls it: the value, as
    with the default backend."""
    bypassed = _get_one_bypasses_the_backend(str(e2e_main.info["airflow_version"]))
    pulls = ("task_pull",) if "task_pull" in reads[FRAME] else ("get_one", "xcom_pull")
    for name, pulled in ((FRAME, FRAME_PULLED), (LOOKALIKE, LOOKALIKE_PULLED), (SUMMARY, SUMMARY_PULLED)):
        for pull in pulls:
            stored = reads[name]["stored"]
            expected = {"type": "dict", "value": stored} if pull == "get_one" and bypassed else pulled
            assert _pulled(reads[name][pull]) == expected, f"{name} through {pull}: {reads[name][pull]!r}"


def test_inline_values_read_the_same_everywhere(reads: dict[str, Any]) -> None:
    """Below the threshold the row is the default's: every read path gives the value itself."""
    read = reads[SUMMARY]
    assert read["stored"] == SUMMARY_PULLED["value"]
    for path, got in read.items():
        if path not in ("rows", "stored"):
            assert got == SUMMARY_PULLED, f"{path}: {got!r}"
