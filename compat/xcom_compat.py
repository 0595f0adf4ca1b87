"""Version shims for custom XCom backends, Airflow 2.3 through 3.4.

Vendor this file by copying it into your project (`nox -s vendor -- PATH` does it): it imports only the standard
library and Airflow, so it works wherever Airflow does. Like the providers' ``version_compat.py`` it is copied,
not imported across projects, because the one thing it must never do is drift from the Airflow it runs beside.

A backend subclasses :class:`PortableXComBackend` and implements four plain class methods:

* ``offload(value, ctx, inline) -> reference | None``: store ``value`` elsewhere and return a small JSON object
  that stands for it, or ``None`` to keep the release's default inline storage (``inline()`` computes that form
  lazily, and raises what the default backend raises for values it rejects).
* ``claims(stored) -> bool``: whether a decoded stored JSON object is one of the backend's own (a reference or
  an escaped value). Only claimed objects reach ``load`` and ``discard``.
* ``load(stored) -> value`` and ``discard(stored)``.

This module maps those onto each release's real hooks: ``serialize_value`` (bytes on 2.x, a JSON value on 3.x),
``deserialize_value`` (a DB row with bytes on 2.x, an ``XComResult`` on 3.x), ``orm_deserialize_value`` (2.x UI),
``purge`` (2.9+: static ``(xcom, session)``; 3.x: class method ``(xcom, *args)``) and ``store_value`` /
``load_value`` (3.4+). The facts behind each branch are in the project's ``airflow-xcom-api.md``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import airflow


def _base_version(version: str) -> tuple[int, int, int]:
    """(major, minor, patch) of a version string, ignoring pre-release and local parts ("3.4.0b2" -> (3, 4, 0))."""
    numbers = [int(part) for part in re.findall(r"\d+", version.split("+")[0])[:3]]
    numbers += [0] * (3 - len(numbers))
    return numbers[0], numbers[1], numbers[2]


AIRFLOW_VERSION = _base_version(airflow.__version__)

#: 2.3: ``serialize_value`` is called with keyword run context (key, task_id, dag_id, run_id, map_index).
AIRFLOW_V_2_3_PLUS = AIRFLOW_VERSION >= (2, 3, 0)
#: 2.5: ``airflow.utils.json.XComDecoder`` reads what the default backend wrote (serde objects, tuples, datetimes);
#: 2.3-2.4 stored plain JSON.
AIRFLOW_V_2_5_PLUS = AIRFLOW_VERSION >= (2, 5, 0)
#: 2.9: ``BaseXCom.purge(xcom, session)`` exists and ``XCom.clear``/``delete`` call it.
AIRFLOW_V_2_9_PLUS = AIRFLOW_VERSION >= (2, 9, 0)
#: 3.0: ``BaseXCom`` is a plain Task SDK class; stored values are JSON, not bytes; ``purge(cls, xcom, *args)``.
AIRFLOW_V_3_0_PLUS = AIRFLOW_VERSION >= (3, 0, 0)
#: 3.1: the task runner passes ``map_index`` to ``XCom.delete``, so mapped tasks are purged too (3.0.x bug).
AIRFLOW_V_3_1_PLUS = AIRFLOW_VERSION >= (3, 1, 0)
#: 3.2: the Task SDK reads the config with its own parser (``airflow.sdk.configuration``); workers may not load
#: core's.
AIRFLOW_V_3_2_PLUS = AIRFLOW_VERSION >= (3, 2, 0)
#: 3.4: ``store_value(coordinate, key, value)`` / ``load_value(stored)`` are preferred when overridden.
AIRFLOW_V_3_4_PLUS = AIRFLOW_VERSION >= (3, 4, 0)

if AIRFLOW_V_3_0_PLUS:
    # The SDK class, never the deprecated ``airflow.models.xcom`` alias (FutureWarning from 3.2).
    from airflow.sdk.bases.xcom import BaseXCom
else:
    # Imported while ``airflow.models.xcom`` is still executing (the resolver imports us): only ``BaseXCom``
    # exists by then, never ``XCom``.
    from airflow.models.xcom import BaseXCom  # type: ignore[no-redef]

__all__ = [
    "AIRFLOW_VERSION",
    "BaseXCom",
    "Capabilities",
    "InlineForm",
    "PortableXComBackend",
    "XComContext",
    "capabilities",
    "config_value",
    "xcom_pickling_enabled",
]


@dataclass(frozen=True)
class XComContext:
    """Where an XCom belongs. Fields are ``None`` where the release passes nothing."""

    key: str | None = None
    task_id: str | None = None
    dag_id: str | None = None
    run_id: str | None = None
    map_index: int | None = None
    #: 3.4+: the task instance id from ``XComCoordinate`` (every loop iteration is its own task instance).
    ti_id: str | None = None
    #: 3.4+: one task writing another's XCom through coordinates: no two such writes may share a location.
    per_write: bool = False

    @property
    def is_complete(self) -> bool:
        """True when the run-scoping fields are all known, so a deterministic location can be built."""
        return None not in (self.key, self.task_id, self.dag_id, self.run_id)


@dataclass(frozen=True)
class Capabilities:
    """What the running release offers a backend, so tests can assert which path ran instead of guessing."""

    airflow_version: str
    base_class: str
    #: "bytes" on 2.x (LargeBinary column), "json" on 3.x (JSON/JSONB column).
    stored_type: str
    #: serialize_value receives key/task_id/dag_id/run_id/map_index.
    passes_run_context: bool
    #: Airflow calls ``purge`` when it clears a task's XComs before a (re)run.
    purge_called: bool
    #: ... including for mapped task instances (3.0.x forgets map_index and purges nothing).
    purge_called_for_mapped: bool
    #: ``store_value`` / ``load_value`` exist and win over serialize_value/deserialize_value.
    store_value_api: bool
    #: The UI/REST of this release calls ``orm_deserialize_value`` on the backend class.
    orm_deserialize_value: bool


def capabilities() -> Capabilities:
    """Describe the running release's XCom backend API (see airflow-xcom-api.md §7)."""
    return capabilities_of(airflow.__version__, f"{BaseXCom.__module__}.{BaseXCom.__qualname__}")


