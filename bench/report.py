"""Turn the per-stack JSON in bench/out/ into the Markdown table (bench/results.md) and the ratio chart (PNG).

``python bench/report.py`` renders again from bench/out/ without measuring.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

import snapshot

NAMES = {
    "ours": "xcom_s3 (ours)",
    "csv": "(a) CSV temp file",
    "commonio": "(b) common-io",
    "floor": "(c) floor: Parquet + put/get",
    "before": "(d) xcom_s3 at an earlier commit",
    "arrow": "xcom_s3, pyarrow.Table",
    "arrow_floor": "(c) floor for the Table: pyarrow Parquet + put/get",
    "polars": "xcom_s3, polars.DataFrame",
    "polars_floor": "(c) floor for polars: write_parquet + put/get + read_parquet",
}
#: Each xcom_s3 path and the baselines its ratios are against (same value, same run).
GROUPS = {"ours": ("csv", "commonio", "floor", "before"), "arrow": ("arrow_floor",), "polars": ("polars_floor",)}
SUBJECT = {baseline: ours for ours, baselines in GROUPS.items() for baseline in baselines}
BASELINES = {"csv": "a", "commonio": "b", "floor": "c", "before": "d", "arrow_floor": "c", "polars_floor": "c"}
#: The most ours may take, as a fraction of the baseline's median time, at the target size (issue 7).
TARGETS = {"csv": 0.1, "commonio": 0.4, "floor": 1.0}
TARGET_SIZE = "100MB"
RSS_TARGET = 2.0


def _mib(n: float) -> str:
    return f"{n / 2**20:,.1f}"


def _seconds(result: dict[str, Any]) -> float:
    return float(result["seconds"])


def _cpu(result: dict[str, Any]) -> float:
    """A run's CPU: its child's plus the S3 server's during the round trip."""
    return float(result.get("cpu_seconds", 0.0) + result.get("server_cpu_seconds", 0.0))


