"""Call a backend's hooks exactly as the running release does, with what that release passes them.

Facts from airflow-xcom-api.md: ``XCom.set`` calls ``serialize_value`` with keyword context (2.3+, 3.x);
the DB keeps bytes unchanged (2.x LargeBinary) or a JSON document (3.x, sent over HTTP with
``allow_nan=False``); ``deserialize_value`` gets a SQLAlchemy ``Row`` (2.x) or an ``XComResult`` (3.x);
``purge`` gets a ``BaseXCom`` ORM row whose ``.value`` went through ``BaseXCom.orm_deserialize_value`` (2.9+)
or an ``XComResult`` (3.x).
"""

from __future__ import annotations

import json
import os
import warnings
from functools import cache
from typing import Any

import xcom_compat
from airflow_release import import_airflow_xcom
from xcom_compat import AIRFLOW_V_3_0_PLUS, BaseXCom, XComContext

IS_3X = AIRFLOW_V_3_0_PLUS
#: Whether the running release calls ``purge`` at all (2.9+ and 3.x); before that the hook is never called.
PURGE_CALLED = xcom_compat.capabilities().purge_called


def store(backend: Any, value: Any, ctx: XComContext) -> Any:
    """What ``XCom.set`` gets back from ``backend.serialize_value`` (and would write to the DB)."""
    return backend.serialize_value(
        value=value,
        key=ctx.key,
        task_id=ctx.task_id,
        dag_id=ctx.dag_id,
        run_id=ctx.run_id,
        map_index=ctx.map_index,
    )


def through_db(stored: Any) -> Any:
    """What the metadata DB hands back for ``stored``: the same bytes (2.x), or the JSON round trip (3.x).

    3.x raises (TypeError/ValueError/UnicodeEncodeError) where the real push would: the supervisor posts
    the value with httpx, i.e. ``json.dumps(..., ensure_ascii=False, allow_nan=False).encode("utf-8")``.
    """
    if not IS_3X:
        assert isinstance(stored, bytes), f"2.x stores bytes in a LargeBinary column, got {type(stored)!r}"
        return stored
    text = json.dumps(stored, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    return json.loads(text)


def load(backend: Any, stored: Any, ctx: XComContext | None = None) -> Any:
    """``backend.deserialize_value`` fed what the release passes: a Row (2.x) or an ``XComResult`` (3.x)."""
    return backend.deserialize_value(result_for(stored, ctx or XComContext(key="return_value")))


def round_trip(backend: Any, value: Any, ctx: XComContext) -> Any:
    """store -> DB -> load, as a push followed by a pull."""
    return load(backend, through_db(store(backend, value, ctx)), ctx)


def result_for(stored: Any, ctx: XComContext) -> Any:
    """The object ``deserialize_value`` receives for a DB value ``stored`` (already through the DB)."""
    if IS_3X:
        from airflow.sdk.execution_time.comms import XComResult

        return XComResult(key=ctx.key or "return_value", value=stored)
    return _row(stored, ctx)


def purge(backend: Any, stored: Any, ctx: XComContext | None = None) -> None:
    """``backend.purge`` called as the release calls it (also on releases that never call it: see
    PURGE_CALLED)."""
    ctx = ctx or XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)
    if IS_3X:
        backend.purge(result_for(stored, ctx))
    else:
        backend.purge(orm_row(stored, ctx), None)  # (xcom, session): the session is unused by any backend


def orm_row(stored: bytes, ctx: XComContext) -> Any:
    """A 2.x ``BaseXCom`` row as ``session.query(BaseXCom)`` loads it: ``init_on_load`` ran BaseXCom's ORM
    decoder."""
    row = BaseXCom(
        key=ctx.key,
        task_id=ctx.task_id,
        dag_id=ctx.dag_id,
        run_id=ctx.run_id,
        map_index=ctx.map_index,
        value=stored,
    )
    row.init_on_load()  # the @reconstructor: self.value = self.orm_deserialize_value() (BaseXCom's own)
    return row


@cache
def _engine() -> Any:
    from sqlalchemy import create_engine

    return create_engine("sqlite://")


