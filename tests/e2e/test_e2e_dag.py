"""Real Airflow, real DAG run, the selected backend configured by environment only: what lands in the DB and S3.

Any backend: Airflow resolves it from the environment, the DAG's consumers (which fail the run when a value comes
back different) all succeed, the branch's skip XCom reads as the default backend writes it, and a rerun of three
tasks leaves no more objects in S3 than before. A failure names the failed tasks and the error each raised.

xcom_s3 only (``ours_only``): the metadata DB holds only inline defaults, escaped look-alikes and small
references, S3 holds exactly the objects those references name, reruns leave no orphan, and an unreachable S3
fails loudly.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import findings
import pytest
from e2e_airflow import E2E_DAG_ID, MAX_REFERENCE_BYTES
from e2e_db import MARKER
from e2e_fixtures import RERUN_STEPS, DownRun, MainRun, Rerun, Scenario, Snapshot

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
#: The DAG's user string that looks like a reference (dags/xcom_s3_e2e_dag.py LOOKALIKE).
LOOKALIKE = "xcom_s3://not-a-reference"
#: xcom_s3 stores it inline in its escape envelope (backend/xcom_s3/reference.make_escape), so it reads back as
#: the string it is, by ours and by any reader that takes the prefix for a reference.
ESCAPED = {("lookalike", -1, "return_value"): {MARKER: 1, "kind": "escaped", "value": LOOKALIKE}}
#: The DAG's tasks, producers first: a failure message names causes before their consequences.
TASK_ORDER = ("produce_frame", "make_part", "big_dict", "lookalike", "choose", "reduce_parts", "check_all")
#: What a consumer task pulls, named in a failure so the cause reads on its own.
PULLS = {
    "reduce_parts": "pulls the 3 mapped frames",
    "check_all": "pulls the frame, the large dict and the summary",
    "check_lookalike": f"pulls the user string {LOOKALIKE!r}",
}


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


# ---- the run with S3 up: any backend ------------------------------------------------------------------------


def test_airflow_resolved_the_selected_backend_from_env(e2e_main: MainRun, backend_path: str) -> None:
    info = e2e_main.info
    assert info["selected_xcom"] == backend_path and info["resolved_is_selected"], (
        f"Airflow resolved {info['resolved_xcom']}, not the selected {backend_path} "
        f"(AIRFLOW__CORE__XCOM_BACKEND={info['selected_xcom']})"
    )


def _names(tis: list[tuple[str, int]], pulls: bool = True) -> list[str]:
    """``make_part[0,1,2]`` for mapped instances, the task id alone otherwise; with what a consumer pulls."""
    by_task: dict[str, list[int]] = {}
    for task_id, map_index in sorted(tis, key=_position):
        by_task.setdefault(task_id, []).append(map_index)
    names = []
    for task_id, indexes in by_task.items():
        name = task_id if indexes == [-1] else f"{task_id}[{','.join(map(str, indexes))}]"
        names.append(f"{name} ({PULLS[task_id]})" if pulls and task_id in PULLS else name)
    return names


def _position(ti: tuple[str, int]) -> tuple[int, str, int]:
    task_id, map_index = ti
    return (TASK_ORDER.index(task_id) if task_id in TASK_ORDER else len(TASK_ORDER), task_id, map_index)


def describe_run(main: MainRun) -> str:
    """One line that is the diagnosis: the failed tasks grouped by the error each raised, then the rest."""
    return "; ".join(run_problems(main)) or f"the run ended {main.snap.state}"


def run_problems(main: MainRun) -> list[str]:
    """The failed tasks grouped by the error each raised (producers first), then what never ran or ended oddly."""
    snap = main.snap
    errors = dict(main.log_errors)  # the failure callback's record wins where it has the exception (not 3.0)
    errors |= {(f["task_id"], int(f["map_index"])): str(f["error"]) for f in main.failures if f.get("exception", True)}
    by_error: dict[str, list[tuple[str, int]]] = {}
    for ti, state in snap.tasks.items():
        if state == "failed":
            by_error.setdefault(errors.get(ti, "no exception recorded (see the scenario log)"), []).append(ti)
    parts = []
    for error, tis in sorted(by_error.items(), key=lambda item: min(map(_position, item[1]))):
        names = _names(tis)
        parts.append(f"{'task' if len(tis) == 1 else 'tasks'} {', '.join(names)} failed: {error}")
    upstream = [ti for ti, state in snap.tasks.items() if state == "upstream_failed"]
    if upstream:
        parts.append(f"not run (upstream failed): {', '.join(_names(upstream, pulls=False))}")
    expected = {ti: "success" for ti in snap.tasks} | {("skipped_path", -1): "skipped"}
    odd = {ti: state for ti, state in snap.tasks.items() if state not in ("failed", "upstream_failed")}
    odd = {ti: state for ti, state in odd.items() if state != expected[ti]}
    if odd:
        parts.append("unexpected states: " + ", ".join(f"{t}[{m}] {s}" for (t, m), s in sorted(odd.items())))
    if main.error and not parts:
        parts.append("the DAG run raised: " + main.error.strip().splitlines()[-1])
    return parts


def test_run_succeeded_with_every_value_checked(e2e_main: MainRun) -> None:
    """Frame producer and consumer, mapped frames, a large dict, a look-alike string, the branch: each consumer
    raises when what it pulled differs, so a success means every value came back as it was pushed."""
    snap = e2e_main.snap
    expected = {ti: "success" for ti in snap.tasks} | {("skipped_path", -1): "skipped"}
    if (snap.state, snap.tasks) != ("success", expected):
        for problem in run_problems(e2e_main):  # tasks that failed for different reasons: one finding each
            if " failed: " in problem:
                findings.also(problem)
        tail = "\n".join(e2e_main.tail.splitlines()[-15:])
        raise AssertionError(f"{describe_run(e2e_main)}\n\n--- the scenario's last lines ---\n{tail}")


def test_branch_skip_xcom_reads_as_the_default_backend_writes_it(e2e_main: MainRun, e2e_scenario: Scenario) -> None:
    """The scheduler reads skipmixin_key straight from the DB (3.x) or in its own process (2.x): never S3."""
    snap, expected = e2e_main.snap, {"followed": ["check_all"]}
    found = [r for r in snap.rows if r.ident == ("choose", -1, "skipmixin_key")]
    if not found and snap.tasks.get(("choose", -1)) != "success":
        pytest.skip(
            "not reached: the branch task failed, so it wrote no skip XCom "
            "(see test_run_succeeded_with_every_value_checked)"
        )
    assert found, "the branch task succeeded but left no skipmixin_key XCom row"
    row = found[0]
    try:
        decoded = row.decoded
    except ValueError:
        decoded = None
    assert decoded == expected, (
        f"the branch's skip XCom is stored as {row.raw[:120]!r}, not as the default backend writes it "
        f"({json.dumps(expected)}): the scheduler reads it from the DB"
    )
    if e2e_scenario.ours:
        assert MARKER.encode() not in row.raw
        assert_inline_default(row, expected, e2e_main.info["stored_type"])


def _last_line(text: str) -> str:
    """A traceback's last line: the exception that was raised."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else text


