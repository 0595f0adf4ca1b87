"""The age cut-off: an object is too young while it was last written less than ``older_than`` ago, and an orphan
from the moment it is exactly that old (``--older-than 7d`` takes what was written 7 days ago to the second); ages
are read in every unit the help names (``7d``, ``12h``, ``30m``, ``45s``, any case) or as plain seconds.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from xcom_s3 import gc
from xcom_s3.settings import Settings

AGE = timedelta(minutes=30)


def test_an_object_exactly_as_old_as_the_cutoff_is_taken(xcom_s3_env: Any) -> None:
    settings = Settings.from_airflow()
    key = f"{settings.prefix}/d/r/t/-1/return_value.json"
    xcom_s3_env.client.put_object(Bucket=settings.bucket, Key=key, Body=b"{}")
    written = xcom_s3_env.client.head_object(Bucket=settings.bucket, Key=key)["LastModified"]

    young = gc.collect(settings, [], older_than=AGE, dry_run=True, now=written + AGE - timedelta(seconds=1))
    assert (young.kept, young.orphans) == ({"too young": 1}, [])
    due = gc.collect(settings, [], older_than=AGE, dry_run=True, now=written + AGE)
    assert (due.kept, due.orphans, due.orphan_bytes) == ({}, [key], 2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("30M", timedelta(minutes=30)),
        (" 1.5h ", timedelta(minutes=90)),
        ("45s", timedelta(seconds=45)),
        ("2D", timedelta(days=2)),
        ("0", timedelta(0)),
    ],
)
def test_every_unit_of_the_help_parses(text: str, expected: timedelta) -> None:
    assert gc.parse_age(text) == expected