def _row(stored: bytes, ctx: XComContext) -> Any:
    """A real SQLAlchemy Row(run_id, task_id, dag_id, map_index, value), the shape ``ti.xcom_pull`` passes on
    2.x."""
    from sqlalchemy import Integer, LargeBinary, String, literal, select

    query = select(
        literal(ctx.run_id, String).label("run_id"),
        literal(ctx.task_id, String).label("task_id"),
        literal(ctx.dag_id, String).label("dag_id"),
        literal(ctx.map_index, Integer).label("map_index"),
        literal(stored, LargeBinary).label("value"),
    )
    with _engine().connect() as conn:
        row = conn.execute(query).first()
    assert row is not None and isinstance(row.value, bytes)
    return row


def default_round_trip(value: Any, ctx: XComContext) -> Any:
    """The release's default backend through the same path: the reference behaviour for equivalence."""
    return round_trip(BaseXCom, value, ctx)


def resolve_backend(path: str) -> Any:
    """Resolve ``module.Class`` the way the running release's own resolver does (see ``resolve_backend_reporting``;
    its warnings are dropped here)."""
    return resolve_backend_reporting(path)[0]


def resolve_backend_reporting(path: str) -> tuple[Any, list[warnings.WarningMessage]]:
    """Resolve ``module.Class`` the way the running release's own resolver does, and every warning raised meanwhile.

    Airflow's XCom module is imported first (it resolves the configured backend at import), then its
    ``resolve_xcom_backend()`` runs with ``[core] xcom_backend`` set to ``path``, so a backend gets exactly the
    treatment Airflow gives it, e.g. 2.3+'s ``_patch_outdated_serializer`` for ``serialize_value(value, **kwargs)``.
    The warnings (the backend module's import included, when this is its first import) go back to the caller:
    ``backend_warnings`` picks those about the backend.
    """
    old = os.environ.get("AIRFLOW__CORE__XCOM_BACKEND")
    os.environ["AIRFLOW__CORE__XCOM_BACKEND"] = path
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            return import_airflow_xcom().resolve_xcom_backend(), list(caught)
    finally:
        if old is None:
            del os.environ["AIRFLOW__CORE__XCOM_BACKEND"]
        else:
            os.environ["AIRFLOW__CORE__XCOM_BACKEND"] = old


#: 2.3+'s shim around an outdated ``serialize_value`` warns with this text, from Airflow's own file, at every push.
OUTDATED_SERIALIZER = "is using outdated signature"


def backend_warnings(backend: Any, caught: list[warnings.WarningMessage]) -> list[warnings.WarningMessage]:
    """The warnings of ``caught`` that are about ``backend``: Airflow's outdated-serializer warning, and any
    warning attributed to a file of the backend's own top-level package (Airflow's deprecations point there)."""
    root = _own_files(backend)
    return [
        w
        for w in caught
        if OUTDATED_SERIALIZER in str(w.message)
        or (root is not None and (os.path.abspath(w.filename) + os.sep).startswith(root))
    ]


def _own_files(backend: Any) -> str | None:
    """What the backend's own files' paths start with: its top-level package's directory + ``/``, or its
    module's file + ``/`` for a single-file module. None for Airflow's own backends (their warnings are
    Airflow's configuration's, not the backend's)."""
    import sys

    top = str(getattr(backend, "__module__", "")).split(".")[0]
    path = getattr(sys.modules.get(top), "__file__", None)
    if top in ("", "airflow") or not path:
        return None
    path = os.path.abspath(path)
    if os.path.basename(path) == "__init__.py":
        path = os.path.dirname(path)
    return path + os.sep


def is_ours(backend: Any) -> bool:
    """Whether ``backend`` is xcom_s3's S3XComBackend or derives from it (mutants, a vendored copy)."""
    return any(
        cls.__name__ == "S3XComBackend" and cls.__module__.split(".")[-2:] == ["xcom_s3", "backend"]
        for cls in getattr(backend, "__mro__", ())
    )


def as_default_reads(stored: Any, ctx: XComContext | None = None) -> Any:
    """What a DB value holds when read by the default backend: a reference stays the reference (dict, path)."""
    return load(BaseXCom, stored, ctx)
