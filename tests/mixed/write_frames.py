"""Push every frame of the catalogue through the resolved XCom class, under THIS interpreter's Airflow and pandas.

    python tests/mixed/write_frames.py OUT.json RUN_ID

Run by test_frames_across_versions.py with the writer's interpreter (another venv: the 2.x side of an upgrade
rehearsal, or the pandas 2 entry of the same release) and the backend's settings in the environment. Writes, per
member, what the metadata DB would hold (the reference) and the frame's description (frame_description), or the
refusal; the test then reads each reference back under its own Airflow and pandas.
"""

from __future__ import annotations

import base64
import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from airflow_release import import_airflow_xcom


def member_context(number: int, run_id: str) -> Any:
    """The XCom each member is pushed as: its own key in one run, so every reference is distinct."""
    from xcom_compat import XComContext

    return XComContext(
        key=f"m{number}", task_id="catalogue", dag_id="frames_across_versions", run_id=run_id, map_index=-1
    )


def main(out: Path, run_id: str) -> None:
    backend = import_airflow_xcom().XCom
    import frame_catalogue
    from airflow_io import IS_3X, store, through_db
    from frame_description import describe

    members: dict[str, Any] = {}
    for number, (member, build) in enumerate(frame_catalogue.members().items()):
        frame = build()
        try:
            stored = store(backend, frame, member_context(number, run_id))
        except Exception as exc:  # the refusal is the writer's answer; the reader has nothing to read
            members[member] = {"refused": f"{type(exc).__name__}: {exc}"}
            continue
        if IS_3X:
            members[member] = {"number": number, "json": through_db(stored)}
        else:
            members[member] = {"number": number, "bytes": base64.b64encode(stored).decode("ascii")}
        members[member]["description"] = describe(frame)
    writer = {name: metadata.version(name) for name in ("apache-airflow", "pandas", "pyarrow")}
    out.write_text(json.dumps({"writer": writer, "members": members}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
