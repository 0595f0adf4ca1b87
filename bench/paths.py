"""The round trips the benchmark compares, each a push then a pull of one value through one S3 endpoint.

pandas DataFrames (:data:`KINDS` says which value each path moves):

* ``ours``: ``xcom_s3.S3XComBackend`` through the hooks Airflow calls (``serialize_value`` / ``deserialize_value``).
* ``csv``: the seed-style pattern: ``to_csv`` to a temp file, ``upload_file``, ``download_file``, ``read_csv``.
* ``commonio``: Airflow's common-io ``XComObjectStorageBackend`` (threshold 0, its default compression) through the
  same hooks.
* ``floor``: pyarrow Parquet with our codec, buffered whole, plain boto3 ``put_object`` / ``get_object``.
* ``before``: ``ours`` with xcom_s3 as it was at an earlier commit (bench/before.py), in the same run: whether a
  change made frames slower.

A pyarrow Table and a polars DataFrame (each comes back from xcom_s3 as its own type), each against its own floor:

* ``arrow``: a ``pyarrow.Table`` through xcom_s3's hooks, as ``ours``.
* ``arrow_floor``: ``pyarrow.parquet.write_table`` to bytes, ``put_object`` / ``get_object``, ``read_table``.
* ``polars``: a ``polars.DataFrame`` through xcom_s3's hooks, as ``ours``.
* ``polars_floor``: ``DataFrame.write_parquet`` to bytes, ``put_object`` / ``get_object``, ``polars.read_parquet``
  (what a polars user writes by hand). polars is optional: without it these two are skipped (:func:`unavailable`).

Each path only configures its environment in :func:`configure`; the XCom class is resolved by Airflow itself when
its XCom module is imported (the way a worker gets it), so the backend must be configured before that import.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

# tests/airflow_release.py (standard library only) knows the release before Airflow's XCom module is imported. Not on
# the children's PYTHONPATH (compat, backend, bench): appended, so it shadows nothing installed.
if (_TESTS := str(Path(__file__).resolve().parents[1] / "tests")) not in sys.path:
    sys.path.append(_TESTS)
from airflow_release import import_airflow_xcom

#: Each path and the kind of value it moves (data.make_value's kinds).
KINDS = {
    "ours": "pandas",
    "csv": "pandas",
    "commonio": "pandas",
    "floor": "pandas",
    "before": "pandas",
    "arrow": "arrow",
    "arrow_floor": "arrow",
    "polars": "polars",
    "polars_floor": "polars",
}
PATHS = tuple(KINDS)
#: The paths that go through xcom_s3 (the same settings, whatever the value).
OURS = ("ours", "before", "arrow", "polars")
CONN_ID = "bench_s3"


@dataclass(frozen=True)
class Endpoint:
    """The S3 server and where this round trip writes (its own prefix, deleted afterwards)."""

    url: str
    bucket: str
    prefix: str
    codec: str = "zstd"
    cio_compression: str = ""

    def client(self) -> Any:
        import boto3

        return boto3.session.Session().client("s3", endpoint_url=self.url, region_name=region())


class _Row(NamedTuple):
    """What Airflow hands ``deserialize_value``: something with the stored ``.value``."""

    value: Any


def region() -> str:
    """The store's region: the AWS variables' (a real bucket lives in one), else moto's us-east-1."""
    return os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"


