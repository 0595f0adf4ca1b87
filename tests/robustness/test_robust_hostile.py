"""Hostile and look-alike values: edited references are refused before any request, look-alikes stay values,
and nothing in the backend or the shims can unpickle."""

from __future__ import annotations

import ast
import hashlib
import os
import pickle
from pathlib import Path
from typing import Any

import airflow_io
import pytest
import strategies
from fault_proxy import FaultProxy
from hypothesis import given
from rb_support import as_stored, context, is_reference, json_value, key_of, push, value_for

REPO = Path(__file__).resolve().parents[2]


def _edits(bucket: str, prefix: str, key: str) -> dict[str, Any]:
    """Ways to point a real reference somewhere else; every one must be refused without touching S3."""
    rest = key[len(prefix) + 1 :]
    return {
        "other bucket": f"s3://other-{bucket}/{key}",
        "bucket look-alike": f"s3://{bucket}x/{key}",
        "other prefix": f"s3://{bucket}/elsewhere/{rest}",
        "prefix look-alike": f"s3://{bucket}/{prefix}x/{rest}",
        "no prefix": f"s3://{bucket}/{rest}",
        "dot-dot escape": f"s3://{bucket}/{prefix}/../elsewhere/{rest}",
        "dot-dot inside": f"s3://{bucket}/{prefix}/a/../../{rest}",
        "dot segment": f"s3://{bucket}/{prefix}/./{rest}",
        "empty segment": f"s3://{bucket}/{prefix}//{rest}",
        "prefix only": f"s3://{bucket}/{prefix}/",
        "bucket only": f"s3://{bucket}",
        "other scheme": f"https://{bucket}.s3.amazonaws.com/{key}",
        "not a string": 12345,
        "missing": None,
    }


@pytest.mark.parametrize("edit", list(_edits("b", "p", "p/k")))
def test_an_edited_reference_is_refused_and_nothing_is_fetched(
    backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any, edit: str
) -> None:
    from xcom_s3.errors import ForeignReferenceError

    bucket = xcom_s3_env.endpoint.bucket
    _, ref = push(backend, json_value(7), 7)
    target = _edits(bucket, xcom_s3_env.prefix, key_of(ref))[edit]
    if edit == "other prefix":  # a sentinel where the edited reference points, same bytes, same checksum
        sentinel = xcom_s3_env.get(key_of(ref))
        xcom_s3_env.client.put_object(Bucket=bucket, Key=target.split("/", 3)[3], Body=sentinel)
    ref["uri"] = target
    if target is None:
        del ref["uri"]

    mark = via_proxy.mark()
    with pytest.raises(ForeignReferenceError):
        airflow_io.load(backend, as_stored(ref))
    assert via_proxy.since(mark) == [], "a refused reference must not reach S3 at all"


def test_a_copied_reference_passed_as_a_value_comes_back_as_itself(
    backend: Any, via_proxy: FaultProxy, xcom_s3_env: Any
) -> None:
    """A task that returns another XCom's reference gets the reference back, not the object it names."""
    _, ref = push(backend, json_value(8), 8)
    for value in (ref, [ref], {"wrapped": ref}, ref["uri"], "xcom_s3://" + key_of(ref)):
        xcom_s3_env.set("threshold", 1 << 20)  # inline: must not need S3 on the way in or out
        mark = via_proxy.mark()
        assert airflow_io.round_trip(backend, value, context(9)) == value
        assert via_proxy.since(mark) == [], f"{value!r} made S3 requests"
        xcom_s3_env.set("threshold", 0)  # offloaded: read back as the value, not as what it names
        assert airflow_io.round_trip(backend, value, context(9)) == value


@given(value=strategies.lookalikes())
def test_lookalikes_are_values_and_never_dereferenced(backend: Any, via_proxy: FaultProxy, value: Any) -> None:
    mark = via_proxy.mark()
    stored = airflow_io.through_db(airflow_io.store(backend, value, context(10)))
    assert airflow_io.load(backend, stored) == value
    if not is_reference(stored):  # kept inline (escaped): neither the push nor the pull may touch S3
        assert via_proxy.since(mark) == []