def capabilities_of(version: str, base_class: str) -> Capabilities:
    """What release ``version`` offers a backend on ``base_class``: one rule for every release, so that each
    release's row can be checked from any installed one."""
    number = _base_version(version)
    json_stored = number >= (3, 0, 0)
    purges = number >= (2, 9, 0)
    return Capabilities(
        airflow_version=version,
        base_class=base_class,
        stored_type="json" if json_stored else "bytes",
        passes_run_context=number >= (2, 3, 0),
        purge_called=purges,
        purge_called_for_mapped=purges and not (3, 0, 0) <= number < (3, 1, 0),
        store_value_api=number >= (3, 4, 0),
        orm_deserialize_value=not json_stored,
    )


def config_value(section: str, key: str) -> str | None:
    """Read ``[section] key`` through Airflow's own config (so ``AIRFLOW__SECTION__KEY`` works); None if unset."""
    if AIRFLOW_V_3_2_PLUS:
        from airflow.sdk.configuration import conf
    else:
        from airflow.configuration import conf
    value = conf.get(section, key, fallback=None)
    return None if value is None or value == "" else str(value)


class _StoredValue(NamedTuple):
    """The stand-in for a DB row / XComResult: the base deserializers only ever read ``.value``."""

    value: Any


@dataclass(frozen=True)
class InlineForm:
    """What the release's default backend stores for a value, and its JSON text (for size and offloading)."""

    #: Exactly what ``BaseXCom.serialize_value`` returned: bytes on 2.x, a JSON-able value on 3.x.
    stored: Any
    #: The UTF-8 JSON text of ``stored``; ``None`` when the default stored something that is not JSON (pickle).
    json_text: bytes | None

    @property
    def size(self) -> int:
        """Bytes the value takes in the metadata DB (compact JSON on 3.x)."""
        if self.json_text is not None:
            return len(self.json_text)
        return len(self.stored)


