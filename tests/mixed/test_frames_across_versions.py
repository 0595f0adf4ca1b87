"""(mixed) A frame written under another Airflow, pandas and pyarrow reads back here exactly, or fails clearly.

During an upgrade the task that pushes and the task that pulls run different releases: the 2.x side of a 2.11 ->
3.x upgrade and its 3.x side, or the same release's pandas 2 and pandas 3 workers. The writer (write_frames.py,
run with the other venv's interpreter) pushes every frame of the catalogue through its resolved XCom class; here
each reference is read through this release's resolved class, as this release's metadata DB would hand it over
(a 2.x row's JSON bytes become the JSON value 3.0's migration makes of them).

The promise (README, "DataFrames: exact or refused"): the frame that was written — every dtype name, label, index
level, attrs, and each cell's Python type and value — or a pull that fails with the backend's error naming the
column and what this pandas cannot build. Never a silent change.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from airflow_io import IS_3X, is_ours, load
from frame_description import describe, difference

pytestmark = pytest.mark.e2e

WRITER = Path(__file__).resolve().parent / "write_frames.py"
ROOT = Path(__file__).resolve().parents[2]


def _plans() -> dict[str, Any]:
    from tools.matrix import entries, rehearsals

    matrix = entries.load(ROOT / "matrix.yaml")
    return {kind: rehearsals.decide_writer(matrix, kind, os.environ) for kind in rehearsals.WRITERS}


PLANS = _plans()

#: What a mixed-version read gives instead of the written frame, by design (README: "Mixed versions"): a pattern of
#: the difference, and why. Anything else that differs is a finding.
TRANSLATIONS = [
    (
        re.compile(
            r"dtype datetime64\[(\w+), pytz\.FixedOffset\((-?\d+)\)\] came back as datetime64\[\1, UTC[+-]\d\d:\d\d\]"
        ),
        "a pytz fixed offset, read where pytz is not installed (pandas 3 dropped it), is the datetime.timezone of the "
        "same offset, as pandas 3 builds it",
    ),
]


def _write(python: str, out: Path, run_id: str) -> dict[str, Any]:
    path = os.pathsep.join([str(ROOT / "compat"), str(ROOT / "backend")])  # the writer adds tests/ itself
    # The writer's venv keeps its own bytecode (tools/matrix/venvs.py), never this checkout.
    env = {**os.environ, "PYTHONPATH": path, "PYTHONPYCACHEPREFIX": str(Path(python).parents[1] / ".pycache")}
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run([python, str(WRITER), str(out), run_id], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"the writer ({python}) failed:\n{done.stderr[-3000:]}", pytrace=False)
    return dict(json.loads(out.read_text()))


def as_this_release_reads_it(written: dict[str, Any]) -> Any:
    """The DB value this release hands ``deserialize_value``: a 2.x row's bytes as they are (2.x) or as the JSON
    value 3.0's migration makes of them (3.x); a 3.x JSON value as it is."""
    if "json" in written:
        return written["json"]
    raw = base64.b64decode(written["bytes"])
    return json.loads(raw) if IS_3X else raw


@pytest.mark.parametrize("kind", list(PLANS))
def test_catalogue_frames_written_under_another_release_read_back_exactly(
    kind: str, backend: Any, xcom_s3_env: Any, tmp_path: Path, record_property: Any
) -> None:
    """Every catalogue member the writer pushed is, read here, the frame it wrote or our clear refusal."""
    plan = PLANS[kind]
    if plan.outcome == "n/a":
        pytest.skip(f"n/a: {plan.reason}")
    if plan.outcome != "run":
        pytest.fail(plan.reason, pytrace=False)
    from write_frames import member_context

    manifest = _write(plan.python, tmp_path / "written.json", run_id=f"r-{kind}")
    counts = {"exact": 0, "translated": 0, "refused by the writer": 0, "refused here": 0}
    broken: list[str] = []
    refused_here: list[str] = []
    for member, written in manifest["members"].items():
        if "refused" in written:
            counts["refused by the writer"] += 1
            continue
        try:
            got = load(backend, as_this_release_reads_it(written), member_context(written["number"], f"r-{kind}"))
        except Exception as exc:
            verdict = _judge_refusal(backend, exc)
            if verdict is None:
                counts["refused here"] += 1
                refused_here.append(f"{member}: {exc}")
            else:
                broken.append(f"{member}: {verdict}")
            continue
        found = difference(written["description"], describe(got))
        if found is None:
            counts["exact"] += 1
        elif any(pattern.search(found) for pattern, _ in TRANSLATIONS) and not _has_pytz():
            counts["translated"] += 1
        else:
            broken.append(f"{member}: changed on the way: {found}")
    writer = ", ".join(f"{name} {version}" for name, version in manifest["writer"].items())
    record_property("frames_across_versions", json.dumps({"writer": manifest["writer"], **counts}))
    shown = "\n".join(line[:400] for line in broken[:40])
    record_property("refused_here", json.dumps(refused_here))
    assert not broken, f"written under {writer}: {len(broken)} members not read back as written {counts}:\n{shown}"
    assert counts["exact"] > 300, f"written under {writer}: too few members read back exactly: {counts}"


def _has_pytz() -> bool:
    import importlib.util

    return importlib.util.find_spec("pytz") is not None


def _judge_refusal(backend: Any, exc: Exception) -> str | None:
    """None when the pull failed clearly (our error naming a column or index level and what to do)."""
    if not is_ours(backend):
        return None  # another backend's refusal is its own; only a silent change is a finding
    from xcom_s3.errors import UnsupportedFrameError

    message = str(exc)
    if isinstance(exc, UnsupportedFrameError) and re.search(r"\b(column|index level) ", message):
        return None
    return f"{type(exc).__name__} (not a refusal naming the column): {message}"
