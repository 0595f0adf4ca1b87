"""Shared pieces of the robustness tests: deterministic values, contexts, size knobs, and the process worker.

A module of its own (not conftest) because a fresh interpreter (test_robust_config's) imports it by name.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import string
from collections.abc import Iterator
from typing import Any

# Also called as rb_support.import_airflow_xcom() by test_robust_config's fresh interpreter: Airflow's XCom module
# before xcom_s3, else Airflow's resolver imports xcom_s3 again half-initialised (a circular import).
from airflow_release import import_airflow_xcom

#: Whether the heavy (CI) counts apply: the matrix sets HYPOTHESIS_PROFILE=ci when CI is set (the GitHub
#: workflow); the dev and gate profiles (the README's test command) take the dev counts.
CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"


def scaled(name: str, dev: int, ci: int) -> int:
    """A count: ``XCOM_S3_ROBUSTNESS_<NAME>`` if set, else ``ci`` under the CI profile, else ``dev``."""
    raw = os.environ.get(f"XCOM_S3_ROBUSTNESS_{name.upper()}")
    return int(raw) if raw else (ci if CI else dev)


def context(i: int, *, dag: str = "robust_dag", task: str = "push", key: str = "return_value") -> Any:
    """The context of mapped task instance ``i`` (distinct for distinct ``i``)."""
    from xcom_compat import XComContext

    return XComContext(key=key, task_id=task, dag_id=dag, run_id="manual__2024-01-01T00:00:00+00:00", map_index=i)


def json_value(seed: int, size: int = 2000) -> dict[str, Any]:
    """A JSON value of roughly ``size`` bytes, the same for the same seed (nested, unicode, numbers)."""
    rng = random.Random(seed)
    words = ["".join(rng.choices(string.ascii_letters + "éü😀 ", k=rng.randint(1, 12))) for _ in range(size // 24 + 1)]
    return {
        "seed": seed,
        "words": words,
        "numbers": [rng.randint(-(2**40), 2**40) for _ in range(8)],
        "floats": [rng.random() for _ in range(4)],
        "nested": {"flag": rng.random() < 0.5, "none": None, "list": [[seed, "x"], {"k": "v"}]},
    }


def frame_value(seed: int, rows: int | None = None) -> Any:
    """A DataFrame with int, float, string, bool and datetime columns, the same for the same seed."""
    import pandas as pd

    rng = random.Random(seed)
    n = rng.randint(1, 200) if rows is None else rows
    return pd.DataFrame(
        {
            "i": [rng.randint(-(2**31), 2**31) for _ in range(n)],
            "f": [rng.random() for _ in range(n)],
            "s": ["".join(rng.choices(string.ascii_letters + "é", k=rng.randint(0, 10))) for _ in range(n)],
            "b": [rng.random() < 0.5 for _ in range(n)],
            "t": pd.to_datetime([1_600_000_000 + rng.randint(0, 10**8) for _ in range(n)], unit="s").as_unit("ns"),
        }
    )


def big_frame(seed: int, rows: int = 480_000) -> Any:
    """A float64 and an int64 column of noise: ~15 bytes of Parquet a row whatever the codec (~7 MiB by default)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.random(rows), "b": rng.integers(-(2**62), 2**62, rows)})


def value_for(i: int) -> Any:
    """Round trip ``i``'s value: a DataFrame for every third, else JSON of a size that varies with ``i``."""
    return frame_value(i) if i % 3 == 0 else json_value(i, size=200 + (i * 977) % 20000)


def same(expected: Any, got: Any) -> bool:
    """Exact equality, DataFrames included (dtypes, index and columns)."""
    import pandas as pd

    if isinstance(expected, pd.DataFrame):
        if not isinstance(got, pd.DataFrame):
            return False
        try:
            pd.testing.assert_frame_equal(expected, got, check_exact=True)
        except AssertionError:
            return False
        return True
    return type(expected) is type(got) and expected == got


# ---- references as the DB holds them ---------------------------------------------------------------------------


def as_ref(stored: Any) -> dict[str, Any]:
    """The reference inside a DB value (JSON bytes on 2.x, the decoded object on 3.x)."""
    return json.loads(stored) if isinstance(stored, bytes) else dict(stored)


def as_stored(ref: dict[str, Any]) -> Any:
    """A (possibly edited) reference in the form the release's DB hands back."""
    import airflow_io

    return ref if airflow_io.IS_3X else json.dumps(ref, separators=(",", ":")).encode()


