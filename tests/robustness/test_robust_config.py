"""Bad configuration: importing (and Airflow resolving) the backend always works; the first use that needs a
setting fails with an error naming its ``AIRFLOW__XCOM_S3__*`` variable."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import airflow_io
import pytest
from rb_support import context, frame_value, json_value, value_for
from s3_server import free_port

HERE = Path(__file__).resolve().parent
BAD_CONFIG = {
    "AIRFLOW__XCOM_S3__THRESHOLD": "lots",
    "AIRFLOW__XCOM_S3__COMPRESSION": "lz4",
    "AIRFLOW__XCOM_S3__ENDPOINT_URL": "not a url",
    "AIRFLOW__XCOM_S3__SSE": "rot13",
    "AIRFLOW__XCOM_S3__MAX_ATTEMPTS": "0",
}


def test_importing_and_resolving_the_backend_with_a_bad_config_works(xcom_s3_env: Any) -> None:
    """A fresh process: Airflow resolves ``xcom_s3.S3XComBackend`` while every setting is wrong or missing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__XCOM_S3__")}
    env.update(BAD_CONFIG, AIRFLOW__CORE__XCOM_BACKEND="xcom_s3.S3XComBackend")
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(HERE.parent), *sys.path])
    code = (
        "import rb_support; rb_support.import_airflow_xcom()\n"
        "import airflow, xcom_s3\n"
        "if int(airflow.__version__.split('.')[0]) >= 3:\n"
        "    from airflow.sdk.execution_time.xcom import XCom\n"
        "else:\n"
        "    from airflow.models.xcom import XCom\n"
        "print('resolved', XCom.__name__, flush=True)\n"
        "XCom.serialize_value(value=1, key='k', task_id='t', dag_id='d', run_id='r', map_index=-1)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert "resolved S3XComBackend" in done.stdout, done.stderr[-3000:]
    # The first push is where THRESHOLD is first needed: it fails there, naming the setting.
    assert done.returncode != 0
    assert "ConfigError" in done.stderr and "AIRFLOW__XCOM_S3__THRESHOLD='lots'" in done.stderr, done.stderr[-3000:]


def test_missing_bucket_is_named_at_first_offload(backend: Any, xcom_s3_env: Any) -> None:
    from xcom_s3.errors import ConfigError

    stored = airflow_io.through_db(airflow_io.store(backend, json_value(1), context(1)))
    xcom_s3_env.set("bucket", None)
    assert airflow_io.round_trip(backend, 42, context(2)) == 42, "inline values never need the bucket"
    for value in (json_value(3), value_for(0)):
        with pytest.raises(ConfigError, match="AIRFLOW__XCOM_S3__BUCKET"):
            airflow_io.store(backend, value, context(3))
    with pytest.raises(ConfigError, match="AIRFLOW__XCOM_S3__BUCKET"):
        airflow_io.load(backend, stored)


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("threshold", "lots"),
        ("threshold", "-1"),
        ("threshold", "1.5"),
        ("compression", "lz4"),
        ("sse", "rot13"),
        ("max_attempts", "0"),
        ("max_attempts", "many"),
        ("connect_timeout", "soon"),
        ("read_timeout", "-3"),
        ("prefix", "a/../b"),
        ("endpoint_url", "not a url"),
        ("endpoint_url", "127.0.0.1:9000"),
    ],
)
def test_an_invalid_setting_is_named_at_first_use(backend: Any, xcom_s3_env: Any, name: str, raw: str) -> None:
    from xcom_s3.errors import ConfigError

    xcom_s3_env.set(name, raw)
    with pytest.raises(ConfigError) as raised:
        airflow_io.store(backend, json_value(4), context(4))
    assert f"AIRFLOW__XCOM_S3__{name.upper()}" in str(raised.value)
    assert raw in str(raised.value)


def test_a_kms_key_without_kms_encryption_is_named(backend: Any, xcom_s3_env: Any) -> None:
    from xcom_s3.errors import ConfigError

    xcom_s3_env.set("kms_key_id", "alias/xcom")
    with pytest.raises(ConfigError, match=r"AIRFLOW__XCOM_S3__KMS_KEY_ID.*AIRFLOW__XCOM_S3__SSE"):
        airflow_io.store(backend, json_value(5), context(5))


def test_an_unreachable_endpoint_is_named_quickly(backend: Any, xcom_s3_env: Any, figures: Any) -> None:
    from xcom_s3.errors import StorageError

    endpoint = f"http://127.0.0.1:{free_port()}"
    for name, value in {"endpoint_url": endpoint, "max_attempts": 3, "connect_timeout": 1}.items():
        xcom_s3_env.set(name, value)
    started = time.monotonic()
    with pytest.raises(StorageError) as raised:
        airflow_io.store(backend, json_value(6), context(6))
    elapsed = time.monotonic() - started
    figures["config: unreachable endpoint to error"] = f"{elapsed:.2f}s (3 attempts)"
    assert endpoint in str(raised.value) and "AIRFLOW__XCOM_S3__ENDPOINT_URL" in str(raised.value)
    assert elapsed < 30


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything reachable through __cause__/__context__; fails on a cycle."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        current = todo.pop()
        assert not any(current is s for s in seen), f"exception chain cycles through {current!r}"
        seen.append(current)
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
    return seen


@pytest.mark.parametrize("kind", ["json", "frame"])
def test_an_unreachable_endpoint_error_has_no_cycle_in_its_chain(backend: Any, xcom_s3_env: Any, kind: str) -> None:
    """Regression: the frame upload raised its StorageError ``from`` itself. Airflow 2.10's secrets masker walks
    the chain on logging and hit RecursionError, hiding the message and leaving ``dag.test()`` runs hanging."""
    from xcom_s3.errors import StorageError

    for name, value in {"endpoint_url": f"http://127.0.0.1:{free_port()}", "max_attempts": 2}.items():
        xcom_s3_env.set(name, value)
    with pytest.raises(StorageError) as raised:
        airflow_io.store(backend, frame_value(7) if kind == "frame" else json_value(7), context(7))
    chain = _chain(raised.value)  # fails on a cycle (it did for frames)
    assert "AIRFLOW__XCOM_S3__ENDPOINT_URL" in str(chain[0])