def summarize(results: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (size, path): median seconds and RSS over the successful runs, bytes, exactness, failures."""
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for r in results:
        cell = cells.setdefault((r["size_label"], r["path"]), {"ok": [], "errors": [], "skipped": []})
        (cell["skipped"] if "skipped" in r else cell["errors"] if "error" in r else cell["ok"]).append(r)
    for cell in cells.values():
        ok = cell["ok"]
        if ok:
            cell["seconds"] = statistics.median(map(_seconds, ok))
            cell["cpu"] = statistics.median(map(_cpu, ok))
            cell["extra_rss"] = statistics.median(r["extra_rss"] for r in ok)
            cell["max_rss"] = max(r["extra_rss"] for r in ok)
            cell["stored"] = statistics.median(r["stored_bytes"] for r in ok)
            cell["frame"] = ok[0]["frame_bytes"]
            cell["rows"] = ok[0]["rows"]
            cell["exact"] = all(r["exact"] for r in ok)
            cell["why"] = next((r["why"] for r in ok if not r["exact"]), "")
    return cells


def _size_order(label: str) -> float:
    units = {"KB": 2**10, "MB": 2**20, "GB": 2**30}
    return float(label[:-2]) * units[label[-2:]]


def _figures(cells: dict[tuple[str, str], dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Per size and path, what bench/snapshot.py compares (seconds, CPU, RSS / frame)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for (size, path), cell in cells.items():
        if "seconds" in cell:
            figures = {
                "seconds": cell["seconds"],
                "cpu": cell["cpu"],
                "rss_per_frame": cell["extra_rss"] / cell["frame"],
            }
            out.setdefault(size, {})[path] = figures
    return out


def _row(size: str, path: str, cell: dict[str, Any], ours: dict[str, Any]) -> tuple[str, float | None]:
    """One table row, and ours / this path's median time (None for an xcom_s3 row or a failed cell)."""
    runs = len(cell["ok"]) + len(cell["errors"])
    if cell["skipped"] and not runs:
        return f"| {size} | {NAMES[path]} | n/a: {cell['skipped'][0]['skipped']} | | | | | | |", None
    if "seconds" not in cell:
        return (
            f"| {size} | {NAMES[path]} | failed {len(cell['errors'])}/{runs}: {cell['errors'][0]['error'][:80]} "
            "| | | | | |",
            None,
        )
    value = None
    ratio = ""
    if path in SUBJECT and "seconds" in ours:
        value = ours["seconds"] / cell["seconds"]
        ratio = f"{value:.3f} ({1 / value:.1f}x faster)" if value < 1 else f"{value:.3f} ({value:.2f}x slower)"
    exact = "yes" if cell["exact"] else f"no: {cell['why'][:60]}"
    failed = f" ({len(cell['errors'])}/{runs} failed)" if cell["errors"] else ""
    return (
        f"| {size} ({cell['rows']:,}) | {NAMES[path]}{failed} | {cell['seconds']:.3f} | {ratio} | "
        f"{cell['cpu']:.2f} | {_mib(cell['stored'])} | {exact} | "
        f"{_mib(cell['extra_rss'])} ({_mib(cell['max_rss'])}) | {cell['extra_rss'] / cell['frame']:.2f} |",
        value,
    )


Cells = dict[tuple[str, str], dict[str, Any]]


def _table(cells: Cells, sizes: list[str]) -> tuple[list[str], dict[str, dict[str, float]]]:
    """The Markdown table's lines, each xcom_s3 path's row before its baselines', and ours / baseline per path."""
    lines = [
        "| size (rows) | path | median s | ours / path | CPU s | stored MiB | exact | extra peak RSS MiB (max) "
        "| RSS / frame |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    ratios: dict[str, dict[str, float]] = {}
    for size in sizes:
        for subject, baselines in GROUPS.items():
            ours = cells.get((size, subject), {})
            for path in (subject, *baselines):
                if (size, path) not in cells:
                    continue
                row, value = _row(size, path, cells[(size, path)], ours)
                lines.append(row)
                if value is not None:
                    ratios.setdefault(path, {})[size] = value
    return lines, ratios


def _verdicts(cells: Cells, sizes: list[str], ratios: dict[str, dict[str, float]]) -> list[str]:
    """Issue 7's targets at TARGET_SIZE, (c) first, then the memory target at every size from TARGET_SIZE up."""
    verdicts = []
    for path, limit in reversed(TARGETS.items()):
        value = ratios.get(path, {}).get(TARGET_SIZE)
        if value is not None:
            verdicts.append(
                f"{TARGET_SIZE}: ours/({BASELINES[path]}) = {value:.3f} (target <= {limit}): "
                f"{'met' if value <= limit else 'MISSED'}"
            )
    for size in sizes:
        ours = cells.get((size, "ours"), {})
        if "seconds" in ours and _size_order(size) >= _size_order(TARGET_SIZE):
            rss = ours["max_rss"] / ours["frame"]
            verdicts.append(
                f"{size}: extra peak RSS {rss:.2f}x the frame (worst run; target <= {RSS_TARGET}x): "
                f"{'met' if rss <= RSS_TARGET else 'MISSED'}"
            )
    return verdicts


def _floor_notes(cells: Cells, ratios: dict[str, dict[str, float]]) -> list[str]:
    """The pyarrow Table and polars paths against their own floors, in time and CPU, or why they are n/a."""
    notes = []
    for path in ("arrow_floor", "polars_floor"):
        for size, value in ratios.get(path, {}).items():
            against = "not slower than" if value <= 1 else f"{value - 1:.0%} slower than"
            cpu = cells[(size, SUBJECT[path])]["cpu"] / cells[(size, path)]["cpu"]
            notes.append(
                f"{size}: {NAMES[SUBJECT[path]]} / its floor = {value:.3f} in time ({against} the floor), "
                f"{cpu:.3f} in CPU"
            )
        skipped = [c["skipped"][0]["skipped"] for (_, p), c in cells.items() if p == SUBJECT[path] and c["skipped"]]
        if skipped and path not in ratios:
            notes.append(f"{NAMES[SUBJECT[path]]}: n/a ({skipped[0]})")
    return notes


def _before_notes(doc: dict[str, Any], cells: Cells, sizes: list[str]) -> list[str]:
    """The working tree's frames against the same path at an earlier commit, measured in this run: the ratio of
    medians in time and CPU, and in how many runs ours was the slower of the pair (the two paths of one run share
    its moment's load, so a difference the runs do not agree on is this machine's noise, not the change)."""
    ref = doc.get("before", {}).get("ref")
    notes = []
    for size in sizes:
        ours, before = cells.get((size, "ours"), {}), cells.get((size, "before"), {})
        if "seconds" in ours and "seconds" in before:
            figures = [
                _versus(what, ours[key] / before[key], _paired(ours, before, pick))
                for what, key, pick in (("time", "seconds", _seconds), ("CPU", "cpu", _cpu))
            ]
            notes.append(f"{size}: ours / xcom_s3 at {ref} = " + ", ".join(figures))
    return notes


def _paired(ours: dict[str, Any], before: dict[str, Any], pick: Any) -> tuple[int, int]:
    """(runs in which ours took more than before, runs with both): pairs are the same repetition."""
    earlier = {r["rep"]: pick(r) for r in before["ok"]}
    pairs = [(pick(r), earlier[r["rep"]]) for r in ours["ok"] if r["rep"] in earlier]
    return sum(1 for mine, theirs in pairs if mine > theirs), len(pairs)


def _versus(what: str, ratio: float, slower: tuple[int, int]) -> str:
    """One figure of the comparison and what it says: slower when every run agrees, likely slower when three in
    four do, otherwise the same within this machine's noise."""
    runs, total = slower
    if ratio <= 1:
        verdict = "no slower"
    elif runs == total:
        verdict = f"slower, in every run: +{ratio - 1:.0%}"
    elif 4 * runs >= 3 * total:
        verdict = f"likely slower: +{ratio - 1:.0%} median, slower in {runs} of {total} runs"
    else:
        verdict = f"the same within the noise: +{ratio - 1:.0%} median, slower in {runs} of {total} runs"
    return f"{ratio:.3f} in {what} ({verdict})"


def stack_table(
    doc: dict[str, Any], last: dict[str, Any] | None = None
) -> tuple[str, list[str], dict[str, dict[str, float]]]:
    """The Markdown table of one stack, its verdicts (targets, frames vs ``last``), and ours/baseline ratios."""
    cells = summarize(doc["results"])
    sizes = sorted({s for s, _ in cells}, key=_size_order)
    lines, ratios = _table(cells, sizes)
    verdicts = _verdicts(cells, sizes, ratios)
    notes = _floor_notes(cells, ratios)
    before = _before_notes(doc, cells, sizes)
    text = "\n".join(lines)
    text += (
        "\n\nTargets (issue 7): " + ("; ".join(verdicts) if verdicts else f"no {TARGET_SIZE} figures in this run") + "."
    )
    if notes:
        text += "\n\nTables and polars frames: " + "; ".join(notes) + "."
    if before:
        text += "\n\nFrames vs an earlier commit, same run (the verdict on a change): " + "; ".join(before) + "."
    text += "\n\n" + "\n\n".join(snapshot.compare(doc["label"], _figures(cells), last))
    return text, verdicts, ratios


#: Short names for the chart's legend.
LEGEND = {
    "csv": "ours / (a) CSV",
    "commonio": "ours / (b) common-io",
    "floor": "ours / (c) floor",
    "before": "ours / (d) earlier commit",
    "arrow_floor": "pyarrow.Table: ours / its floor",
    "polars_floor": "polars: ours / its floor",
}
COLORS = {
    "csv": "#c0504d",
    "commonio": "#4f81bd",
    "floor": "#9bbb59",
    "before": "#7f7f7f",
    "arrow_floor": "#8064a2",
    "polars_floor": "#f79646",
}
Ratios = dict[str, dict[str, float]]


def _snapshot_ratios(label: str, last: dict[str, Any] | None) -> Ratios:
    """ours / baseline (median time) per path and size in the last snapshot, for the chart's markers."""
    out: Ratios = {}
    stack = (last or {}).get("stacks", {}).get(label, {})
    for size, cells in stack.get("sizes", {}).items():
        for path in snapshot.COMPARED:
            if "ours" in cells and path in cells:
                out.setdefault(path, {})[size] = cells["ours"]["seconds"] / cells[path]["seconds"]
    return out


def _chart(stacks: list[tuple[str, Ratios, Ratios]], png: Path) -> None:
    """Grouped bars of ours/baseline per size (log scale), one panel per stack, target lines and the last
    snapshot's ratios (black ticks) drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(stacks), figsize=(6.5 * len(stacks), 5.4), squeeze=False)
    for ax, (label, ratios, before) in zip(axes[0], stacks, strict=True):
        sizes = sorted({s for r in ratios.values() for s in r}, key=_size_order)
        shown = [p for p in SUBJECT if p in ratios]
        width = 0.8 / max(1, len(shown))
        marked = False
        for i, path in enumerate(shown):
            xs = [j + (i - (len(shown) - 1) / 2) * width for j in range(len(sizes))]
            ys = [ratios[path].get(s, float("nan")) for s in sizes]
            ax.bar(xs, ys, width, color=COLORS[path], label=LEGEND[path])
            for x, y in zip(xs, ys, strict=True):
                if y == y:
                    ax.text(x, y, f"{y:.2f}", ha="center", va="bottom", fontsize=7)
            for x, size in zip(xs, sizes, strict=True):
                if (old := before.get(path, {}).get(size)) is not None:
                    ax.plot([x - width / 2, x + width / 2], [old, old], color="black", linewidth=1.5,
                            label=None if marked else "last snapshot")  # fmt: skip
                    marked = True
        for path, limit in TARGETS.items():
            ax.axhline(limit, color=COLORS[path], linestyle="--", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_xticks(range(len(sizes)), sizes)
        ax.set_title(label, fontsize=10)
        ax.set_ylabel("ours / baseline, median time (lower is better)")
        ax.set_ylim(top=2.0)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3, frameon=False)
    fig.suptitle(f"xcom_s3 round-trip time relative to each baseline (dashed: targets at {TARGET_SIZE})", fontsize=10)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def render(out_dir: Path, md: Path, png: Path) -> str:
    """Write results.md and the chart from every stack's JSON; return the Markdown."""
    docs = [json.loads(p.read_text()) for p in sorted(out_dir.glob("*.json"))]
    last = snapshot.load()
    parts = _preamble(last)
    stacks: list[tuple[str, Ratios, Ratios]] = []
    for doc in docs:
        table, _, ratios = stack_table(doc, last)
        stacks.append((doc["label"], ratios, _snapshot_ratios(doc["label"], last)))
        parts += [f"## {doc['label']}", "", _measured(doc), "", table, ""]
    text = "\n".join(parts)
    md.write_text(text)
    if stacks:
        _chart(stacks, png)
    return text


def _preamble(last: dict[str, Any] | None) -> list[str]:
    """results.md's title, how each figure was measured and the chart, as lines."""
    return [
        "# XCom round trips: xcom_s3 against the alternatives",
        "",
        "Written by `bench/run.py` (`nox -s bench`). Each figure is a push then a pull of one value through a moto",
        "S3 server on loopback, in a fresh process per path, size and run, paths interleaved; each process first",
        "does one small round trip (imports, clients), as a worker that has pushed before. The value is a pandas",
        "DataFrame (ints, floats, strings, tz-aware datetimes, a categorical, bools), or the same columns as a",
        "pyarrow Table or a polars DataFrame (sized by their own buffers, so more rows than a pandas 2 frame), each",
        "against its own Parquet floor. *ours / path* below 1 means ours is faster. *extra peak RSS*",
        "is the process's peak resident memory during the round trip minus its RSS just before (median of runs;",
        "worst in brackets); *RSS / frame* divides it by the value's in-memory size. *CPU s* is the median CPU time",
        "of the path's process plus the S3 server's during the round trip (steadier than wall time on a busy",
        "machine). *exact* is `assert_frame_equal(check_exact=True)` with dtypes (pandas, polars), or the same",
        "schema, metadata included, and `Table.equals` (pyarrow); a value must come back as its own type.",
        "*Frames vs the last snapshot* compares xcom_s3's pandas ratios with those of "
        + (f"`{last['source']}` (bench/last_snapshot.json)" if last else "the last snapshot (none recorded)")
        + "; ratios, since wall times follow the machine's load. That snapshot's other figures (1 MB, 1 GB) are"
        + " in that file.",
        "*(d)* is xcom_s3 itself at an earlier commit (`--before REF`, by default that snapshot's commit): the same",
        "children and server in the same run, so *ours / (d)* says whether a change made frames slower without",
        "comparing figures from different hours.",
        "",
        "![ours / baseline per size](ratios.png)",
        "",
    ]


def _measured(doc: dict[str, Any]) -> str:
    """One stack's machine, versions, codec and run count: its figures only mean something next to these."""
    m = doc["machine"]
    v = m["versions"]
    return (
        f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores, {m['memory']}, {m['os']}; Python {m['python']}, "
        f"Airflow {v['apache-airflow']}, pandas {v['pandas']}, pyarrow {v['pyarrow']}, "
        f"polars {v.get('polars', '-')}, numpy {v['numpy']}, "
        f"boto3 {v['boto3']}, moto {v['moto']}, common-io {v['apache-airflow-providers-common-io']}, "
        f"amazon {v['apache-airflow-providers-amazon']}, s3fs {v['s3fs']}. Parquet codec {doc['codec']}; "
        f"common-io compression {doc['cio_compression'] or 'none (its default)'}. "
        f"{len({r['rep'] for r in doc['results']})} runs per cell; the whole stack took {doc['elapsed_s']:.0f} s."
    )


if __name__ == "__main__":
    bench = Path(__file__).resolve().parent
    print(render(bench / "out", bench / "results.md", bench / "ratios.png"))
    sys.exit(0)
