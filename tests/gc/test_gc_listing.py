"""gc lists the whole prefix, page after page: S3 answers ListObjectsV2 1000 keys at a time, and an object on a
later page must be judged like one on the first (an orphan there deleted, a referenced one kept).

The pages are made small by the answering proxy (s3_answers: ``list_page`` sets the request's ``max-keys``), so the
three objects of test_gc_cli's bucket fixture take three pages.
"""

from __future__ import annotations

from typing import Any

import test_gc_cli
from s3_answers import S3Answers
from test_gc_cli import Bucket
from test_gc_console_script import _summary, script

#: test_gc_cli's and test_gc_console_script's fixtures, taken by name.
answers, bucket, metadata_db = test_gc_cli.answers, test_gc_cli.bucket, test_gc_cli.metadata_db
__all__ = ["answers", "bucket", "metadata_db", "script"]


def _list_requests(answers: S3Answers) -> list[str]:
    return [path for method, path, _ in answers.seen if method == "GET" and "list-type=2" in path]


def test_every_page_of_the_listing_is_judged(script: Any, bucket: Bucket, answers: S3Answers, xcom_s3_env: Any) -> None:
    """One key per page: gc asks for each page in turn (continuing from the last), deletes both orphans and keeps
    the referenced object, wherever each stands in the listing."""
    answers.list_page = 1
    ran = script("gc", "--older-than", "0s")
    assert ran.code == 0 and ran.err == [], ran
    assert _summary(ran.out).startswith("scanned 3 objects: 1 referenced, ")
    assert _summary(ran.out).endswith("; deleted 2, 0 failed")
    assert xcom_s3_env.keys() == [bucket.kept]
    pages = _list_requests(answers)
    assert len(pages) == 3 and all("max-keys=1" in page for page in pages), pages
    assert "continuation-token=" not in pages[0] and all("continuation-token=" in page for page in pages[1:]), pages


def test_a_dry_run_lists_every_page(script: Any, bucket: Bucket, answers: S3Answers, xcom_s3_env: Any) -> None:
    answers.list_page = 2
    ran = script("gc", "--older-than", "0s", "--dry-run")
    assert ran.code == 0 and ran.err == [], ran
    assert sorted(line for line in ran.out if line.startswith("would delete ")) == [
        f"would delete s3://{xcom_s3_env.endpoint.bucket}/{key}" for key in bucket.orphans
    ]
    assert _summary(ran.out).startswith("scanned 3 objects: 1 referenced, ")
    assert len(_list_requests(answers)) == 2
    assert len(xcom_s3_env.keys()) == 3
