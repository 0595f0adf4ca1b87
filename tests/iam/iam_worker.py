"""A worker's S3 traffic under one IAM user, step by step, through Airflow's resolved backend class.

Each step is one operation an Airflow deployment performs (push, pull, purge, a failed multipart push, ``gc``);
it records the S3 calls the backend made (botocore's ``after-call`` events of the backend's own client: operation
and HTTP status) and, when the operation did not do what it should, raises :class:`Refused` with the backend's own
words (the error it raised, the warning it logged, gc's stderr) and those calls. A test then asserts that the words
name the permission at fault: they come from the product, never from this module, so the check is not circular.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import airflow_io
import pytest
from iam_moto import PART_MIN_SIZE, IamMoto, Keys
from s3_server import DEFAULT_REGION
from xcom_compat import XComContext

#: Rows of the multipart frame: random float64s (zstd cannot shrink them), encoded a little over one part.
MULTIPART_ROWS = 48_000
#: Parts of the failing push: smaller than the server's minimum, so S3 refuses to complete it (EntityTooSmall).
TOO_SMALL_PART = 64 * 2**10
#: JSON values of at least this many bytes are offloaded here (the default, 64 KiB, would only cost time).
JSON_THRESHOLD = 1024


class Refused(AssertionError):
    """An operation did not do what it should; the message is the backend's own, then the S3 calls it made."""


@dataclass
class Step:
    """One row of the per-operation table: what was done, the S3 calls it made, and how it ended."""

    operation: str
    calls: list[str]
    outcome: str


@dataclass
class Calls:
    """Every S3 call of the backend's client: (operation, HTTP status), in the order they returned."""

    seen: list[tuple[str, int]] = field(default_factory=list)

    def __call__(self, http_response: Any, model: Any, **_: Any) -> None:
        self.seen.append((str(model.name), int(http_response.status_code)))

    def since(self, mark: int) -> list[str]:
        return [f"{name} {status}" for name, status in self.seen[mark:]]


def small_frame() -> Any:
    import pandas as pd

    return pd.DataFrame({"i": [1, 2, 3], "s": ["a", "b", "é"]})


def multipart_frame() -> Any:
    import numpy as np
    import pandas as pd

    return pd.DataFrame({"f": np.random.default_rng(19).random(MULTIPART_ROWS)})


def json_value() -> dict[str, Any]:
    return {"rows": [{"n": i, "text": f"value {i}"} for i in range(200)]}


def same(expected: Any, got: Any) -> bool:
    if hasattr(expected, "equals"):
        return bool(type(got) is type(expected) and expected.equals(got) and (expected.dtypes == got.dtypes).all())
    return bool(expected == got)


