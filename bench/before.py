"""xcom_s3 as it was at an earlier commit, measured in the same run as the code of the working tree.

"No slower than before" then compares two paths the machine's load hits alike (same server, same children, runs
interleaved), instead of today's figures with a snapshot taken on another day: wall times here drift by a third
from one hour to the next, which buries a change of a few percent. The earlier code comes from the repository's
own history (``git archive``; no network), only ``compat/`` and ``backend/``: the children still run this tree's
bench harness, so only the backend differs between the ``ours`` and ``before`` paths.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
#: What the earlier code is made of: the parts the children import from it.
PARTS = ("compat", "backend")


def default_ref() -> str | None:
    """The commit of the last committed snapshot (bench/last_snapshot.json): what results.md compared with so far."""
    path = BENCH / "last_snapshot.json"
    if not path.is_file():
        return None
    commit = json.loads(path.read_text()).get("commit")
    return str(commit) if commit else None


def resolve(ref: str) -> str:
    """The full commit ``ref`` names, or a ValueError that says how to name one."""
    proc = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ValueError(
            f"--before {ref!r} names no commit of {REPO} (a clone with its history is needed; "
            "pass a commit or tag it has, or --before none)"
        )
    return proc.stdout.strip()


def checkout(commit: str, dest: Path) -> Path:
    """``compat/`` and ``backend/`` of ``commit`` under ``dest`` (the PYTHONPATH roots of the ``before`` path)."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", commit, *PARTS], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def pythonpath(root: Path, bench: Path = BENCH) -> list[str]:
    """The ``before`` children's import roots: the earlier compat and backend, then this tree's bench modules."""
    return [str(root / "compat"), str(root / "backend"), str(bench)]