def test_clear_and_rerun_leaves_no_more_objects(e2e_scenario: Scenario, e2e_main: MainRun, e2e_rerun: Rerun) -> None:
    """Rerunning a task replaces its XCom: whatever the old one kept in S3 must not stay behind as litter.

    xcom_s3's objects are counted under its prefix; another backend's in the whole bucket, which nothing else
    writes to while the scenario runs."""
    reran = [(step["task_id"], step.get("map_index", -1)) for step in RERUN_STEPS]
    not_ok = [ti for ti in reran if e2e_main.snap.tasks.get(ti) != "success"]
    if not_ok:
        pytest.skip(
            f"not reached: {', '.join(_names(not_ok, pulls=False))} failed in the first run, so rerunning them shows "
            "nothing about orphans (see test_run_succeeded_with_every_value_checked)"
        )
    if e2e_rerun.error:
        raise AssertionError(f"clear and rerun of {len(reran)} tasks raised: {_last_line(e2e_rerun.error)}")
    if e2e_rerun.bucket_before is not None and e2e_rerun.bucket_after is not None:
        before, after = set(e2e_rerun.bucket_before), set(e2e_rerun.bucket_after)
    else:
        before, after = set(e2e_rerun.before.objects), set(e2e_rerun.after.objects)
    grown = len(after) - len(before)
    new = sorted(after - before)
    shown = ", ".join(new[:8]) + (f", ... ({len(new)} in all)" if len(new) > 8 else "")
    assert grown <= 0, (
        f"clear and rerun of {len(reran)} tasks left {grown} more object{'s' if grown > 1 else ''} in S3 (orphans): "
        f"{shown}"
    )


# ---- the run with S3 up: xcom_s3's own contract ------------------------------------------------------------


