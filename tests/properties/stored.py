"""Read what the backend stored in the metadata DB: our reference/escape objects, and outcomes of calls."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MARKER = "__xcom_s3__"


def decode(stored: Any) -> Any:
    """The JSON value a DB value holds (2.x bytes are parsed; 3.x values already are JSON)."""
    if isinstance(stored, (bytes, bytearray)):
        return json.loads(stored)
    return stored


def reference(stored: Any) -> dict[str, Any] | None:
    """The reference object ``stored`` holds, or None if the value stayed inline (escaped or not)."""
    obj = decode(stored)
    if isinstance(obj, dict) and obj.get(MARKER) == 1 and obj.get("kind") == "ref":
        return obj
    return None


def is_escape(stored: Any) -> bool:
    obj = decode(stored)
    return isinstance(obj, dict) and obj.get(MARKER) == 1 and obj.get("kind") == "escaped"


def object_key(ref: dict[str, Any], bucket: str) -> str:
    """The S3 key a reference's ``s3://bucket/key`` URI names (asserting the bucket)."""
    uri = ref["uri"]
    assert uri.startswith(f"s3://{bucket}/"), f"reference {uri!r} is not in bucket {bucket!r}"
    return str(uri[len(f"s3://{bucket}/") :])


@dataclass(frozen=True)
class Outcome:
    """A call's result or the exception it raised."""

    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def attempt(fn: Callable[..., Any], *args: Any) -> Outcome:
    """Call ``fn(*args)``; capture its value or its exception."""
    try:
        return Outcome(value=fn(*args))
    except Exception as exc:
        return Outcome(error=exc)


def is_pickle(stored: Any) -> bool:
    """A 2.x DB value the default stored as a pickle (``[core] enable_xcom_pickling``): protocol 2+ opens with
    0x80, which no JSON text does."""
    return isinstance(stored, (bytes, bytearray)) and stored[:1] == b"\x80"
