"""Can this release load the backend? Run with an entry's venv python before the suite: ``python backend_probe.py
MODULE.CLASS``. Prints one JSON line ``{"ok", "error", "traceback_tail", "warnings", "seconds"}`` (last on stdout).

A backend that does not import costs the suite minutes and ~60 failures that all read "could not be loaded"; this
shows the real exception in seconds (a top-level package that is not installed at all is reported before Airflow
is even imported, in well under a second). The order matters: Airflow's XCom module first (it resolves the configured
backend at import, so ``AIRFLOW__CORE__XCOM_BACKEND`` is unset for it), then the backend's own module and class
(``ModuleNotFoundError`` and the like, unwrapped), then Airflow's own ``resolve_xcom_backend()`` with the backend
configured (its rejection: not a ``BaseXCom`` subclass). Warnings raised on the way (2.x's outdated-serializer
patch, deprecations) are reported. Stdlib and Airflow only; ``tests/s3_server.py`` supplies the environment the
suite gives backends (test S3 endpoint, ``aws_default``, ``--backend-env``), since some read it at import.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import os
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

_XCOM_VAR = "AIRFLOW__CORE__XCOM_BACKEND"
#: Frames that say nothing about the backend: the import machinery and this file.
_NOISE = ("<frozen importlib", f"{os.sep}importlib{os.sep}__init__.py", __file__)


def _point_at_test_s3() -> None:
    """The S3 environment a backend sees inside the suite (endpoint names, aws_default, --backend-env)."""
    tests = Path(__file__).resolve().parents[2] / "tests"
    sys.path.insert(0, str(tests))
    try:
        import s3_server  # tests/s3_server.py: stdlib at import
    finally:
        sys.path.remove(str(tests))
    endpoint = s3_server.endpoint_from_env()
    if endpoint is not None:
        os.environ.update(endpoint.env())
        os.environ.update(s3_server.backend_env(endpoint, "backend-probe/"))


def _airflow_xcom_module() -> Any:
    major = int(importlib.metadata.version("apache-airflow").split(".")[0])
    return importlib.import_module("airflow.sdk.execution_time.xcom" if major >= 3 else "airflow.models.xcom")


def _tail(err: BaseException, frames: int = 3) -> str:
    """The last frames that are not import machinery, innermost last: ``file:line in func: code`` joined by ' | '."""
    summary = traceback.extract_tb(err.__traceback__)
    kept = [f for f in summary if not any(noise in f.filename for noise in _NOISE)]
    return " | ".join(f"{_short(f.filename)}:{f.lineno} in {f.name}: {(f.line or '').strip()}" for f in kept[-frames:])


def _short(filename: str) -> str:
    """Installed files relative to site-packages (``airflow/models/xcom.py``); the user's own files in full."""
    marker = f"{os.sep}site-packages{os.sep}"
    return filename.split(marker, 1)[1] if marker in filename else filename


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}".strip()


def probe(path: str) -> dict[str, Any]:
    """Try each step in order; the first that raises is the answer. Warnings count from the backend's import on
    (Airflow's own import warnings are not about the backend)."""
    saved = os.environ.pop(_XCOM_VAR, None)
    step = "importing Airflow's XCom module"
    caught: list[warnings.WarningMessage] = []
    result: dict[str, Any] = {"ok": False, "error": None, "traceback_tail": "", "warnings": []}
    try:
        _point_at_test_s3()
        top = path.partition(".")[0]
        if importlib.util.find_spec(top) is None:  # a typo or a missing --install: no need to import Airflow
            step = f"importing {path}"
            raise ModuleNotFoundError(f"No module named {top!r}", name=top)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            xcom_module = _airflow_xcom_module()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            step = f"importing {path}"
            module_name, _, class_name = path.rpartition(".")
            getattr(importlib.import_module(module_name), class_name)
            step = "Airflow's resolve_xcom_backend()"
            os.environ[_XCOM_VAR] = path
            xcom_module.resolve_xcom_backend()
        result["ok"] = True
    except BaseException as err:  # SystemExit or KeyboardInterrupt raised at import are answers too
        result["error"] = f"{_describe(err)} ({step})"
        result["traceback_tail"] = _tail(err)
    finally:
        os.environ.pop(_XCOM_VAR, None)
        if saved is not None:
            os.environ[_XCOM_VAR] = saved
    result["warnings"] = [f"{w.category.__name__}: {w.message} ({Path(w.filename).name}:{w.lineno})" for w in caught]
    return result


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: backend_probe.py MODULE.CLASS", file=sys.stderr)
        return 2
    started = time.monotonic()
    result = probe(argv[0])
    result["seconds"] = round(time.monotonic() - started, 2)
    sys.stdout.flush()
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