def pushed_key(env: Any, i: int, ext: str = "json.zst") -> str:
    """The key a push in context ``i`` is written under (``json.zst``: a JSON value under the default codec)."""
    from xcom_s3.keys import object_key

    return str(object_key(env.prefix, context(i), ext))


def object_place(env: Any, key: str, endpoint: str | None = None) -> str:
    """The object as our messages name it, spelled out here (not by xcom_s3.failures.where)."""
    return f"s3://{env.endpoint.bucket}/{key} (endpoint {endpoint or env.endpoint.endpoint_url})"


def key_of(ref: dict[str, Any]) -> str:
    return str(ref["uri"]).split("/", 3)[3]


def is_reference(stored: Any) -> bool:
    """Whether a DB value is a reference to an S3 object (the value was offloaded)."""
    if isinstance(stored, bytes):
        if stored[:1] != b"{":
            return False
        stored = json.loads(stored)
    return isinstance(stored, dict) and stored.get("__xcom_s3__") == 1 and stored.get("kind") == "ref"


def push(backend: Any, value: Any, i: int) -> tuple[Any, dict[str, Any]]:
    """Push ``value`` as map index ``i``; the DB value and the reference in it (the value must be offloaded)."""
    import airflow_io

    stored = airflow_io.through_db(airflow_io.store(backend, value, context(i)))
    ref = as_ref(stored)
    assert ref.get("kind") == "ref", "the value should have been offloaded"
    return stored, ref


# ---- the worker of the multi-process test -----------------------------------------------------------------------


def process_worker(
    worker: int, workers: int, total: int, commands: Any, results: Any, go: Any, inherited: Any = None
) -> None:
    """Worker ``worker`` of ``workers`` (a forked process): pushes map indexes ``i % workers == worker``, one thread
    each, all at once; then pulls, again all at once, the values the parent hands it (pushed by the other workers).
    ``inherited`` is the parent's S3 client (forked children inherit it): the worker's own must be another.

    Messages to the parent (``results``): ("ready", w), ("pushed", w, {i: stored}), ("pulled", w, {i: "ok" or
    what went wrong}), or ("error", w, traceback) at the first failure. The parent answers "pushed" with the stored
    values this worker should pull. Every wait is bounded so a broken parent never leaves the process hanging.
    """
    import traceback

    try:
        _work(worker, workers, total, commands, results, go, inherited)
    except BaseException:
        results.put(("error", worker, traceback.format_exc()))
        raise


def _work(worker: int, workers: int, total: int, commands: Any, results: Any, go: Any, inherited: Any) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import_airflow_xcom()
    import airflow_io
    from xcom_s3 import S3XComBackend, store
    from xcom_s3.settings import Settings

    mine = [i for i in range(total) if i % workers == worker]
    value_for(0)  # import pandas/pyarrow before the threads race to
    barrier = threading.Barrier(len(mine), timeout=120)

    def push(i: int) -> Any:
        value = value_for(i)
        barrier.wait()
        return airflow_io.through_db(airflow_io.store(S3XComBackend, value, context(i)))

    def pull(item: tuple[int, Any]) -> str:
        i, stored = item
        barrier.wait()
        try:
            got = airflow_io.load(S3XComBackend, stored, context(i))
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return "ok" if same(value_for(i), got) else "value differs"

    results.put(("ready", worker))
    if not go.wait(timeout=300):
        return
    with ThreadPoolExecutor(len(mine)) as pool:
        pushed = dict(zip(mine, pool.map(push, mine), strict=True))
    own = store.client(Settings.from_airflow())  # the client the pushes used
    assert inherited is None or own is not inherited, "the worker pushed through its parent's S3 client"
    results.put(("pushed", worker, pushed))
    to_pull = commands.get(timeout=300)
    barrier = threading.Barrier(len(to_pull), timeout=120)
    with ThreadPoolExecutor(len(to_pull)) as pool:
        pulled = dict(zip([i for i, _ in to_pull], pool.map(pull, to_pull), strict=True))
    results.put(("pulled", worker, pulled))


@contextlib.contextmanager
def backend_through(proxy: Any, env: Any) -> Iterator[Any]:
    """The backend's requests sent through ``proxy`` (a FaultProxy, or a stand-in answering of its own), started
    here and stopped after: whatever it does to a request, the backend meets it as it would meet S3."""
    from xcom_s3 import S3XComBackend

    proxy.start()
    env.set("endpoint_url", proxy.endpoint_url)
    S3XComBackend.reset_client()
    try:
        yield proxy
    finally:
        proxy.stop()
