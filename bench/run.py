"""XCom round trips: xcom_s3 against CSV, common-io and the buffered-Parquet floor, on one S3 server.

pandas DataFrames against all three; a pyarrow Table and a polars DataFrame each against its own Parquet floor
(bench/paths.py). A path whose optional library is missing (polars) is recorded as skipped, with the reason.

Usage (from the repo root, in a bench venv; see bench/requirements-*.txt)::

    python bench/run.py [--sizes 1MB,100MB] [--runs 5] [--label NAME] [--endpoint-url URL --bucket NAME]
                        [--before REF|none]

Starts moto's S3 server on loopback (or, with ``--endpoint-url``, uses an S3-compatible store you run: MinIO, S3
itself, with the credentials of the usual AWS_* variables or profile, and a bucket that exists), then for each size
and repetition runs every path in its own child process (order rotated per repetition, so drift in the machine's
load hits all paths alike), and writes ``bench/out/<label>.json``. Then renders every stack found in ``bench/out/``
into ``bench/results.md`` and ``bench/ratios.png``, so running it once per venv (pandas 2, pandas 3) yields one
table. The ``before`` path is xcom_s3 at an earlier commit (``--before``, by default the last snapshot's), run
beside the current code: whether a change made frames slower, judged within one run (bench/before.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import before  # noqa: E402
from paths import PATHS, unavailable  # noqa: E402
from report import render  # noqa: E402
from s3server import BUCKET, MotoServer  # noqa: E402

UNITS = {"KB": 2**10, "MB": 2**20, "GB": 2**30}


def parse_size(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(KB|MB|GB)", text.strip().upper())
    if not match:
        raise argparse.ArgumentTypeError(f"size {text!r}: expected e.g. 1MB, 100MB, 1GB")
    return int(float(match.group(1)) * UNITS[match.group(2)])


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "-"


def machine() -> dict[str, Any]:
    """What the figures were measured on: they only mean something next to this."""
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    dists = ["apache-airflow", "pandas", "pyarrow", "polars", "numpy", "boto3", "moto"]
    dists += ["apache-airflow-providers-common-io", "apache-airflow-providers-amazon", "s3fs"]
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": {d: _version(d) for d in dists},
    }


class Server(Protocol):
    """Where the children send their requests: its URL, and its process if local (to charge its CPU to a path)."""

    url: str

    @property
    def pid(self) -> int | None: ...


class External:
    """An S3-compatible endpoint run by someone else (MinIO, S3): nothing to start or stop, and its CPU is not ours
    to measure, so the figures are the worker's side only. Why: moto re-reads the whole object for every ranged
    GET, so range sizes can only be judged against a real store."""

    pid = None

    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self) -> External:
        return self

    def __exit__(self, *exc: object) -> None:
        """Nothing to stop; each child deletes what it wrote under its own prefix."""


def child_env(airflow_home: str, *, moto: bool = True) -> dict[str, str]:
    """A clean Airflow environment for the children, with the repo's compat and backend importable; moto's dummy
    credentials, unless the store is external (then the AWS_* variables or profile given are passed on)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "compat"), str(REPO / "backend"), str(BENCH)])
    env["AIRFLOW_HOME"] = airflow_home
    env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    env["AIRFLOW__CORE__DAGS_FOLDER"] = os.path.join(airflow_home, "dags")
    env["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
    if moto:
        env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
        env["AWS_DEFAULT_REGION"] = "us-east-1"
    env["PYTHONWARNINGS"] = "ignore"
    return env


def run_child(job: dict[str, Any], env: dict[str, str], timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, str(BENCH / "child.py"), json.dumps(job)]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {**{k: job[k] for k in ("path", "size_label", "rep")}, "error": f"timed out after {timeout:.0f}s"}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            if "error" in result:
                sys.stderr.write(proc.stderr[-3000:])
            return result
    tail = (proc.stderr or "").strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
    return {**{k: job[k] for k in ("path", "size_label", "rep")}, "error": f"child died: {tail[0][:300]}"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # 1GB is opt-in (--sizes 1MB,100MB,1GB): the CSV path alone takes minutes per 1 GB round trip here, so all
    # four paths x 5 runs x 2 stacks would take over an hour on the 2-core machine.
    parser.add_argument("--sizes", default="1MB,100MB", help="comma-separated in-memory frame sizes, e.g. 1MB,1GB")
    parser.add_argument("--runs", type=int, default=5, help="repetitions per path and size (median reported)")
    parser.add_argument("--paths", default=",".join(PATHS), help=f"subset of {','.join(PATHS)}")
    parser.add_argument("--label", default=None, help="stack name (default: airflow<ver>-pandas<ver>)")
    parser.add_argument("--codec", default="zstd", help="Parquet codec for ours and the floor")
    parser.add_argument("--cio-compression", default="", help="common-io xcom_objectstorage_compression")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per child before it is killed")
    parser.add_argument("--out", type=Path, default=BENCH / "out", help="folder for per-stack JSON")
    parser.add_argument("--no-render", action="store_true", help="only write the JSON")
    parser.add_argument(
        "--endpoint-url", default=None, help="an S3-compatible endpoint to measure against instead of moto"
    )
    parser.add_argument("--bucket", default=None, help=f"bucket to write under (default {BUCKET}; must exist)")
    snapshot_ref = before.default_ref()
    parser.add_argument(
        "--before",
        default=snapshot_ref,
        help="the commit whose xcom_s3 the `before` path runs, in this same run (default: the last snapshot's, "
        f"{snapshot_ref}); `none` leaves the path out",
    )
    return parser


def _job(path: str, size_label: str, rep: int, target: int, server: Server, args: argparse.Namespace) -> dict[str, Any]:
    """What one child measures: one path, one size, one repetition, under its own prefix."""
    return {
        "path": path,
        "size_label": size_label,
        "rep": rep,
        "target_bytes": target,
        "seed": 7,
        "server_pid": server.pid,
        "endpoint": {
            "url": server.url,
            "bucket": args.bucket or BUCKET,
            "prefix": f"bench/{path}/{size_label}/{rep}",
            "codec": args.codec,
            "cio_compression": args.cio_compression,
        },
    }


def _shown(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"ERROR {result['error']}"
    return (
        f"{result['seconds']:.3f}s cpu {result['cpu_seconds']:.2f}+{result['server_cpu_seconds']:.2f}s "
        f"rss+{result['extra_rss'] / 2**20:.0f}MiB "
        f"stored {result['stored_bytes'] / 2**20:.1f}MiB exact={result['exact']}"
    )


def measure(
    sizes: list[tuple[str, int]], paths: list[str], args: argparse.Namespace, earlier: Path | None = None
) -> list[dict[str, Any]]:
    """Every path at every size, ``args.runs`` times, each run in its own child against one S3 server; the
    ``before`` path imports compat and backend from ``earlier`` (bench/before.py) instead of this tree."""
    results: list[dict[str, Any]] = []
    server = External(args.endpoint_url) if args.endpoint_url else MotoServer()
    with tempfile.TemporaryDirectory(prefix="bench-airflow-home-") as home, server:
        env = child_env(home, moto=not args.endpoint_url)
        envs = {path: env for path in paths}
        if earlier is not None:
            envs["before"] = {**env, "PYTHONPATH": os.pathsep.join(before.pythonpath(earlier))}
        for size_label, target in sizes:
            for rep in range(args.runs):
                order = paths[rep % len(paths) :] + paths[: rep % len(paths)]
                for path in order:
                    if why := unavailable(path):
                        results.append({"path": path, "size_label": size_label, "rep": rep, "skipped": why})
                        print(f"  {size_label:>6} run {rep + 1}/{args.runs} {path:<12} skipped: {why}", flush=True)
                        continue
                    result = run_child(_job(path, size_label, rep, target, server, args), envs[path], args.timeout)
                    results.append(result)
                    print(f"  {size_label:>6} run {rep + 1}/{args.runs} {path:<12} {_shown(result)}", flush=True)
    return results


def _earlier(
    parser: argparse.ArgumentParser, args: argparse.Namespace, paths: list[str], tmp: Path
) -> tuple[Path | None, str]:
    """The earlier code the ``before`` path runs (checked out under ``tmp``) and its commit, or (None, "")."""
    if "before" not in paths or not args.before or args.before.lower() == "none":
        return None, ""
    try:
        commit = before.resolve(args.before)
    except ValueError as err:
        parser.error(str(err))
    print(f"before: xcom_s3 at {args.before} ({commit[:12]}), in the same run", flush=True)
    return before.checkout(commit, tmp), commit


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    sizes = [(label.strip().upper(), parse_size(label)) for label in args.sizes.split(",") if label.strip()]
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    unknown = set(paths) - set(PATHS)
    if unknown:
        parser.error(f"unknown paths {sorted(unknown)}; choose from {PATHS}")
    if args.bucket and not args.endpoint_url:
        parser.error("--bucket names a bucket of the store given by --endpoint-url (moto's is created for the run)")
    info = machine()
    label = args.label or (
        f"airflow{info['versions']['apache-airflow']}-pandas{info['versions']['pandas'].split('.')[0]}"
    )
    print(f"stack {label}: python {info['python']}, {info['cores']} cores, {info['cpu']}", flush=True)

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-before-") as tmp:
        earlier, commit = _earlier(parser, args, paths, Path(tmp))
        if earlier is None and "before" in paths:
            paths.remove("before")
        results = measure(sizes, paths, args, earlier)
    doc = {"label": label, "machine": info, "codec": args.codec, "cio_compression": args.cio_compression}
    if earlier is not None:
        doc["before"] = {"ref": args.before, "commit": commit}
    doc.update({"elapsed_s": round(time.monotonic() - started, 1), "results": results})
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{label}.json").write_text(json.dumps(doc, indent=1))
    if not args.no_render:
        print(render(args.out, BENCH / "results.md", BENCH / "ratios.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