def _inline_expected(snap: Snapshot) -> dict[tuple[str, int, str], Any]:
    present = {r.ident for r in snap.rows}
    return INLINE | {ident: v for ident, v in BRANCH_RETURN.items() if ident in present}


@pytest.mark.ours_only
def test_db_holds_exactly_the_expected_rows(e2e_main: MainRun) -> None:
    expected = set(OFFLOADED) | set(_inline_expected(e2e_main.snap)) | set(ESCAPED)
    assert {r.ident for r in e2e_main.snap.rows} == expected


@pytest.mark.ours_only
def test_small_values_stay_inline_as_the_default_backend_stores_them(e2e_main: MainRun) -> None:
    for ident, value in _inline_expected(e2e_main.snap).items():
        assert_inline_default(e2e_main.snap.row(*ident), value, e2e_main.info["stored_type"])


def assert_escaped(row: Any, expected: Any, stored_type: str) -> None:
    """The escape envelope, inline: compact JSON bytes on 2.x (compat's _encode_stored), the object on 3.x."""
    assert row.decoded == expected, f"{row.ident}: stored {row.raw!r}"
    if stored_type == "bytes":
        assert row.raw == json.dumps(expected, separators=(",", ":")).encode(), f"{row.ident}: stored {row.raw!r}"


@pytest.mark.ours_only
def test_lookalike_string_is_stored_escaped_inline(e2e_main: MainRun) -> None:
    for ident, envelope in ESCAPED.items():
        assert_escaped(e2e_main.snap.row(*ident), envelope, e2e_main.info["stored_type"])


#: (dialect, what serialize_value returns) -> the declared type of xcom.value: bytes land in a binary column
#: on 2.x, JSON documents in a JSON column on 3.x (jsonb on PostgreSQL, since 3.0's migration).
COLUMN_TYPES = {
    ("sqlite", "bytes"): "blob",
    ("sqlite", "json"): "json",
    ("postgresql", "bytes"): "bytea",
    ("postgresql", "json"): "jsonb",
}


@pytest.mark.ours_only
def test_xcom_column_holds_what_the_backend_writes(e2e_scenario: Scenario, e2e_main: MainRun) -> None:
    """The release's own column type, and every row of it readable as the JSON the backend wrote."""
    db = e2e_scenario.home.db
    stored_type = e2e_main.info["stored_type"]
    table = "xcom" if db.has_table("xcom") else "xcom_v2"  # 3.4 writes new XComs to xcom_v2
    assert db.column_type(table, "value") == COLUMN_TYPES[(db.dialect, stored_type)], db.url
    for row in e2e_main.snap.rows:
        assert isinstance(row.decoded, (dict, list, str, int, float, bool, type(None))), row.ident


@pytest.mark.ours_only
def test_offloaded_rows_are_small_references(e2e_scenario: Scenario, e2e_main: MainRun) -> None:
    for ident in OFFLOADED:
        assert_reference(e2e_scenario, e2e_main.snap, ident)


@pytest.mark.ours_only
def test_s3_holds_exactly_the_expected_objects(e2e_scenario: Scenario, e2e_main: MainRun) -> None:
    assert set(e2e_main.snap.objects) == expected_keys(e2e_scenario, e2e_main.snap)
    # ... and nothing else under the module's prefix either.
    everything = json.loads((e2e_scenario.out / "main.s3.json").read_text())
    assert set(everything) == set(e2e_main.snap.objects)


# ---- reruns of the same run --------------------------------------------------------------------------------


@pytest.mark.ours_only
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


@pytest.mark.ours_only
def test_rerun_replaces_offloaded_values_with_inline_ones(e2e_main: MainRun, e2e_rerun: Rerun) -> None:
    stored_type = e2e_main.info["stored_type"]
    assert_inline_default(e2e_rerun.after.row("big_dict"), SHRUNK, stored_type)
    assert_inline_default(e2e_rerun.after.row("make_part", 1), SHRUNK, stored_type)


@pytest.mark.ours_only
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
    assert tasks[("check_lookalike", -1)] == "success", tasks  # escaped inline: no S3 either
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
    assert not [r.ident for r in snap.rows if r.is_reference or (MARKER.encode() in r.raw and r.ident not in ESCAPED)]
    never_ran = {("reduce_parts", -1, "return_value")}
    assert {r.ident for r in snap.rows} == (set(_inline_expected(snap)) | set(ESCAPED)) - never_ran
    for ident, envelope in ESCAPED.items():  # a look-alike never touches S3: stored escaped through the outage
        assert snap.row(*ident).decoded == envelope
    assert snap.objects == {}
