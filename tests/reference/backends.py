"""The backends the reference runs put through the checks, each configured to offload at the same size and
paired with a view of where it keeps offloaded values.

* ``xcom_s3``: ours (the control: passes every check), S3 through the session's test endpoint.
* ``default``: the running release's ``BaseXCom``: everything in the metadata DB.
* ``common-io``: ``airflow.providers.common.io.xcom.backend.XComObjectStorageBackend`` writing to a local
  ``file://`` directory (``[common.io] xcom_objectstorage_path``), offloading at ``xcom_objectstorage_threshold``.

Each is resolved through the release's own resolver (``airflow_io.resolve_backend``), as a worker gets it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from airflow_io import resolve_backend
from properties.checks import NO_STORAGE, Storage
from xcom_compat import capabilities

from reference.expectations import ENV, common_io_backend_exists

#: Values whose JSON reaches this many bytes are offloaded by ours and by common-io (both: size >= threshold).
THRESHOLD = 1024
COMMON_IO_MODULE = "airflow.providers.common.io.xcom.backend"
COMMON_IO = f"{COMMON_IO_MODULE}.XComObjectStorageBackend"


@dataclass(frozen=True)
class Subject:
    """A configured backend under check and where its offloaded values go."""

    name: str
    backend: Any
    storage: Storage


@dataclass(frozen=True)
class FileStorage:
    """common-io's objects: the files below its ``file://`` base path."""

    root: Path

    def objects(self) -> list[str]:
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file())


def ours(request: pytest.FixtureRequest) -> Subject:
    env = request.getfixturevalue("xcom_s3_env")
    env.set("threshold", THRESHOLD)
    return Subject("xcom_s3", resolve_backend("xcom_s3.S3XComBackend"), env)


def default(request: pytest.FixtureRequest) -> Subject:
    return Subject("default", resolve_backend(capabilities().base_class), NO_STORAGE)


def _common_io_caches() -> Iterator[Any]:
    """The provider reads its settings once per process (``functools.cache``): its cached getters."""
    import airflow.providers.common.io.xcom.backend as module

    for name in ("_get_base_path", "_get_threshold", "_get_compression"):
        getter = getattr(module, name, None)
        if hasattr(getter, "cache_clear"):
            yield getter


def common_io(request: pytest.FixtureRequest) -> Subject:
    if not common_io_backend_exists(ENV):
        pytest.skip(f"n/a: common-io's XComObjectStorageBackend works from Airflow 2.9; this is {ENV}")
    if importlib.util.find_spec(COMMON_IO_MODULE) is None:  # from 2.9 the locks install it: a broken venv is red
        pytest.fail(f"{COMMON_IO_MODULE} is missing on {ENV}: the locks install apache-airflow-providers-common-io")
    root = request.getfixturevalue("tmp_path") / "common-io-xcom"
    monkeypatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH", f"file://{root}")
    monkeypatch.setenv("AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD", str(THRESHOLD))
    monkeypatch.delenv("AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_COMPRESSION", raising=False)
    backend = resolve_backend(COMMON_IO)

    def forget_settings() -> None:  # each test has its own directory: drop the previous test's settings
        for getter in _common_io_caches():
            getter.cache_clear()

    forget_settings()
    request.addfinalizer(forget_settings)
    root.mkdir()
    return Subject("common-io", backend, FileStorage(root))


#: Reference backend name -> how to set it up in a test.
BACKENDS: dict[str, Callable[[pytest.FixtureRequest], Subject]] = {
    "xcom_s3": ours,
    "default": default,
    "common-io": common_io,
}