@dataclass
class Worker:
    """The backend as a worker runs it, with ``keys``' credentials, ``bucket`` and ``prefix`` as its settings."""

    backend: Any
    env: Any
    moto: IamMoto
    keys: Keys
    bucket: str
    prefix: str
    dag: str
    monkeypatch: pytest.MonkeyPatch
    caplog: pytest.LogCaptureFixture
    capsys: pytest.CaptureFixture[str]
    steps: list[Step] = field(default_factory=list)
    calls: Calls = field(default_factory=Calls)

    def __post_init__(self) -> None:
        self.caplog.set_level(logging.WARNING, logger="xcom_s3")
        self.env.set("threshold", JSON_THRESHOLD)
        self.configure()

    def configure(self, keys: Keys | None = None, bucket: str | None = None, prefix: str | None = None) -> None:
        """Point the backend at the IAM server with these credentials and settings (default: the worker's own)."""
        from xcom_s3 import S3XComBackend, store
        from xcom_s3.settings import Settings

        keys = keys or self.keys
        self.env.set("endpoint_url", self.moto.url)
        self.env.set("region", DEFAULT_REGION)
        self.env.set("bucket", bucket or self.bucket)
        self.env.set("prefix", prefix or self.prefix)
        self.monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys.access_key)
        self.monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys.secret_key)
        for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
            self.monkeypatch.delenv(name, raising=False)
        S3XComBackend.reset_client()  # the client cache is keyed by endpoint, not by credentials
        store.client(Settings.from_airflow()).meta.events.register("after-call.s3", self.calls)

    def ctx(self, task: str) -> XComContext:
        return XComContext(key="return_value", task_id=task, dag_id=self.dag, run_id="r", map_index=-1)

    def key(self, stored: Any) -> str:
        """The object key a stored reference names."""
        reference = stored if isinstance(stored, dict) else json.loads(stored)
        return str(reference["uri"]).split("/", 3)[3]

    @contextlib.contextmanager
    def step(self, operation: str) -> Iterator[None]:
        """Record the step's S3 calls as a table row; a failure becomes :class:`Refused` naming them."""
        mark = len(self.calls.seen)
        try:
            yield
        except Refused as refused:
            calls = self.calls.since(mark)
            self.steps.append(Step(operation, calls, "refused"))
            raise Refused(f"{operation}: {refused}\nS3 calls of this step: {', '.join(calls) or 'none'}") from None
        except Exception as exc:
            calls = self.calls.since(mark)
            self.steps.append(Step(operation, calls, "refused"))
            raise Refused(
                f"{operation}: {type(exc).__name__}: {exc}\nS3 calls of this step: {', '.join(calls) or 'none'}"
            ) from exc
        calls = self.calls.since(mark)
        denied = any(call.endswith(" 403") for call in calls)
        self.steps.append(Step(operation, calls, "denied" if denied else "allowed"))

    def warnings_since(self, mark: int) -> str:
        return " | ".join(r.getMessage() for r in self.caplog.records[mark:] if r.name.startswith("xcom_s3"))

    # ---- the operations -----------------------------------------------------------------------------------------

    def push(self, operation: str, value: Any, task: str) -> Any:
        """Push through the release's ``serialize_value``; the stored form as the DB hands it back."""
        with self.step(operation):
            return airflow_io.through_db(airflow_io.store(self.backend, value, self.ctx(task)))

    def pull(self, operation: str, stored: Any, expected: Any) -> None:
        with self.step(operation):
            got = airflow_io.load(self.backend, stored)
            if not same(expected, got):
                raise Refused(f"the value read back differs: {got!r:.200}")

    def purge(self, operation: str, stored: Any) -> None:
        """Purge as the release calls it (a failed delete only logs); the object must then be gone."""
        logged = len(self.caplog.records)
        with self.step(operation):
            airflow_io.purge(self.backend, stored)
            if self.exists(self.key(stored)):
                raise Refused(f"the object is still there; the backend logged: {self.warnings_since(logged)}")

    def failed_multipart_push(self, operation: str, value: Any, task: str) -> None:
        """A multipart push that S3 refuses to complete (parts below its minimum): it must fail, and the upload
        must be aborted, leaving nothing in ``ListMultipartUploads``."""
        from xcom_s3 import transfer
        from xcom_s3.errors import StorageError

        logged = len(self.caplog.records)
        with self.step(operation), pytest.MonkeyPatch.context() as patch:
            patch.setattr(transfer, "MULTIPART_THRESHOLD", 0)
            patch.setattr(transfer, "PART_SIZE", TOO_SMALL_PART)
            try:
                airflow_io.store(self.backend, value, self.ctx(task))
            except StorageError as exc:
                if "EntityTooSmall" not in str(exc):
                    raise
            else:
                pytest.fail("the push with parts below the server's minimum succeeded: the step tests nothing")
            left = self.uploads()
            if left:
                raise Refused(
                    f"{len(left)} incomplete upload(s) left; the backend logged: {self.warnings_since(logged)}"
                )

    def gc(self, operation: str, *, dry_run: bool, orphan: str, kept: list[str]) -> None:
        """``python -m xcom_s3 gc`` (its ``main``, in this process): ``orphan`` listed (dry) or deleted, ``kept``
        kept."""
        from xcom_s3.__main__ import main

        with self.step(operation):
            self.capsys.readouterr()
            code = main(["gc", "--older-than", "0s", *(["--dry-run"] if dry_run else [])])
            out, err = self.capsys.readouterr()
            if code != 0:
                raise Refused(f"gc exited {code}: {err.strip()}")
            left = self.objects()
            wanted = sorted(kept + ([orphan] if dry_run else []))
            if left != wanted or (dry_run and f"would delete s3://{self.bucket}/{orphan}" not in out):
                raise Refused(f"gc left {left}, expected {wanted}; it printed: {out.strip()} {err.strip()}")

    def pull_refused(self, operation: str, stored: Any, error: type[Exception]) -> str:
        """A pull that must fail with ``error``; its message."""
        with self.step(operation), pytest.raises(error) as raised:
            airflow_io.load(self.backend, stored)
        return str(raised.value)

    def push_refused(self, operation: str, value: Any, task: str) -> str:
        from xcom_s3.errors import StorageError

        with self.step(operation), pytest.raises(StorageError) as raised:
            airflow_io.store(self.backend, value, self.ctx(task))
        return str(raised.value)

    def purge_refused(self, operation: str, stored: Any) -> str:
        """A purge that must not delete (it only logs); the warning it logged."""
        logged = len(self.caplog.records)
        with self.step(operation):
            airflow_io.purge(self.backend, stored)
            if not self.exists(self.key(stored), bucket=self.reference_bucket(stored)):
                pytest.fail(f"the purge deleted {self.key(stored)}, which the policy does not allow")
        return self.warnings_since(logged)

    def raw(self, operation: str, call: Callable[[Any], Any]) -> str:
        """A request the backend never makes, sent with the worker's credentials: it must be denied."""
        from botocore.exceptions import ClientError

        client = self.moto.client("s3", self.keys)
        client.meta.events.register("after-call.s3", self.calls)
        with self.step(operation), pytest.raises(ClientError) as raised:
            call(client)
        return str(raised.value)

    # ---- what the admin sees ------------------------------------------------------------------------------------

    def admin(self) -> Any:
        return self.moto.client("s3", self.moto.admin)

    def objects(self, bucket: str | None = None) -> list[str]:
        pages = self.admin().get_paginator("list_objects_v2").paginate(Bucket=bucket or self.bucket)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))

    def exists(self, key: str, bucket: str | None = None) -> bool:
        return key in self.objects(bucket)

    def uploads(self) -> list[dict[str, Any]]:
        return list(self.admin().list_multipart_uploads(Bucket=self.bucket).get("Uploads", []))

    def reference_bucket(self, stored: Any) -> str:
        reference = stored if isinstance(stored, dict) else json.loads(stored)
        return str(reference["uri"]).split("/", 3)[2]

    def table(self) -> str:
        """The steps as a Markdown table (printed by the full-policy test; ``pytest -rP`` shows it)."""
        rows = [f"| {s.operation} | {', '.join(s.calls) or '(none)'} | {s.outcome} |" for s in self.steps]
        return "\n".join(["| operation | S3 calls (HTTP status) | under the policy |", "|---|---|---|", *rows])


def multipart_sizes(patch: pytest.MonkeyPatch) -> None:
    """Multipart past one part of the server's minimum size, and reads in ranges past it, so a frame of a few
    hundred KiB takes the paths a frame past 64 MiB takes on S3."""
    from xcom_s3 import transfer

    for name in ("MULTIPART_THRESHOLD", "PART_SIZE", "SINGLE_GET_MAX"):
        patch.setattr(transfer, name, PART_MIN_SIZE)
    patch.setattr(transfer, "RANGE_SIZE", PART_MIN_SIZE // 2)
