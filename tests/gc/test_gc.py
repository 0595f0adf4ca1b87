"""`xcom-s3 gc`: unreferenced objects older than the cut-off go; referenced, named and young ones stay.

gc deletes data, so besides today's references it is fed what older backend versions, users and other writers
leave in the metadata DB: every object any of it names must survive, and only the true orphan goes.
"""

from __future__ import annotations

import json
import pickle
from datetime import datetime, timedelta, timezone
from typing import Any

import airflow_io
import pytest
from xcom_compat import XComContext

LATER = timedelta(days=8)


def _ctx(task_id: str) -> XComContext:
    return XComContext(key="return_value", task_id=task_id, dag_id="gc_dag", run_id="manual__1", map_index=-1)


def _offload(backend: Any, task_id: str) -> Any:
    """Push a value big enough to go to S3; return what the DB would hold for it."""
    return airflow_io.through_db(airflow_io.store(backend, {"rows": list(range(64))}, _ctx(task_id)))


@pytest.fixture
def backend(xcom_s3_env: Any) -> Any:
    from xcom_s3 import S3XComBackend

    xcom_s3_env.set("threshold", 64)
    return S3XComBackend


def _settings() -> Any:
    from xcom_s3.settings import Settings

    return Settings.from_airflow()


def _as_db_column(stored: Any) -> Any:
    """What a raw ``SELECT value FROM xcom`` returns: bytes (2.x), JSON text (3.x SQLite) or a dict (3.x Postgres)."""
    return stored if isinstance(stored, bytes) else json.dumps(stored)


def _collect(rows: list[Any], *, dry_run: bool = False) -> Any:
    from xcom_s3 import gc

    later = datetime.now(timezone.utc) + LATER
    return gc.collect(_settings(), rows, older_than=timedelta(days=7), dry_run=dry_run, now=later)


def test_orphans_are_deleted_and_referenced_objects_kept(backend: Any, xcom_s3_env: Any) -> None:
    kept, _orphaned = _offload(backend, "kept"), _offload(backend, "orphaned")
    inline_row = airflow_io.through_db(airflow_io.store(backend, 1, _ctx("small")))
    assert len(xcom_s3_env.keys()) == 2
    rows = [_as_db_column(kept), _as_db_column(inline_row)]  # the orphan's row was removed by e.g. db clean

    dry = _collect(rows, dry_run=True)
    assert (dry.scanned, dry.kept, dry.deleted, dry.failed) == (2, {"referenced": 1}, [], [])
    assert [k.split("/")[-3] for k in dry.orphans] == ["orphaned"]
    assert len(xcom_s3_env.keys()) == 2, "a dry run deletes nothing"

    done = _collect(rows)
    assert done.deleted == dry.orphans and done.failed == []
    assert "deleted 1, 0 failed" in done.summary(dry_run=False)
    remaining = xcom_s3_env.keys()
    assert [k.split("/")[-3] for k in remaining] == ["kept"]
    assert airflow_io.load(backend, kept) == {"rows": list(range(64))}


def test_young_objects_are_never_taken(backend: Any, xcom_s3_env: Any) -> None:
    from xcom_s3 import gc

    _offload(backend, "just_written")
    report = gc.collect(_settings(), [], older_than=timedelta(hours=1), dry_run=False)
    assert (report.kept, report.deleted) == ({"too young": 1}, [])
    assert len(xcom_s3_env.keys()) == 1


def test_references_are_read_from_every_column_type(backend: Any) -> None:
    from xcom_s3 import gc

    stored = _offload(backend, "t")
    ref = stored if isinstance(stored, dict) else json.loads(stored)
    key = ref["uri"].split("/", 3)[3]
    settings = _settings()
    for column in (json.dumps(ref).encode(), json.dumps(ref), ref, memoryview(json.dumps(ref).encode())):
        assert gc.Keep.read([column], settings).why(key) == "referenced", column
    assert gc.Keep.read([b"\x80pickle", "not json", None, 3, [1, "x"]], settings).why(key) is None


#: A key under the test's prefix, in each layout some backend version wrote (keys.py's history), plus user data.
OLD_KEYS = {
    "map_index": "gc_dag/manual__1/old_task/-1/return_value.json.zst",  # 2.x-3.3 layout
    "ti_id": "gc_dag/manual__1/t34/ti-0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/return_value.parquet",  # 3.4
    "tilde": "gc_dag~v1/manual__1/t/-1/return_value.json",  # "~" left unquoted before 5a94c1b
    "unscoped": "_unscoped/0d4f2a7c9b8e4f6a8c1d2e3f4a5b6c7d.json.gz",  # serialize_value without a context
    "slash_escaped": "gc_dag/manual__1/escaped/-1/return_value.json",
    "user_string": "user/named_in_a_string.json",
    "user_dict": "user/named_in_a_dict.json",
    "naive": "user/naive_style.json",
    "pickled": "user/pickled.parquet",
    "truncated": "gc_dag/manual__1/cut/-1/return_value.json",
    "other_bucket": "gc_dag/manual__1/moved/-1/return_value.json",
}


