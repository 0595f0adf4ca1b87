"""Real Airflow, real DAG run, backend configured by environment only: what lands in the DB and in S3.

The DAG's own consumers already fail the run when a value comes back different; these tests check the rest
of the contract from the outside: the metadata DB holds only inline defaults and small references, S3 holds
exactly the objects those references name, reruns leave no orphan, and an unreachable S3 fails loudly.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import pytest
from e2e_airflow import E2E_DAG_ID, MARKER, MAX_REFERENCE_BYTES
from e2e_fixtures import DownRun, MainRun, Rerun, Scenario, Snapshot

pytestmark = pytest.mark.e2e

#: (task_id, map_index, key) -> (format, ext) of every value the DAG offloads.
OFFLOADED = {
    ("produce_frame", -1, "return_value"): ("parquet", "parquet"),
    ("make_part", 0, "return_value"): ("parquet", "parquet"),
    ("make_part", 1, "return_value"): ("parquet", "parquet"),
    ("make_part", 2, "return_value"): ("parquet", "parquet"),
    ("big_dict", -1, "return_value"): ("json", "json.zst"),
}
#: (task_id, map_index, key) -> the value the default backend stores inline (plain JSON on every release).
INLINE = {
    ("choose", -1, "skipmixin_key"): {"followed": ["check_all"]},
    ("reduce_parts", -1, "return_value"): {"parts": 3, "rows": 36},
}
#: Pushed by @task.branch on 2.x only: 3.x's branch operators push no return_value.
BRANCH_RETURN = {("choose", -1, "return_value"): "check_all"}
SHRUNK = {"shrunk": True}


def object_key(scenario: Scenario, snap: Snapshot, task_id: str, map_index: int, key: str, ext: str) -> str:
    """The contract's key layout, written out independently of xcom_s3.keys: the map index segment is
    ``ti-<task instance id>`` on 3.4, where loop iterations share a map index."""
    index = f"ti-{snap.ti_ids[(task_id, map_index)]}" if scenario.info["store_value_api"] else str(map_index)
    parts = [quote(p, safe="") for p in (E2E_DAG_ID, snap.run_id, task_id)]
    return f"{scenario.prefix}/{'/'.join(parts)}/{index}/{quote(key, safe='')}.{ext}"


def expected_keys(scenario: Scenario, snap: Snapshot) -> set[str]:
    return {object_key(scenario, snap, t, m, k, ext) for (t, m, k), (_, ext) in OFFLOADED.items()}


def assert_inline_default(row: Any, expected: Any, stored_type: str) -> None:
    """Inline means byte-for-byte what the default backend writes (2.x) / the same JSON document (3.x)."""
    assert row.decoded == expected, f"{row.ident}: stored {row.raw!r}"
    if stored_type == "bytes":  # 2.x: json.dumps(value[, cls=XComEncoder]).encode()
        assert row.raw == json.dumps(expected).encode(), f"{row.ident}: stored {row.raw!r}"


def assert_reference(scenario: Scenario, snap: Snapshot, ident: tuple[str, int, str]) -> None:
    """A small reference naming its deterministic key, whose size and checksum match the object in S3."""
    row = snap.row(*ident)
    fmt, ext = OFFLOADED[ident]
    assert len(row.raw) < MAX_REFERENCE_BYTES, f"{ident}: a {len(row.raw)}-byte reference"
    ref = row.decoded
    assert ref[MARKER] == 1 and ref["kind"] == "ref", ref
    key = object_key(scenario, snap, *ident, ext)
    assert ref["uri"] == f"s3://{scenario.bucket}/{key}"
    assert ref["format"] == fmt and ref["codec"] == "zstd", ref
    assert key in snap.objects, f"{ident}: {key} is not in S3"
    assert ref["size"] == snap.objects[key]["size"], ref
    assert ref["sha256"] == snap.objects[key]["sha256"], f"{ident}: stale reference or object"
    if fmt == "parquet":
        task_id, map_index, _ = ident
        rows = 40 if task_id == "produce_frame" else 10 + map_index + 1
        assert ref["shape"] == [rows, 7], ref


# ---- the run with S3 up ------------------------------------------------------------------------------------


def test_airflow_resolved_the_backend_from_env(e2e_main: MainRun) -> None:
    assert "S3XComBackend" in e2e_main.info["resolved_xcom"], e2e_main.info


def test_run_succeeded(e2e_main: MainRun) -> None:
    snap = e2e_main.snap
    expected = {ti: "success" for ti in snap.tasks} | {("skipped_path", -1): "skipped"}
    assert (snap.state, snap.tasks) == ("success", expected), e2e_main.tail


def _inline_expected(snap: Snapshot) -> dict[tuple[str, int, str], Any]:
    present = {r.ident for r in snap.rows}
    return INLINE | {ident: v for ident, v in BRANCH_RETURN.items() if ident in present}


def test_db_holds_exactly_the_expected_rows(e2e_main: MainRun) -> None:
    assert {r.ident for r in e2e_main.snap.rows} == set(OFFLOADED) | set(_inline_expected(e2e_main.snap))


def test_small_values_stay_inline_as_the_default_backend_stores_them(e2e_main: MainRun) -> None:
    for ident, value in _inline_expected(e2e_main.snap).items():
        assert_inline_default(e2e_main.snap.row(*ident), value, e2e_main.info["stored_type"])


def test_branch_skip_xcom_stays_inline(e2e_main: MainRun) -> None:
    """The scheduler reads skipmixin_key straight from the DB (3.x) or in its own process (2.x): never S3."""
    row = e2e_main.snap.row("choose", -1, "skipmixin_key")
    assert MARKER.encode() not in row.raw
    assert_inline_default(row, {"followed": ["check_all"]}, e2e_main.info["stored_type"])


#: (dialect, what serialize_value returns) -> the declared type of xcom.value: bytes land in a binary column
#: on 2.x, JSON documents in a JSON column on 3.x (jsonb on PostgreSQL, since 3.0's migration).
COLUMN_TYPES = {
    ("sqlite", "bytes"): "blob",
    ("sqlite", "json"): "json",
    ("postgresql", "bytes"): "bytea",
    ("postgresql", "json"): "jsonb",
}


def test_xcom_column_holds_what_the_backend_writes(e2e_scenario: Scenario, e2e_main: MainRun) -> None:
    """The release's own column type, and every row of it readable as the JSON the backend wrote."""
    db = e2e_scenario.home.db
    stored_type = e2e_main.info["stored_type"]
    table = "xcom" if db.has_table("xcom") else "xcom_v2"  # 3.4 writes new XComs to xcom_v2
    assert db.column_type(table, "value") == COLUMN_TYPES[(db.dialect, stored_type)], db.url
    for row in e2e_main.snap.rows:
        assert isinstance(row.decoded, (dict, list, str, int, float, bool, type(None))), row.ident


