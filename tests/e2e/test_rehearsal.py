"""The 2.x -> 3.x upgrade rehearsal (rehearsal.py) from pytest, plus its diff on made-up readings.

The rehearsal needs two venvs, so it runs only when XCOM_S3_UPGRADE_FROM_PYTHON and XCOM_S3_UPGRADE_TO_PYTHON
name their interpreters (``nox -s upgrade`` calls the driver directly). Without them it is n/a only where that is
declared (tools/matrix/rehearsals.py: outside the matrix, or in an entry matrix.yaml's rule does not rehearse in);
in an entry the rule names, their absence is a wiring mistake and fails. The diff tests need neither.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from e2e_canon import canonical
from packaging.version import Version
from pg_server import PostgresCluster
from rehearsal import diff

pytestmark = pytest.mark.e2e

DRIVER = Path(__file__).resolve().parent / "rehearsal.py"
ROOT = Path(__file__).resolve().parents[2]


def _rehearsal_plan() -> Any:
    """What tools/matrix/rehearsals.py decides for this run: run, a declared n/a, or a wiring failure."""
    from tools.matrix import entries, rehearsals

    env = os.environ
    matrix = entries.load(ROOT / "matrix.yaml")
    return rehearsals.decide(
        matrix, env.get(rehearsals.ENTRY_VAR), env.get(rehearsals.FROM_VAR), env.get(rehearsals.TO_VAR)
    )


#: Decided at collection, so a declared n/a skips before the fixtures start S3 or PostgreSQL.
PLAN = _rehearsal_plan()


@pytest.mark.skipif(PLAN.outcome == "n/a", reason=f"n/a: {PLAN.reason}")
def test_upgrade_rehearsal(s3_server: Any, postgres: PostgresCluster | None, tmp_path: Path, backend_path: str) -> None:
    """XComs the FROM release wrote read back equal under TO, with the selected backend on both sides (for
    xcom_s3 also: a clean FROM run and, on PostgreSQL, its references as JSONB after the migration)."""
    import airflow

    from tools.matrix import rehearsals

    if PLAN.outcome != "run":
        pytest.fail(f"upgrade rehearsal not wired: {PLAN.reason}", pytrace=False)
    if postgres is None and airflow.__version__.startswith(("3.0.", "3.1.")):
        # The TO release runs this test. Its migration 0042 gives every existing task instance the same id on
        # SQLite and fails (UNIQUE constraint on _alembic_tmp_task_instance.id); fixed in 3.2 (apache/airflow#59241).
        pytest.skip(
            f"n/a: Airflow {airflow.__version__} cannot migrate a 2.x SQLite DB (migration 0042, fixed in 3.2); "
            "rehearse on PostgreSQL: XCOM_S3_TEST_DB=postgres (nox -s matrix -- --db postgres)"
        )
    argv = [
        sys.executable,
        str(DRIVER),
        "--from-python",
        os.environ[rehearsals.FROM_VAR],
        "--to-python",
        os.environ[rehearsals.TO_VAR],
    ]
    argv += [
        "--s3-endpoint",
        s3_server.endpoint_url,
        "--bucket",
        s3_server.bucket,
        "--workdir",
        str(tmp_path),
        "--backend",
        backend_path,
    ]
    if postgres is not None:
        argv += ["--db-url", postgres.database("rehearsal")]
    env = {**os.environ, **s3_server.env()}
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, f"{_diagnosis(proc)}\n\n{proc.stdout}\n{proc.stderr[-3000:]}"
    assert proc.stdout.rstrip().endswith("OK"), proc.stdout
    if PLAN.source is not None:  # the interpreters hold the releases matrix.yaml declares (as X.Y.Z, as printed)
        rehearsed = re.search(r"^upgrade rehearsal: Airflow (\S+) -> (\S+) ", proc.stdout, flags=re.M)
        declared = (PLAN.source.version.base_version, Version(airflow.__version__).base_version)
        assert rehearsed is not None and rehearsed.groups() == declared, (
            f"rehearsed {rehearsed.groups() if rehearsed else '?'}, matrix.yaml declares {declared[0]} -> {declared[1]}"
        )


def _diagnosis(proc: subprocess.CompletedProcess[str]) -> str:
    """The first line of a failed rehearsal: its problems (exit 1) or the step that failed (exit 2)."""
    lines = proc.stdout.splitlines()
    upgrade = next((line.split(": ", 1)[1] for line in lines if line.startswith("upgrade rehearsal: ")), "")
    problems = [line.strip()[2:] for line in lines if line.startswith("  - ")]
    error = next((line.removeprefix("ERROR: ") for line in lines if line.startswith("ERROR: ")), "")
    what = "; ".join(problems) or error or f"rehearsal exit {proc.returncode}: {proc.stderr.strip()[-300:]}"
    return f"upgrade rehearsal ({upgrade}): {what}" if upgrade else what


def _reading(value: Any, **where: Any) -> dict[str, Any]:
    ident = {"dag_id": "d", "run_id": "r", "task_id": "t", "map_index": -1, "key": "return_value"} | where
    return {**ident, "value": canonical(value), "type": type(value).__qualname__}


def test_diff_equal_readings() -> None:
    import pandas as pd

    frame = pd.DataFrame({"a": [1, 2], "s": ["x", "y"]})
    readings = [_reading(frame), _reading({"k": (1, 2)}, task_id="u")]
    assert diff(readings, readings, "2.11.2", "3.3.2") == (2, [], [])


def test_diff_names_the_differing_column() -> None:
    import pandas as pd

    before = [_reading(pd.DataFrame({"a": [1, 2], "s": ["x", "y"]}))]
    after = [_reading(pd.DataFrame({"a": [1, 2], "s": ["x", "z"]}))]
    equal, problems, _ = diff(before, after, "2.11.2", "3.3.2")
    assert equal == 0 and len(problems) == 1
    assert "column 's' row 1" in problems[0] and "d/r/t[-1].return_value" in problems[0]


def test_diff_reports_dtype_renames_as_notes_only() -> None:
    import pandas as pd

    before = [_reading(pd.DataFrame({"s": pd.Series(["x"], dtype="object")}))]
    after = [_reading(pd.DataFrame({"s": pd.Series(["x"], dtype="string")}))]
    equal, problems, notes = diff(before, after, "2.11.2", "3.3.2")
    assert (equal, problems) == (1, []) and len(notes) == 1 and "object" in notes[0]


def test_diff_reports_lost_rows_errors_and_type_changes() -> None:
    before = [_reading("1", task_id="a"), _reading([1, 2], task_id="b"), _reading(3, task_id="c")]
    after = [
        _reading(1, task_id="a"),
        {**_reading(0, task_id="b"), "value": None, "error": "xcom_s3.errors.ObjectMissingError: gone"},
    ]
    equal, problems, _ = diff(before, after, "2.11.2", "3.3.2")
    text = "\n".join(problems)
    assert equal == 0 and len(problems) == 3
    assert "str" in text and "int" in text  # '1' came back as 1
    assert "ObjectMissingError" in text and "row lost" in text