def _old_reference(bucket: str, key: str) -> dict[str, Any]:
    """A reference as the first backend version wrote it: no frame shape, no raw size (only ever format 1)."""
    uri = f"s3://{bucket}/{key}"
    return {"__xcom_s3__": 1, "kind": "ref", "uri": uri, "format": "json", "codec": "zstd", "size": 9, "sha256": "0"}


def _stored_mentions(bucket: str, prefix: str) -> list[Any]:
    """What a metadata DB may hold naming each of OLD_KEYS, in the column forms of every release."""
    k = {name: f"{prefix}/{rest}" for name, rest in OLD_KEYS.items()}
    ref = _old_reference
    escaped = {"__xcom_s3__": 1, "kind": "escaped", "value": f"s3://{bucket}/{k['user_string']}"}
    escaped_dict = {"__xcom_s3__": 1, "kind": "escaped", "value": ref(bucket, k["user_dict"])}
    return [
        json.dumps(ref(bucket, k["map_index"])).encode(),  # 2.x: bytes
        json.dumps(ref(bucket, k["ti_id"])),  # 3.x SQLite: JSON text
        ref(bucket, k["tilde"]),  # 3.x PostgreSQL: the document
        memoryview(json.dumps(ref(bucket, k["unscoped"]), separators=(",", ":")).encode()),  # 2.x PostgreSQL: bytea
        json.dumps(ref(bucket, k["slash_escaped"])).replace("/", "\\/"),  # another JSON encoder's escapes
        json.dumps(escaped).encode(),  # a user's look-alike string, escaped: names an object under the prefix
        escaped_dict,  # a user's dict that looks like a reference, escaped
        json.dumps(f"xcom_s3://{k['naive']}"),  # a seed-style backend's reference string
        pickle.dumps({"path": f"s3://{bucket}/{k['pickled']}"}),  # 2.x with enable_xcom_pickling
        json.dumps(ref(bucket, k["truncated"]))[:-40].encode(),  # cut short: not JSON any more
        ref("another-bucket", k["other_bucket"]),  # the same key in another bucket
    ]


def test_objects_named_by_older_references_and_lookalikes_survive(backend: Any, xcom_s3_env: Any) -> None:
    """Everything any stored value names is kept (referenced or mentioned); the one object nothing names goes."""
    settings = _settings()
    client, bucket, prefix = xcom_s3_env.client, settings.bucket, settings.prefix
    orphan = f"{prefix}/gc_dag/manual__1/gone/-1/return_value.json"
    for key in [*(f"{prefix}/{rest}" for rest in OLD_KEYS.values()), orphan]:
        client.put_object(Bucket=bucket, Key=key, Body=b"{}")
    rows = _stored_mentions(bucket, prefix)

    report = _collect(rows)

    assert report.deleted == [orphan] and report.failed == []
    assert sorted(xcom_s3_env.keys()) == sorted(f"{prefix}/{rest}" for rest in OLD_KEYS.values())
    assert report.kept == {"referenced": 5, "mentioned": len(OLD_KEYS) - 5}


#: Values carrying the marker in a format this gc does not read: a newer version, an unknown kind, an odd version.
UNREADABLE_FORMATS = [
    {"__xcom_s3__": 2, "kind": "ref", "location": {"bucket": "b", "parts": ["gc_dag", "run"]}},
    {"__xcom_s3__": 1, "kind": "chunked", "uris": []},
    {"__xcom_s3__": "1", "kind": "ref"},
]


def test_a_format_gc_cannot_read_stops_it_before_any_delete(backend: Any, xcom_s3_env: Any) -> None:
    """A newer backend may name its objects in a way gc cannot see: it deletes nothing rather than guess."""
    from xcom_s3 import gc

    _offload(backend, "possibly_referenced")
    for marked in UNREADABLE_FORMATS:
        for column in (json.dumps(marked).encode(), json.dumps(marked), marked):
            with pytest.raises(gc.UnknownFormatError) as refused:
                _collect([column])
            assert "deletes nothing" in str(refused.value) and "format" in str(refused.value), marked
    assert len(xcom_s3_env.keys()) == 1


@pytest.mark.parametrize(
    ("text", "expected"), [("7d", timedelta(days=7)), ("12h", timedelta(hours=12)), ("90", timedelta(seconds=90))]
)
def test_ages_parse(text: str, expected: timedelta) -> None:
    from xcom_s3.gc import parse_age

    assert parse_age(text) == expected