def configure(path: str, ep: Endpoint) -> None:
    """Set the environment a worker would have for ``path`` (before Airflow's XCom module is imported)."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    if path in OURS:
        os.environ["AIRFLOW__CORE__XCOM_BACKEND"] = "xcom_s3.S3XComBackend"
        os.environ["AIRFLOW__XCOM_S3__BUCKET"] = ep.bucket
        os.environ["AIRFLOW__XCOM_S3__PREFIX"] = ep.prefix
        os.environ["AIRFLOW__XCOM_S3__ENDPOINT_URL"] = ep.url
        os.environ["AIRFLOW__XCOM_S3__REGION"] = region()
        os.environ["AIRFLOW__XCOM_S3__COMPRESSION"] = ep.codec
    elif path == "commonio":
        os.environ["AIRFLOW__CORE__XCOM_BACKEND"] = "airflow.providers.common.io.xcom.backend.XComObjectStorageBackend"
        os.environ["AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH"] = f"s3://{CONN_ID}@{ep.bucket}/{ep.prefix}"
        os.environ["AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD"] = "0"
        os.environ["AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_COMPRESSION"] = ep.cio_compression
        os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(
            {
                "conn_type": "aws",
                "login": os.environ["AWS_ACCESS_KEY_ID"],
                "password": os.environ["AWS_SECRET_ACCESS_KEY"],
                "extra": {"endpoint_url": ep.url, "region_name": region()},
            }
        )


def unavailable(path: str) -> str | None:
    """Why ``path`` cannot run in this venv (an optional library missing), or None."""
    if KINDS[path] == "polars" and importlib.util.find_spec("polars") is None:
        return "polars is not installed in this venv"
    return None


def xcom_class() -> Any:
    """The XCom class Airflow resolved from ``[core] xcom_backend``, imported the way each release does it."""
    return import_airflow_xcom().XCom


def _as_db(stored: Any) -> Any:
    """What the metadata DB gives back: bytes stay bytes (2.x), JSON goes through a JSON round trip (3.x)."""
    if isinstance(stored, (bytes, bytearray)):
        return bytes(stored)
    return json.loads(json.dumps(stored))


def prepare(path: str, ep: Endpoint) -> Callable[[Any], Any]:
    """Everything a worker has before its first XCom (imports, classes, clients), returning the round trip."""
    if path in (*OURS, "commonio"):
        xcom = xcom_class()
        if path in OURS:
            import xcom_s3

            assert issubclass(xcom, xcom_s3.S3XComBackend), f"Airflow resolved {xcom!r}, not S3XComBackend"
        else:
            assert xcom.__name__ == "XComObjectStorageBackend", f"Airflow resolved {xcom!r}"
        return lambda frame: _xcom_round_trip(xcom, frame)
    client = ep.client()
    if path == "csv":
        return lambda frame: _csv_round_trip(client, ep, frame)
    if path == "floor":
        # A worker has these imported already: not part of the round trip.
        import pyarrow.parquet

        return lambda frame: _floor_round_trip(client, ep, frame)
    if path == "arrow_floor":
        import pyarrow.parquet  # noqa: F401

        return lambda table: _arrow_floor_round_trip(client, ep, table)
    if path == "polars_floor":
        import polars  # noqa: F401

        return lambda frame: _polars_floor_round_trip(client, ep, frame)
    raise ValueError(f"unknown path {path!r}; choose from {PATHS}")


def _xcom_round_trip(xcom: Any, value: Any) -> Any:
    stored = xcom.serialize_value(
        value, key="return_value", task_id="produce", dag_id="bench", run_id="manual__bench", map_index=-1
    )
    return xcom.deserialize_value(_Row(_as_db(stored)))


def _csv_round_trip(client: Any, ep: Endpoint, frame: pd.DataFrame) -> pd.DataFrame:
    key = f"{ep.prefix}/frame.csv"
    with tempfile.TemporaryDirectory(prefix="bench-csv-") as tmp:
        src, dst = os.path.join(tmp, "up.csv"), os.path.join(tmp, "down.csv")
        frame.to_csv(src, index=False)
        client.upload_file(src, ep.bucket, key)
        client.download_file(ep.bucket, key, dst)
        return pd.read_csv(dst)


def _floor_round_trip(client: Any, ep: Endpoint, frame: pd.DataFrame) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    key = f"{ep.prefix}/frame.parquet"
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(frame), sink, compression=None if ep.codec == "none" else ep.codec)
    body = sink.getvalue().to_pybytes()  # botocore takes bytes or a file; the one copy a user's code makes too
    del sink
    client.put_object(Bucket=ep.bucket, Key=key, Body=body)
    del body
    body = client.get_object(Bucket=ep.bucket, Key=key)["Body"].read()
    return pq.read_table(pa.BufferReader(body)).to_pandas()


def _put_get(client: Any, ep: Endpoint, key: str, body: bytes) -> bytes:
    client.put_object(Bucket=ep.bucket, Key=key, Body=body)
    del body
    data: bytes = client.get_object(Bucket=ep.bucket, Key=key)["Body"].read()
    return data


def _arrow_floor_round_trip(client: Any, ep: Endpoint, table: Any) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression=None if ep.codec == "none" else ep.codec)
    body = sink.getvalue().to_pybytes()
    del sink
    body = _put_get(client, ep, f"{ep.prefix}/table.parquet", body)
    return pq.read_table(pa.BufferReader(body))


def _polars_floor_round_trip(client: Any, ep: Endpoint, frame: Any) -> Any:
    import polars as pl

    buf = io.BytesIO()
    frame.write_parquet(buf, compression="uncompressed" if ep.codec == "none" else ep.codec)
    body = buf.getvalue()
    del buf
    body = _put_get(client, ep, f"{ep.prefix}/polars.parquet", body)
    return pl.read_parquet(io.BytesIO(body))


def stored_bytes(ep: Endpoint) -> int:
    """Bytes under this round trip's prefix (what the path left in S3)."""
    pages = ep.client().get_paginator("list_objects_v2").paginate(Bucket=ep.bucket, Prefix=ep.prefix + "/")
    return sum(obj["Size"] for page in pages for obj in page.get("Contents", []))


def cleanup(ep: Endpoint) -> None:
    """Delete this round trip's objects, so the in-memory server does not grow run after run."""
    client = ep.client()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=ep.bucket, Prefix=ep.prefix + "/"):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=ep.bucket, Delete={"Objects": keys})
