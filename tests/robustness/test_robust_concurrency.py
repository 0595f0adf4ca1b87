"""64 pushers then 64 pullers at once, in threads and in forked processes (as mapped tasks run): no collisions,
every value back exact, one object per map index."""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import airflow_io
import pytest
from rb_support import context, process_worker, same, scaled, value_for
from xcom_s3.keys import object_key

#: Concurrent pushers (and then pullers): one per map index.
TOTAL = 64


def _expected_keys(prefix: str) -> list[str]:
    return sorted(object_key(prefix, context(i), "parquet" if i % 3 == 0 else "json.zst") for i in range(TOTAL))


def test_threads_push_and_pull_concurrently(backend: Any, xcom_s3_env: Any) -> None:
    value_for(0)  # import pandas/pyarrow once, before 64 threads race to
    barrier = threading.Barrier(TOTAL, timeout=120)

    def push(i: int) -> Any:
        value = value_for(i)
        barrier.wait()
        return airflow_io.through_db(airflow_io.store(backend, value, context(i)))

    def pull(i: int) -> bool:
        owner = (i + 1) % TOTAL  # read a value another thread pushed, as a downstream task would
        barrier.wait()
        return same(value_for(owner), airflow_io.load(backend, stored[owner], context(owner)))

    with ThreadPoolExecutor(TOTAL) as pool:
        stored = list(pool.map(push, range(TOTAL)))
        barrier.reset()
        pulled = list(pool.map(pull, range(TOTAL)))

    assert all(pulled), [i for i, ok in enumerate(pulled) if not ok]
    assert xcom_s3_env.keys() == _expected_keys(xcom_s3_env.prefix)


def _parent_client() -> Any:
    """The backend's client in this process, with a pooled connection open: what a long-lived parent holds when it
    forks a task process (the child must make its own)."""
    from xcom_s3 import store
    from xcom_s3.settings import Settings

    settings = Settings.from_airflow()
    client = store.client(settings)
    client.head_bucket(Bucket=settings.bucket)
    return client


def _start(procs: list[Any]) -> None:
    """Fork the workers. Python 3.12+ warns (DeprecationWarning) on a fork while other threads run (here pytest's,
    pyarrow's pool, an S3 server's): the children only use what they create after the fork (their own S3 client:
    the backend keys its clients by pid, which the workers check), as Airflow's forked task processes do."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r".*use of fork\(\) may lead to deadlocks", DeprecationWarning)
        for proc in procs:
            proc.start()


def test_forked_processes_push_and_pull_concurrently(backend: Any, xcom_s3_env: Any) -> None:
    """Workers, forked like Airflow's task processes (2.x StandardTaskRunner._start_by_fork, 3.x supervisor's
    os.fork), each run TOTAL/workers pushers at once, then pull others' values; never with the parent's client."""
    workers = scaled("processes", dev=2, ci=2)
    mp = multiprocessing.get_context("fork")
    results: Any = mp.Queue()
    commands = [mp.Queue() for _ in range(workers)]
    go = mp.Event()
    inherited = _parent_client()
    procs = [
        mp.Process(target=process_worker, args=(w, workers, TOTAL, commands[w], results, go, inherited), daemon=True)
        for w in range(workers)
    ]
    _start(procs)
    try:
        _expect(results, "ready", workers, timeout=240)
        go.set()
        pushed: dict[int, Any] = {}
        by_worker = _expect(results, "pushed", workers, timeout=180)
        for values in by_worker.values():
            pushed.update(values)
        assert sorted(pushed) == list(range(TOTAL))
        for w in range(workers):  # worker w pulls what worker w+1 pushed
            other = (w + 1) % workers
            commands[w].put([(i, pushed[i]) for i in sorted(pushed) if i % workers == other])
        pulled: dict[int, str] = {}
        for values in _expect(results, "pulled", workers, timeout=180).values():
            pulled.update(values)
    finally:
        deadline = time.monotonic() + 30
        for proc in procs:
            proc.join(timeout=max(deadline - time.monotonic(), 0.1))
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)

    assert {i: r for i, r in pulled.items() if r != "ok"} == {}
    assert sorted(pulled) == list(range(TOTAL))
    assert xcom_s3_env.keys() == _expected_keys(xcom_s3_env.prefix)
    assert all(proc.exitcode == 0 for proc in procs)


def _expect(results: Any, kind: str, workers: int, timeout: float) -> dict[int, Any]:
    """One ``kind`` message from each worker, within ``timeout`` seconds in all."""
    got: dict[int, Any] = {}
    deadline = time.monotonic() + timeout
    while len(got) < workers:
        try:
            message = results.get(timeout=max(deadline - time.monotonic(), 0.1))
        except queue.Empty:
            pytest.fail(f"only {sorted(got)} of {workers} workers reported {kind!r} within {timeout}s")
        if message[0] == "error":
            pytest.fail(f"worker {message[1]} failed:\n{message[2]}")
        assert message[0] == kind, message
        got[message[1]] = message[2] if len(message) > 2 else None
    return got