def _json_text(stored: Any) -> bytes | None:
    if isinstance(stored, (bytes, bytearray)):
        # 2.x: JSON bytes unless [core] enable_xcom_pickling turned them into a pickle (first byte 0x80).
        return bytes(stored) if stored[:1] != b"\x80" else None
    # 3.x: the supervisor posts the value as strict JSON, so NaN/Infinity fail the real push; fail here too, or an
    # offloaded copy would accept what the default backend rejects.
    return json.dumps(stored, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def default_inline_form(value: Any) -> InlineForm:
    """Serialize ``value`` exactly as the release's default backend would. Its ``serialize_value`` takes the run
    context (2.3+) but never reads it, on any release (airflow-xcom-api.md §2), so none is passed."""
    stored = BaseXCom.serialize_value(value)
    return InlineForm(stored=stored, json_text=_json_text(stored))


def xcom_pickling_enabled() -> bool:
    """2.x ``[core] enable_xcom_pickling``: the default backend stores ``pickle.dumps(value)`` instead of JSON.
    Airflow 3 has no such setting (its 3.0 migration moves pickled rows to ``_xcom_archive``)."""
    if AIRFLOW_V_3_0_PLUS:
        return False
    from airflow.configuration import conf

    return bool(conf.getboolean("core", "enable_xcom_pickling", fallback=False))


def default_load_stored(stored: Any) -> Any:
    """The release's own ``BaseXCom.deserialize_value`` on exactly what its ``serialize_value`` returned (a 2.x
    pickle included: only call it for bytes that came from the metadata DB, never from S3)."""
    return BaseXCom.deserialize_value(_StoredValue(stored))


def default_load(stored_json: Any) -> Any:
    """Turn a default-serialized value (its decoded JSON) back into the value, with the release's own decoder."""
    if AIRFLOW_V_3_0_PLUS:
        return BaseXCom.deserialize_value(_StoredValue(stored_json))
    # Any JSON spelling of the value decodes to it; json.dumps' ASCII default also carries lone surrogates.
    return default_load_text(json.dumps(stored_json).encode())


def _xcom_json_decoder() -> type[json.JSONDecoder] | None:
    """2.5+: Airflow's XComDecoder (serde objects, tuples, datetimes); 2.3-2.4 stored plain JSON."""
    if not AIRFLOW_V_2_5_PLUS:
        return None
    from airflow.utils.json import XComDecoder

    return XComDecoder  # type: ignore[no-any-return]


def default_load_text(json_text: bytes) -> Any:
    """Like :func:`default_load`, from the JSON text of a default-serialized value."""
    if AIRFLOW_V_3_0_PLUS:
        return BaseXCom.deserialize_value(_StoredValue(json.loads(json_text)))
    # Not BaseXCom.deserialize_value: on 2.x it falls back to pickle.loads for what is not JSON (always with
    # enable_xcom_pickling). These bytes come from S3 or our own envelope, so only JSON is ever decoded.
    return json.loads(json_text, cls=_xcom_json_decoder())


def _problem_for_the_api(exc: Exception, backend: type, result: Any) -> Exception | None:
    """The REST API's ``xcomEntries?deserialize=true`` calls ``deserialize_value`` in the webserver (2.6 to 2.11)
    or the API server (3.0), where the backend may lack its settings or credentials. Both render any exception
    but their own HTTP ones as a bare 500, so there a backend's error becomes the API's own error response (2.x:
    connexion's JSON problem; 3.0: FastAPI's ``{"detail": …}``), status 500, carrying its message. None elsewhere:
    workers, the scheduler and triggerers see the error itself."""
    name = f"{backend.__module__}.{backend.__qualname__}"
    title = f"The XCom backend {name} could not read this value"
    detail = (
        f"{type(exc).__name__}: {exc} The webserver / API server reads offloaded values only when it has the "
        "backend's settings and credentials, as the workers do; give it them, or turn deserialization off with "
        "AIRFLOW__API__ENABLE_XCOM_DESERIALIZE_SUPPORT=False."
    )
    if AIRFLOW_V_3_0_PLUS:
        # 3.0's API server hands over its XComModel row; the Task SDK (tasks, triggerer) an XComResult.
        fastapi = sys.modules.get("fastapi")
        if fastapi is None or not hasattr(type(result), "__table__"):
            return None
        http_error: Exception = fastapi.HTTPException(status_code=500, detail=f"{title}. {detail}")
        return http_error
    flask = sys.modules.get("flask")  # not imported: surely not inside a webserver request
    if flask is None or not flask.has_request_context() or not flask.request.path.startswith("/api/"):
        return None
    from airflow.api_connexion.exceptions import Unknown

    problem: Exception = Unknown(title=title, detail=detail)
    return problem


#: What :func:`_decode_stored` returns for a stored value that cannot be one of a backend's objects.
_NOT_OURS = object()


def _decode_stored(raw: Any) -> Any:
    """The JSON object a stored value holds, or a sentinel when it cannot be one of a backend's objects."""
    if isinstance(raw, (bytes, bytearray, memoryview)):
        raw = bytes(raw)
        if raw[:1] != b"{":  # references and escapes are JSON objects; skip parsing everything else
            return _NOT_OURS
        try:
            return json.loads(raw)
        except ValueError:
            return _NOT_OURS
    if isinstance(raw, str) and raw[:1] == "{":
        # A JSON text where a decoded value was expected (REST stubs, rows migrated as strings).
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _encode_stored(obj: dict[str, Any]) -> Any:
    """A backend's JSON object in the form the release's column wants: bytes on 2.x, the object on 3.x."""
    if AIRFLOW_V_3_0_PLUS:
        return obj
    # Plain JSON bytes, never pickle, whatever [core] enable_xcom_pickling says.
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class PortableXComBackend(BaseXCom):  # type: ignore[misc,valid-type]
    """A BaseXCom whose hooks have each release's exact signature and call the four portable ones below."""

    # ---- the portable interface: override these -------------------------------------------------------------

    @classmethod
    def offload(cls, value: Any, ctx: XComContext, inline: Callable[[], InlineForm]) -> dict[str, Any] | None:
        """Return the JSON object to store instead of ``value``, or None to store ``inline()``."""
        return None

    @classmethod
    def claims(cls, stored: Any) -> bool:
        """Whether ``stored`` (a decoded JSON value from the DB) is one of this backend's objects."""
        return False

    @classmethod
    def load(cls, stored: dict[str, Any]) -> Any:
        """The value a claimed object stands for."""
        raise NotImplementedError

    @classmethod
    def discard(cls, stored: dict[str, Any]) -> None:
        """Delete whatever a claimed object points at. Called from purge."""

    @classmethod
    def describe(cls, stored: dict[str, Any]) -> Any:
        """What the 2.x UI shows for a claimed object; the object itself by default (purge reads it back)."""
        return stored

    # ---- the release's hooks --------------------------------------------------------------------------------

    @classmethod
    def _serialize(cls, value: Any, ctx: XComContext) -> Any:
        cached: list[InlineForm] = []

        def inline() -> InlineForm:
            if not cached:
                cached.append(default_inline_form(value))
            return cached[0]

        obj = cls.offload(value, ctx, inline)
        if obj is not None:
            return _encode_stored(obj)
        return inline().stored

    @classmethod
    def serialize_value(  # type: ignore[override]
        cls,
        value: Any,
        *,
        key: str | None = None,
        task_id: str | None = None,
        dag_id: str | None = None,
        run_id: str | None = None,
        map_index: int | None = None,
        **kwargs: Any,
    ) -> Any:
        # A class method (BaseXCom's is static) so the hook knows its backend; Airflow always calls it on the
        # resolved class. The five context names are declared so 2.3+'s ``_patch_outdated_serializer``, which
        # compares parameter names, leaves it alone and the context is not dropped.
        ctx = XComContext(key=key, task_id=task_id, dag_id=dag_id, run_id=run_id, map_index=map_index)
        return cls._serialize(value, ctx)

    @classmethod
    def deserialize_value(cls, result: Any) -> Any:  # type: ignore[override]
        obj = _decode_stored(result.value)
        if obj is not _NOT_OURS and cls.claims(obj):
            try:
                return cls.load(obj)
            except Exception as exc:
                problem = _problem_for_the_api(exc, cls, result)
                if problem is None:
                    raise
                raise problem from exc
        return BaseXCom.deserialize_value(result)

    def orm_deserialize_value(self) -> Any:
        """2.x UI/REST: show a claimed object as itself rather than running the backend's I/O."""
        obj = _decode_stored(self.value)  # type: ignore[attr-defined]
        if obj is not _NOT_OURS and type(self).claims(obj):
            return type(self).describe(obj)
        return BaseXCom.orm_deserialize_value(self)  # type: ignore[attr-defined]

    @classmethod
    def purge(cls, xcom: Any, *args: Any, **kwargs: Any) -> None:
        # 2.9+: ``XCom.purge(row, session)`` with ``row.value`` already decoded by BaseXCom's ORM decoder;
        # 3.x: ``cls.purge(XComResult)`` with the stored JSON. Both reduce to "decode, then discard if ours".
        obj = _decode_stored(xcom.value)
        if obj is not _NOT_OURS and cls.claims(obj):
            cls.discard(obj)

    if AIRFLOW_V_3_4_PLUS:

        @classmethod
        def store_value(cls, coordinate: Any, key: str, value: Any) -> Any:
            # 3.4 passes no map_index here: ``ti_id`` tells task instances (map indexes, loop iterations) apart,
            # and is None when the write is made for another task instance (see XComCoordinate's docstring).
            ti_id = getattr(coordinate, "ti_id", None)
            ctx = XComContext(
                key=key,
                task_id=coordinate.task_id,
                dag_id=coordinate.dag_id,
                run_id=coordinate.run_id,
                map_index=getattr(coordinate, "region_index", None),
                ti_id=None if ti_id is None else str(ti_id),
                per_write=ti_id is None,
            )
            return cls._serialize(value, ctx)

        @classmethod
        def load_value(cls, stored: Any) -> Any:
            obj = _decode_stored(stored)
            if obj is not _NOT_OURS and cls.claims(obj):
                return cls.load(obj)
            return BaseXCom.load_value(stored)  # type: ignore[attr-defined]
