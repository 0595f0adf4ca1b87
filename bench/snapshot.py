"""The last committed snapshot's figures, so a new run can say whether xcom_s3's frames got slower since.

Wall times on this machine drift with its load; a ratio against a baseline measured in the same run drifts much
less. So the comparison is of ratios: xcom_s3's median time over the Parquet floor's (and CPU over CPU) at each
size, per stack, now against the snapshot. ``python bench/snapshot.py REV`` reads the bench/results.md committed at
REV (git) and writes bench/last_snapshot.json; run it before committing a new results.md, so the next run compares
against that one.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
SNAPSHOT = BENCH / "last_snapshot.json"
#: What the comparison looks at: xcom_s3's pandas path against these baselines (report.NAMES keys).
COMPARED = ("floor", "commonio", "csv")

_ROW = re.compile(
    r"^\| (?P<size>\d+[KMG]B) \([\d,]+\) \| (?P<name>[^|]+?)(?: \(\d+/\d+ failed\))? \| (?P<seconds>[\d.]+) \|"
    r"[^|]*\| (?P<cpu>[\d.]+) \|[^|]*\|[^|]*\|[^|]*\| (?P<rss>[\d.]+) \|$"
)


def parse_results(text: str, names: dict[str, str]) -> dict[str, Any]:
    """Per stack label: its measurement date and, per size and path, the median seconds, CPU and RSS / frame."""
    by_name = {name: path for path, name in names.items()}
    stacks: dict[str, Any] = {}
    stack: dict[str, Any] | None = None
    for line in text.splitlines():
        if line.startswith("## "):
            stack = stacks.setdefault(line[3:].strip(), {"measured": "", "sizes": {}})
        elif stack is not None and line.startswith("Measured "):
            stack["measured"] = line[len("Measured ") :].split(" on ", 1)[0]
        elif stack is not None and (row := _ROW.match(line)) and row["name"] in by_name:
            stack["sizes"].setdefault(row["size"], {})[by_name[row["name"]]] = {
                "seconds": float(row["seconds"]),
                "cpu": float(row["cpu"]),
                "rss_per_frame": float(row["rss"]),
            }
    return stacks


def load(path: Path = SNAPSHOT) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None


def _ratio(cells: dict[str, Any], path: str, field: str) -> float | None:
    ours, other = cells.get("ours"), cells.get(path)
    if not ours or not other or not other.get(field):
        return None
    return float(ours[field]) / float(other[field])


def _verdict(then: dict[str, Any], now: dict[str, Any], field: str, what: str) -> str:
    """Whether ours got slower against the floor by ``field`` (seconds or cpu), and by how much."""
    before, after = _ratio(then, "floor", field), _ratio(now, "floor", field)
    if before is None or after is None:
        return f"by {what}: no floor to compare against"
    if after <= before:
        return f"by {what} not slower ({1 - after / before:.0%} less {what} relative to the floor)"
    return f"by {what} SLOWER ({after / before - 1:.0%} more {what} relative to the floor)"


def compare(label: str, now: dict[str, dict[str, dict[str, float]]], snapshot: dict[str, Any] | None) -> list[str]:
    """One line per size both have: xcom_s3's frame ratios then -> now, and whether it got slower against the floor.

    ``now`` is, per size and path, the same fields the snapshot holds (seconds, cpu, rss_per_frame).
    """
    if snapshot is None:
        return ["Frames vs the last snapshot: no bench/last_snapshot.json to compare with."]
    before = snapshot["stacks"].get(label)
    if before is None:
        return [f"Frames vs the last snapshot: the snapshot has no stack {label!r}."]
    lines = []
    for size, then in before["sizes"].items():
        cells = now.get(size)
        if not cells or "ours" not in cells:
            continue
        parts = []
        for path in COMPARED:
            t0, t1 = _ratio(then, path, "seconds"), _ratio(cells, path, "seconds")
            if t0 is None or t1 is None:
                continue
            text = f"ours/{path} time {t0:.3f} -> {t1:.3f}"
            c0, c1 = _ratio(then, path, "cpu"), _ratio(cells, path, "cpu")
            if c0 is not None and c1 is not None:
                text += f", CPU {c0:.3f} -> {c1:.3f}"
            parts.append(text)
        if not parts:
            continue
        parts.append(f"extra RSS / frame {then['ours']['rss_per_frame']:.2f} -> {cells['ours']['rss_per_frame']:.2f}")
        verdict = "; ".join(_verdict(then, cells, field, what) for field, what in (("seconds", "time"), ("cpu", "CPU")))
        lines.append(
            f"Frames vs the last snapshot ({snapshot['commit']}, measured {before['measured']}), {size}: "
            + "; ".join(parts)
            + f" (absolute: {then['ours']['seconds']:.3f} s -> {cells['ours']['seconds']:.3f} s). Frames: {verdict}."
        )
    return lines or [f"Frames vs the last snapshot: no size of {label!r} measured in both."]


def main(argv: list[str]) -> int:
    """Write bench/last_snapshot.json from the bench/results.md committed at ``argv[0]`` (default HEAD)."""
    from report import NAMES

    rev = argv[0] if argv else "HEAD"
    repo = BENCH.parent
    commit = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--short", rev], capture_output=True, text=True, check=True
    ).stdout.strip()
    text = subprocess.run(
        ["git", "-C", str(repo), "show", f"{commit}:bench/results.md"], capture_output=True, text=True, check=True
    ).stdout
    doc = {"commit": commit, "source": f"{commit}:bench/results.md", "stacks": parse_results(text, NAMES)}
    SNAPSHOT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"{SNAPSHOT.relative_to(repo)}: {', '.join(doc['stacks'])} from {doc['source']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
