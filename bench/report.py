"""Turn the per-stack JSON in bench/out/ into the Markdown table (bench/results.md) and the ratio chart (PNG)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

NAMES = {
    "ours": "xcom_s3 (ours)",
    "csv": "(a) CSV temp file",
    "commonio": "(b) common-io",
    "floor": "(c) floor: Parquet + put/get",
}
BASELINES = {"csv": "a", "commonio": "b", "floor": "c"}
#: The most ours may take, as a fraction of the baseline's median time, at the target size (issue 7).
TARGETS = {"csv": 0.1, "commonio": 0.4, "floor": 1.0}
TARGET_SIZE = "100MB"
RSS_TARGET = 2.0


def _mib(n: float) -> str:
    return f"{n / 2**20:,.1f}"


def summarize(results: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (size, path): median seconds and RSS over the successful runs, bytes, exactness, failures."""
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for r in results:
        cell = cells.setdefault((r["size_label"], r["path"]), {"ok": [], "errors": []})
        (cell["errors"] if "error" in r else cell["ok"]).append(r)
    for cell in cells.values():
        ok = cell["ok"]
        if ok:
            cell["seconds"] = statistics.median(r["seconds"] for r in ok)
            cell["cpu"] = statistics.median(r.get("cpu_seconds", 0.0) + r.get("server_cpu_seconds", 0.0) for r in ok)
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


def stack_table(doc: dict[str, Any]) -> tuple[str, list[str], dict[str, dict[str, float]]]:
    """The Markdown table of one stack, its target verdicts, and ours/baseline ratios per size."""
    cells = summarize(doc["results"])
    sizes = sorted({s for s, _ in cells}, key=_size_order)
    lines = [
        "| size (rows) | path | median s | ours / path | CPU s | stored MiB | exact | extra peak RSS MiB (max) "
        "| RSS / frame |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    ratios: dict[str, dict[str, float]] = {}
    verdicts: list[str] = []
    for size in sizes:
        ours = cells.get((size, "ours"), {})
        for path in NAMES:
            cell = cells.get((size, path))
            if cell is None:
                continue
            runs = len(cell["ok"]) + len(cell["errors"])
            if "seconds" not in cell:
                lines.append(
                    f"| {size} | {NAMES[path]} | failed {len(cell['errors'])}/{runs}: "
                    f"{cell['errors'][0]['error'][:80]} | | | | | |"
                )
                continue
            ratio = ""
            if path != "ours" and "seconds" in ours:
                value = ours["seconds"] / cell["seconds"]
                ratios.setdefault(path, {})[size] = value
                ratio = f"{value:.3f} ({1 / value:.1f}x faster)" if value < 1 else f"{value:.3f} ({value:.2f}x slower)"
            exact = "yes" if cell["exact"] else f"no: {cell['why'][:60]}"
            failed = f" ({len(cell['errors'])}/{runs} failed)" if cell["errors"] else ""
            lines.append(
                f"| {size} ({cell['rows']:,}) | {NAMES[path]}{failed} | {cell['seconds']:.3f} | {ratio} | "
                f"{cell['cpu']:.2f} | {_mib(cell['stored'])} | {exact} | "
                f"{_mib(cell['extra_rss'])} ({_mib(cell['max_rss'])}) | {cell['extra_rss'] / cell['frame']:.2f} |"
            )
        if "seconds" in ours and _size_order(size) >= _size_order(TARGET_SIZE):
            rss = ours["max_rss"] / ours["frame"]
            verdicts.append(
                f"{size}: extra peak RSS {rss:.2f}x the frame (worst run; target <= {RSS_TARGET}x): "
                f"{'met' if rss <= RSS_TARGET else 'MISSED'}"
            )
    for path, limit in TARGETS.items():
        value = ratios.get(path, {}).get(TARGET_SIZE)
        if value is not None:
            verdicts.insert(
                0,
                f"{TARGET_SIZE}: ours/({BASELINES[path]}) = {value:.3f} (target <= {limit}): "
                f"{'met' if value <= limit else 'MISSED'}",
            )
    return "\n".join(lines), verdicts, ratios


def _chart(stacks: list[tuple[str, dict[str, dict[str, float]]]], png: Path) -> None:
    """Grouped bars of ours/baseline per size (log scale), one panel per stack, target lines drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(stacks), figsize=(6.5 * len(stacks), 5.0), squeeze=False)
    colors = {"csv": "#c0504d", "commonio": "#4f81bd", "floor": "#9bbb59"}
    for ax, (label, ratios) in zip(axes[0], stacks, strict=True):
        sizes = sorted({s for r in ratios.values() for s in r}, key=_size_order)
        width = 0.8 / max(1, len(ratios))
        for i, path in enumerate(p for p in TARGETS if p in ratios):
            xs = [j + (i - (len(ratios) - 1) / 2) * width for j in range(len(sizes))]
            ys = [ratios[path].get(s, float("nan")) for s in sizes]
            ax.bar(xs, ys, width, color=colors[path], label=f"ours / {NAMES[path]}")
            for x, y in zip(xs, ys, strict=True):
                if y == y:
                    ax.text(x, y, f"{y:.2f}", ha="center", va="bottom", fontsize=7)
        for path, limit in TARGETS.items():
            ax.axhline(limit, color=colors[path], linestyle="--", linewidth=0.8)
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
    parts = [
        "# DataFrame XCom round trips: xcom_s3 against the alternatives",
        "",
        "Written by `bench/run.py` (`nox -s bench`). Each figure is a push then a pull of one DataFrame (ints,",
        "floats, strings, tz-aware datetimes, a categorical, bools) through a moto S3 server on loopback, in a fresh",
        "process per path, size and run, paths interleaved; each process first does one small round trip (imports,",
        "clients), as a worker that has pushed before. *ours / path* below 1 means ours is faster. *extra peak RSS*",
        "is the process's peak resident memory during the round trip minus its RSS just before (median of runs;",
        "worst in brackets); *RSS / frame* divides it by the frame's in-memory size. *CPU s* is the median CPU time",
        "of the path's process plus the S3 server's during the round trip (steadier than wall time on a busy",
        "machine). *exact* is",
        "`assert_frame_equal(check_exact=True)` with dtypes.",
        "",
        "![ours / baseline per size](ratios.png)",
        "",
    ]
    stacks: list[tuple[str, dict[str, dict[str, float]]]] = []
    for doc in docs:
        m = doc["machine"]
        v = m["versions"]
        table, verdicts, ratios = stack_table(doc)
        stacks.append((doc["label"], ratios))
        parts += [
            f"## {doc['label']}",
            "",
            f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores, {m['memory']}, {m['os']}; Python {m['python']}, "
            f"Airflow {v['apache-airflow']}, pandas {v['pandas']}, pyarrow {v['pyarrow']}, numpy {v['numpy']}, "
            f"boto3 {v['boto3']}, moto {v['moto']}, common-io {v['apache-airflow-providers-common-io']}, "
            f"amazon {v['apache-airflow-providers-amazon']}, s3fs {v['s3fs']}. Parquet codec {doc['codec']}; "
            f"common-io compression {doc['cio_compression'] or 'none (its default)'}. "
            f"{len({r['rep'] for r in doc['results']})} runs per cell; the whole stack took {doc['elapsed_s']:.0f} s.",
            "",
            table,
            "",
            "Targets (issue 7): "
            + ("; ".join(verdicts) if verdicts else f"no {TARGET_SIZE} figures in this run")
            + ".",
            "",
        ]
    text = "\n".join(parts)
    md.write_text(text)
    if stacks:
        _chart(stacks, png)
    return text