# ---- pickle -----------------------------------------------------------------------------------------------------

#: Modules that deserialize code-carrying formats, and names that reach them.
UNPICKLERS = {"pickle", "_pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve", "jsonpickle", "joblib"}
UNPICKLING_NAMES = {"read_pickle", "Unpickler", "PyExtensionType"}


def _unpickling_uses(path: Path) -> list[str]:
    """Every import of, reference to, or ``allow_pickle=True`` reaching an unpickler, found by parsing the source.

    A string counts where it can name a module (a call's argument, a subscript), not as data (a field name)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] + [alias.name for alias in node.names]
        elif isinstance(node, ast.Name):
            names = [node.id]
        elif isinstance(node, ast.Attribute):
            names = [node.attr]
        elif isinstance(node, ast.Call):  # importlib.import_module("pickle"), __import__("dill")
            names = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):  # sys.modules["pickle"]
            names = [node.slice.value] if isinstance(node.slice.value, str) else []
        elif isinstance(node, ast.keyword) and node.arg == "allow_pickle":
            names = ["allow_pickle"]
        for name in names:
            if name.split(".")[0] in UNPICKLERS or name in UNPICKLING_NAMES or name == "allow_pickle":
                found.append(f"{path.relative_to(REPO)}:{getattr(node, 'lineno', '?')}: {name}")
    return found


def test_no_source_in_backend_or_compat_can_unpickle() -> None:
    sources = sorted((REPO / "backend").rglob("*.py")) + sorted((REPO / "compat").rglob("*.py"))
    assert len(sources) >= 5
    found = [use for path in sources for use in _unpickling_uses(path)]
    assert found == []


class _Payload:
    """Unpickling this would call ``exec``: proof that something unpickled, if it ever runs."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, ("import os; os.environ['XCOM_S3_UNPICKLED'] = '1'",))


def _guard_pickle(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def refuse(name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise pickle.UnpicklingError(f"{name} called by the XCom read path")

        return call

    for name in ("loads", "load", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse(f"pickle.{name}"))
    return calls


@pytest.mark.parametrize("fmt", ["json", "parquet"])
@pytest.mark.parametrize("xcom_pickling", ["False", "True"])
def test_a_forged_reference_to_a_pickle_is_never_unpickled(
    backend: Any, xcom_s3_env: Any, monkeypatch: pytest.MonkeyPatch, xcom_pickling: str, fmt: str
) -> None:
    """Even with DB and S3 write access and a matching checksum, a pickle under the prefix is never unpickled: the
    read refuses it as not the JSON or Parquet its reference says (IntegrityError naming the object)."""
    from xcom_s3.errors import IntegrityError

    monkeypatch.delenv("XCOM_S3_UNPICKLED", raising=False)
    _, ref = push(backend, json_value(11) if fmt == "json" else value_for(0), 11)
    assert ref["format"] == fmt
    monkeypatch.setenv("AIRFLOW__CORE__ENABLE_XCOM_PICKLING", xcom_pickling)  # the reader's setting
    payload = pickle.dumps(_Payload())
    xcom_s3_env.client.put_object(Bucket=xcom_s3_env.endpoint.bucket, Key=key_of(ref), Body=payload)
    ref.update(codec="none", size=len(payload), sha256=hashlib.sha256(payload).hexdigest(), raw_size=len(payload))
    calls = _guard_pickle(monkeypatch)

    with pytest.raises(IntegrityError) as refused:
        airflow_io.load(backend, as_stored(ref))
    message = str(refused.value)
    assert key_of(ref) in message and f"not valid {'JSON' if fmt == 'json' else 'Parquet'}" in message, message
    assert calls == [], f"the read path called {calls}"
    assert "XCOM_S3_UNPICKLED" not in os.environ, "the payload ran: something unpickled it"