def test_offloaded_rows_are_small_references(e2e_scenario: Scenario, e2e_main: MainRun) -> None:
    for ident in OFFLOADED:
        assert_reference(e2e_scenario, e2e_main.snap, ident)


def test_s3_holds_exactly_the_expected_objects(e2e_scenario: Scenario, e2e_main: MainRun) -> None:
    assert set(e2e_main.snap.objects) == expected_keys(e2e_scenario, e2e_main.snap)
    # ... and nothing else under the module's prefix either.
    everything = json.loads((e2e_scenario.out / "main.s3.json").read_text())
    assert set(everything) == set(e2e_main.snap.objects)


# ---- reruns of the same run --------------------------------------------------------------------------------


def test_rerun_overwrites_the_same_object(e2e_scenario: Scenario, e2e_rerun: Rerun) -> None:
    ident = ("produce_frame", -1, "return_value")
    key = object_key(e2e_scenario, e2e_rerun.after, *ident, "parquet")
    assert e2e_rerun.after.objects[key]["last_modified"] >= e2e_rerun.before.objects[key]["last_modified"]
    assert_reference(e2e_scenario, e2e_rerun.after, ident)


def _expected_orphans(e2e_scenario: Scenario, snap: Snapshot, info: dict[str, Any]) -> set[str]:
    """Objects a rerun may leave: only where the release never calls purge (airflow-xcom-api.md §2b)."""
    orphans = set()
    if not info["purge_called"]:
        orphans.add(object_key(e2e_scenario, snap, "big_dict", -1, "return_value", "json.zst"))
    if not info["purge_called_for_mapped"]:
        orphans.add(object_key(e2e_scenario, snap, "make_part", 1, "return_value", "parquet"))
    return orphans


def test_rerun_replaces_offloaded_values_with_inline_ones(e2e_main: MainRun, e2e_rerun: Rerun) -> None:
    stored_type = e2e_main.info["stored_type"]
    assert_inline_default(e2e_rerun.after.row("big_dict"), SHRUNK, stored_type)
    assert_inline_default(e2e_rerun.after.row("make_part", 1), SHRUNK, stored_type)


def test_rerun_orphans_only_sans_purge(e2e_scenario: Scenario, e2e_main: MainRun, e2e_rerun: Rerun) -> None:
    """Every object is referenced by a row, except the ones a release that skips purge is known to leave."""
    after = e2e_rerun.after
    referenced = {
        object_key(e2e_scenario, after, *r.ident, OFFLOADED[r.ident][1]) for r in after.rows if r.is_reference
    }
    orphans = _expected_orphans(e2e_scenario, after, e2e_main.info)
    assert set(after.objects) == referenced | orphans, e2e_main.info
    for ident in OFFLOADED:
        if after.row(*ident).is_reference:
            assert_reference(e2e_scenario, after, ident)


# ---- S3 unreachable ----------------------------------------------------------------------------------------


def test_unreachable_s3_fails_the_producers(e2e_unreachable: DownRun) -> None:
    tasks = e2e_unreachable.snap.tasks
    assert e2e_unreachable.snap.state == "failed", e2e_unreachable.tail
    for ti in [("produce_frame", -1), ("big_dict", -1), ("make_part", 0), ("make_part", 1), ("make_part", 2)]:
        assert tasks[ti] == "failed", (ti, tasks)
    # Small values never touch S3: the branch (its skip XCom) keeps working through an outage.
    assert tasks[("choose", -1)] == "success", tasks
    assert tasks[("check_all", -1)] == tasks[("reduce_parts", -1)] == "upstream_failed", tasks


def test_unreachable_s3_error_names_the_endpoint(e2e_unreachable: DownRun) -> None:
    """The backend's own error, naming the endpoint it could not reach (not a bare botocore traceback)."""
    # 3.0's console renders exceptions with rich: colour codes, boxes, and the message wrapped over lines.
    text = re.sub(r"\x1b\[[0-9;]*m", "", e2e_unreachable.logs)
    url = e2e_unreachable.endpoint_url
    starts = [m.start() for m in re.finditer(r"StorageError: ", text)]
    assert any(url in text[i : i + 800] for i in starts), (
        f"no StorageError naming {url} in the logs:\n{e2e_unreachable.tail}"
    )


def test_unreachable_s3_writes_no_reference(e2e_unreachable: DownRun) -> None:
    snap = e2e_unreachable.snap
    assert not [r.ident for r in snap.rows if r.is_reference or MARKER.encode() in r.raw]
    never_ran = {("reduce_parts", -1, "return_value")}
    assert {r.ident for r in snap.rows} == set(_inline_expected(snap)) - never_ran
    assert snap.objects == {}
