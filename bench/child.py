"""One measured round trip in a fresh process: ``python bench/child.py '<json job>'`` prints one JSON result line.

A process per path, size and repetition, so each path's peak RSS is its own (no allocator warmed by another
path) and a crash or leak in one path cannot skew the next.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
import threading
import time
import traceback
from typing import Any

from paths import KINDS, Endpoint, cleanup, configure, prepare, stored_bytes

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    """Resident set size now, from /proc (cheap enough to poll every few milliseconds)."""
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[1]) * _PAGE


def _hwm() -> int | None:
    """The kernel's peak RSS since the last reset (catches spikes between two samples), if readable."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class PeakSampler:
    """Samples RSS in a thread while the round trip runs; ``peak`` is the highest seen (or the kernel's HWM)."""

    def __init__(self, interval: float = 0.002) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._hwm_reset = False

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakSampler:
        self._hwm_reset = _reset_hwm()
        self.peak = rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())
        hwm = _hwm() if self._hwm_reset else None
        if hwm is not None:
            self.peak = max(self.peak, hwm)


def _server_process(pid: int | None) -> Any:
    """The S3 server's process, to charge each path the server CPU its requests cost (None if unknown)."""
    if not pid:
        return None
    import psutil

    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def _cpu(process: Any) -> float:
    if process is None:
        return 0.0
    times = process.cpu_times()
    return float(times.user + times.system)


def exact(result: Any, value: Any) -> tuple[bool, str]:
    """Whether ``result`` equals ``value`` exactly and is of its type (dtypes, index, schema and its metadata
    included); the first difference if not."""
    if type(result) is not type(value):
        return False, f"came back as {type(result).__name__}, not a {type(value).__name__}"
    try:
        if type(value).__module__.split(".")[0] == "pyarrow":
            if not result.schema.equals(value.schema, check_metadata=True):
                return False, f"schema differs: {result.schema} vs {value.schema}"[:160]
            assert result.equals(value), "values differ"
        elif type(value).__module__.split(".")[0] == "polars":
            from polars.testing import assert_frame_equal

            assert_frame_equal(result, value, check_exact=True)
        else:
            import pandas as pd

            pd.testing.assert_frame_equal(result, value, check_exact=True)
    except AssertionError as exc:
        return False, " ".join(str(exc).split())[:160]
    return True, ""


def run(job: dict[str, Any]) -> dict[str, Any]:
    ep = Endpoint(**job["endpoint"])
    configure(job["path"], ep)
    round_trip = prepare(job["path"], ep)  # imports Airflow's XCom module: the backend is resolved here

    from data import make_value, value_bytes, value_rows

    kind = KINDS[job["path"]]
    # A worker that has pushed before: imports done, clients and connections made. The first call's cost is
    # recorded apart (``cold_seconds``), so it does not swamp the 1 MB figures.
    small = make_value(kind, 64 * 1024, seed=job["seed"] + 1)
    cold_start = time.perf_counter()
    round_trip(small)
    cold_seconds = time.perf_counter() - cold_start
    cleanup(ep)
    del small
    frame = make_value(kind, job["target_bytes"], seed=job["seed"])
    gc.collect()
    server = _server_process(job.get("server_pid"))
    server_cpu = _cpu(server)
    before = rss()
    cpu = time.process_time()
    start = time.perf_counter()
    with PeakSampler() as sampler:
        result = round_trip(frame)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    server_cpu = _cpu(server) - server_cpu
    ok, why = exact(result, frame)
    out = {
        **{k: job[k] for k in ("path", "size_label", "rep")},
        "seconds": seconds,
        "cold_seconds": cold_seconds,
        "cpu_seconds": cpu,
        "server_cpu_seconds": server_cpu,
        "extra_rss": max(0, sampler.peak - before),
        "frame_bytes": value_bytes(frame),
        "rows": value_rows(frame),
        "stored_bytes": stored_bytes(ep),
        "exact": ok,
        "why": why,
    }
    cleanup(ep)
    return out


def main(argv: list[str]) -> int:
    job = json.loads(argv[0])
    try:
        out = run(job)
    except Exception as exc:  # reported as a failed cell, the run goes on
        traceback.print_exc()
        out = {**{k: job[k] for k in ("path", "size_label", "rep")}, "error": f"{type(exc).__name__}: {exc}"[:300]}
        with contextlib.suppress(Exception):
            cleanup(Endpoint(**job["endpoint"]))
    print("RESULT " + json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
