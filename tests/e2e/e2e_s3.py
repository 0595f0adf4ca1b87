"""List what the backend left in S3, with each object's checksum: used inside and outside Airflow processes.

Needs only boto3, which every matrix venv has; configured from the same ``AIRFLOW__XCOM_S3__*`` variables as
the backend, so it looks exactly where the backend wrote.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Mapping
from typing import Any


def client_from_env(env: Mapping[str, str] = os.environ) -> Any:
    """A path-style boto3 client for the backend's endpoint (credentials from boto3's usual chain)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=env.get("AIRFLOW__XCOM_S3__ENDPOINT_URL") or None,
        region_name=env.get("AIRFLOW__XCOM_S3__REGION") or None,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"}),
    )


def list_objects(client: Any, bucket: str, prefix: str) -> dict[str, dict[str, Any]]:
    """``{key: {"size", "sha256", "last_modified"}}`` for every object under ``prefix``."""
    found: dict[str, dict[str, Any]] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            found[obj["Key"]] = {
                "size": int(obj["Size"]),
                "sha256": hashlib.sha256(body).hexdigest(),
                "last_modified": obj["LastModified"].isoformat(),
            }
    return found


def list_keys(client: Any, bucket: str) -> list[str]:
    """Every key in ``bucket``, sorted: names only, for counting what a backend of unknown layout left."""
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [obj["Key"] for obj in page.get("Contents", [])]
    return sorted(keys)


def ensure_bucket(client: Any, bucket: str, region: str | None) -> None:
    """Create ``bucket`` unless it exists (moto starts empty; real buckets usually exist already)."""
    from botocore.exceptions import ClientError

    try:
        client.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region and region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    client.create_bucket(**kwargs)


def main(argv: list[str]) -> int:
    """``ensure-bucket``, ``list PREFIX`` or ``keys`` (JSON on stdout), for callers without boto3 (rehearsal.py)."""
    import json

    client, bucket = client_from_env(), os.environ["AIRFLOW__XCOM_S3__BUCKET"]
    if argv[:1] == ["ensure-bucket"]:
        ensure_bucket(client, bucket, os.environ.get("AIRFLOW__XCOM_S3__REGION"))
    elif argv[:1] == ["list"] and len(argv) == 2:
        print(json.dumps(list_objects(client, bucket, argv[1])))
    elif argv == ["keys"]:
        print(json.dumps(list_keys(client, bucket)))
    else:
        print("usage: e2e_s3.py ensure-bucket | list PREFIX | keys", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
