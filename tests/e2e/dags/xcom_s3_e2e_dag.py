"""The end-to-end DAG: every XCom shape the S3 backend must handle, checked by downstream tasks.

One file for Airflow 2.3 through 3.x. Every consumer raises when what it pulled differs from what its producer
built, so a wrong round trip fails the run, not just a later assertion. Producers are annotated ``-> Any``: a
``dict`` return annotation would turn on ``multiple_outputs`` and push one XCom per key. With
``XCOM_S3_E2E_SHRINK=1`` the offloading producers return a small inline value instead: rerunning one of them
then shows whether Airflow purged its old object (see tests/e2e/test_e2e_dag.py). A failing task appends
``{"task_id", "map_index", "error"}`` to ``$XCOM_S3_E2E_FAILURES`` (JSON lines), so the tests can name the cause
whatever the release's log format.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pendulum
from airflow_release import airflow_version

try:  # Airflow 3.x: the Task SDK
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task

DAG_ID = "xcom_s3_e2e"
MAP_OVER = [1, 2, 3]
#: What reduce_parts returns: a small dict that must stay inline.
SUMMARY = {"parts": 3, "rows": 36}
SHRUNK_VALUE = {"shrunk": True}
#: A user string that starts like a blog-post backend's reference: it must come back as this very string.
LOOKALIKE = "xcom_s3://not-a-reference"
FAILURES_VAR = "XCOM_S3_E2E_FAILURES"

_V = airflow_version()
# 2.3 only knows schedule_interval; 3.x only knows schedule.
_SCHEDULE: dict[str, Any] = {"schedule": None} if _V >= (2, 4) else {"schedule_interval": None}


def make_frame(seed: int, rows: int = 40) -> Any:
    """A deterministic frame of mixed dtypes, so a consumer can rebuild what its producer returned."""
    import pandas as pd

    return pd.DataFrame(
        {
            "i": pd.Series(range(seed * 1000, seed * 1000 + rows), dtype="int64"),
            "x": pd.Series([k * 0.25 + seed for k in range(rows)], dtype="float64"),
            "name": [f"row-{seed}-{k}" for k in range(rows)],
            "flag": pd.Series([k % 3 == 0 for k in range(rows)], dtype="bool"),
            "when": pd.date_range("2024-01-01", periods=rows, freq="h", tz="UTC"),
            "maybe": pd.array([None if k % 5 == 0 else k for k in range(rows)], dtype="Int64"),
            "cat": pd.Categorical([("a", "b", "c")[k % 3] for k in range(rows)]),
        }
    )


def make_big() -> dict[str, Any]:
    """A plain dict a few KB long: over the e2e threshold, so it is offloaded as compressed JSON."""
    return {"rows": [{"i": i, "name": f"item-{i:04d}", "even": i % 2 == 0} for i in range(120)]}


def _shrink() -> bool:
    return os.environ.get("XCOM_S3_E2E_SHRINK") == "1"


def _assert_frame(actual: Any, expected: Any) -> None:
    """Raise with the difference a user would want named first: the type, the shape, the dtypes, the values."""
    import pandas as pd

    if not isinstance(actual, pd.DataFrame):
        raise AssertionError(f"a DataFrame comes back as {type(actual).__qualname__}: {_short(actual)}")
    if list(actual.columns) != list(expected.columns):
        raise AssertionError(
            f"frames change on the way back: columns {list(expected.columns)} -> {list(actual.columns)}"
        )
    changed = [
        f"column {name!r} {before} -> {after}"
        for name, before, after in zip(expected.columns, expected.dtypes, actual.dtypes, strict=True)
        if str(before) != str(after)
    ]
    if changed:
        raise AssertionError("frames change on the way back: " + ", ".join(changed))
    if actual.shape != expected.shape:
        raise AssertionError(f"frames change on the way back: shape {expected.shape} -> {actual.shape}")
    try:
        pd.testing.assert_frame_equal(actual, expected, check_exact=True)
    except AssertionError as exc:
        raise AssertionError("frames change on the way back: " + " ".join(str(exc).split())) from None


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def record_failure(context: Any) -> None:
    """on_failure_callback: the task and the first line of its exception, for the test's failure message."""
    path = os.environ.get(FAILURES_VAR)
    if not path:
        return
    ti, exc = context.get("ti"), context.get("exception")
    error = f"{type(exc).__name__}: {exc}" if exc is not None else "failed without an exception"
    lines = [line for line in error.splitlines() if line.strip()]
    item = {
        "task_id": getattr(ti, "task_id", "?"),
        "map_index": getattr(ti, "map_index", -1),
        "error": lines[0] if lines else error,
        "exception": exc is not None,  # 3.0 passes none: the test falls back to the task's log
    }
    with open(path, "a") as out:
        out.write(json.dumps(item) + "\n")


@dag(
    dag_id=DAG_ID,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"on_failure_callback": record_failure},
    **_SCHEDULE,
)
def xcom_s3_e2e() -> None:
    # Few task instances on purpose: dag.test() on 3.1/3.2 spends seconds setting up each one.
    @task
    def produce_frame() -> Any:
        return make_frame(0)

    @task
    def make_part(seed: int) -> Any:
        return SHRUNK_VALUE if _shrink() else make_frame(seed, rows=10 + seed)

    @task
    def reduce_parts(parts: Any) -> Any:
        frames = list(parts)
        if len(frames) != len(MAP_OVER):
            raise AssertionError(f"expected {len(MAP_OVER)} mapped frames, pulled {len(frames)}")
        for seed, frame in zip(MAP_OVER, frames, strict=True):
            _assert_frame(frame, make_frame(seed, rows=10 + seed))
        return {"parts": len(frames), "rows": sum(len(f) for f in frames)}

    @task
    def big_dict() -> Any:
        return SHRUNK_VALUE if _shrink() else make_big()

    @task.branch
    def choose() -> str:
        return "check_all"

    @task
    def skipped_path() -> str:
        raise AssertionError("the branch should have skipped this task")

    @task
    def check_all(frame: Any, big: Any, summary: Any) -> None:
        """Consumes the frame, the offloaded dict and the inline summary: any difference fails the run."""
        _assert_frame(frame, make_frame(0))
        if big != make_big():
            raise AssertionError(f"the large dict comes back different: {type(big).__qualname__} {_short(big)}")
        if summary != SUMMARY:
            raise AssertionError(f"the inline summary came back as {summary!r}")

    @task
    def lookalike() -> Any:
        return LOOKALIKE

    @task
    def check_lookalike(value: Any) -> None:
        if value != LOOKALIKE:
            raise AssertionError(
                f"the user string {LOOKALIKE!r} comes back as {type(value).__qualname__} {_short(value)}"
            )

    checked = check_all(produce_frame(), big_dict(), reduce_parts(make_part.expand(seed=MAP_OVER)))
    check_lookalike(lookalike())
    choose() >> [checked, skipped_path()]


# A module global: 2.3's DagBag only finds DAGs there (auto-registration came in 2.4).
e2e_dag = xcom_s3_e2e()
