"""Every kind of failure, provoked for real, is one of our errors naming where and what to fix (FAILURES: the kinds
no other test pins, and where the others are); a purge that fails logs that message and returns, so Airflow's clear
goes on.

The S3 refusals come from the fault proxy (a 403 ``AccessDenied``) or from moto itself (a bucket that does not
exist); everything else is a real misconfiguration or a real edit of S3 or the DB.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import airflow_io
import pytest
from fault_proxy import FaultProxy
from rb_support import as_stored, context, json_value, key_of, push, pushed_key
from s3_server import free_port

pytestmark = pytest.mark.usefixtures("fast_backoff")

#: A failure kind's provocation: (backend, env, proxy) -> (the push or pull that must fail, what its message names).
Provoke = Callable[[Any, Any, FaultProxy], tuple[Callable[[], Any], list[str]]]


def _push(backend: Any, i: int, value: Any = None) -> Callable[[], Any]:
    return lambda: airflow_io.store(backend, json_value(i) if value is None else value, context(i))


def _dead_endpoint(env: Any) -> str:
    from xcom_s3 import S3XComBackend

    dead = f"http://127.0.0.1:{free_port()}"
    for name, value in {"endpoint_url": dead, "max_attempts": 1, "connect_timeout": 1}.items():
        env.set(name, value)
    S3XComBackend.reset_client()
    return dead


def bucket_missing(backend: Any, env: Any, proxy: FaultProxy) -> tuple[Callable[[], Any], list[str]]:
    missing = f"{env.endpoint.bucket}-missing-{env.prefix}"
    env.set("bucket", missing)
    return _push(backend, 3), [f"s3://{missing}/{env.prefix}/", "does not exist", "AIRFLOW__XCOM_S3__BUCKET"]


def write_denied(backend: Any, env: Any, proxy: FaultProxy) -> tuple[Callable[[], Any], list[str]]:
    proxy.inject("denied", method="PUT")
    names = [f"s3://{env.endpoint.bucket}/{pushed_key(env, 4)}", "access denied", "PutObject"]
    return _push(backend, 4), [*names, f"arn:aws:s3:::{env.endpoint.bucket}/{env.prefix}/*"]


def read_denied(backend: Any, env: Any, proxy: FaultProxy) -> tuple[Callable[[], Any], list[str]]:
    stored, ref = push(backend, json_value(5), 5)
    proxy.inject("denied", method="GET")
    names = [f"s3://{env.endpoint.bucket}/{key_of(ref)}", "access denied", "GetObject"]
    return lambda: airflow_io.load(backend, stored), [*names, f"arn:aws:s3:::{env.endpoint.bucket}/{env.prefix}/*"]


def reference_foreign(backend: Any, env: Any, proxy: FaultProxy) -> tuple[Callable[[], Any], list[str]]:
    _, ref = push(backend, json_value(10), 10)
    ref["uri"] = f"s3://other-{env.endpoint.bucket}/{key_of(ref)}"
    return lambda: airflow_io.load(backend, as_stored(ref)), [ref["uri"], "AIRFLOW__XCOM_S3__BUCKET"]


def reference_newer(backend: Any, env: Any, proxy: FaultProxy) -> tuple[Callable[[], Any], list[str]]:
    _, ref = push(backend, json_value(11), 11)
    ref["__xcom_s3__"] = 2
    return lambda: airflow_io.load(backend, as_stored(ref)), ["version 2", "Upgrade xcom-s3-compat"]


#: The kinds of failure no other test pins as ours, by name. The rest are: a missing or invalid setting
#: (test_robust_config.py: ConfigError naming the variable), an unreachable endpoint and a budget spent on faults
#: (test_robust_config.py, test_robust_faults.py: StorageError naming the endpoint, key and attempts), a missing or
#: damaged object (test_robust_integrity.py: ObjectMissingError / IntegrityError naming the key), an unstorable
#: frame (properties/test_errors.py: UnsupportedFrameError naming the column).
FAILURES: dict[str, Provoke] = {
    f.__name__.replace("_", "-"): f
    for f in (bucket_missing, write_denied, read_denied, reference_foreign, reference_newer)
}


@pytest.mark.parametrize("kind", list(FAILURES))
def test_every_failure_is_an_xcom_s3_error_naming_what_to_fix(
    backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any, kind: str
) -> None:
    """A user's ``except XComS3Error`` catches each, raised through the release's real hooks, and its message names
    the object (bucket and key) or the setting, and what to do: never a botocore, pyarrow or JSON error."""
    from xcom_s3.errors import XComS3Error

    action, names = FAILURES[kind](backend, xcom_s3_env, via_proxy)
    with pytest.raises(XComS3Error) as raised:
        action()
    error = raised.value
    assert type(error).__module__ == "xcom_s3.errors", f"{type(error)} is not one of xcom_s3.errors' types"
    missing = [name for name in names if name not in str(error)]
    assert not missing, f"the {type(error).__name__} does not name {missing}: {error}"


def _purge_fails(kind: str, env: Any, proxy: FaultProxy) -> list[str]:
    """Make the coming purge's delete fail as ``kind``; what the log must then name besides the object."""
    if kind == "denied":
        proxy.inject("denied", method="DELETE")
        return ["access denied", "DeleteObject", f"arn:aws:s3:::{env.endpoint.bucket}/{env.prefix}/*"]
    if kind == "unreachable":
        return [_dead_endpoint(env), "AIRFLOW__XCOM_S3__ENDPOINT_URL"]
    env.set("bucket", None)  # bucket-unset: a worker that lost its [xcom_s3] settings
    return ["AIRFLOW__XCOM_S3__BUCKET"]


@pytest.mark.parametrize("kind", ["denied", "unreachable", "bucket-unset"])
def test_a_failed_purge_logs_what_to_do_and_returns(
    backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    """Airflow purges while it clears a task: a delete that fails must not fail the clear. The purge returns and
    logs one warning, without a traceback, naming the object (bucket and key) and the grant or setting to fix;
    the object stays, for the rerun to overwrite (same key) or ``xcom-s3 gc`` to collect."""
    stored, ref = push(backend, json_value(20), 20)
    names = [f"s3://{xcom_s3_env.endpoint.bucket}/{key_of(ref)}", *_purge_fails(kind, xcom_s3_env, via_proxy)]
    caplog.set_level(logging.WARNING, logger="xcom_s3")

    airflow_io.purge(backend, stored, context(20))  # as the release calls it: raises nothing into the clear

    logged = [r for r in caplog.records if r.name.startswith("xcom_s3") and r.levelno >= logging.WARNING]
    assert len(logged) == 1, [r.getMessage() for r in logged]
    message = logged[0].getMessage()
    assert not [name for name in names if name not in message], f"the warning does not name {names}: {message}"
    assert logged[0].exc_info is None, "the warning carries a traceback"
    left = xcom_s3_env.keys()
    assert key_of(ref) in left, "the object is gone although its delete failed"
