"""Deciding what a download that failed its check is: damaged on the wire (read it again) or in storage (stop).

Its own module so the retry loop never calls back into its callers: :mod:`xcom_s3.store` and :mod:`xcom_s3.transfer`
check the bytes inside their request and raise what this decides; :func:`xcom_s3.retry.attempts` only counts.
"""

from __future__ import annotations

from typing import NoReturn

from xcom_s3 import failures
from xcom_s3.retry import Corrupt
from xcom_s3.settings import Settings


def reject_download(settings: Settings, key: str, problem: str, actual: str, seen: list[str]) -> NoReturn:
    """A download that failed its check: retry it (:class:`Corrupt`), unless the same wrong bytes came twice.

    ``seen`` holds the sha256 of each earlier wrong read of this download (the caller keeps it across attempts).
    """
    if actual in seen:  # the same wrong bytes twice: stored that way, not damaged on the wire
        raise failures.damaged(settings, key, problem)
    seen.append(actual)
    raise Corrupt(problem)
