"""Airflow's default backend and common-io's XComObjectStorageBackend (and ours, the control) through the
any-backend checks of ``properties/checks.py``, with a few explicit inputs each. Which check each backend fails
on which release is asserted from ``expectations.py``: an expected failure is reported as xfail with its reason,
an unexpected pass or an unexpected failure fails the test."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import findings
import pytest
from airflow_io import store, through_db
from properties import checks
from properties.stored import attempt
from xcom_compat import XComContext

from reference.backends import BACKENDS, THRESHOLD, Subject
from reference.expectations import CHECKS, ENV, expectation

CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="manual__2024-01-01T00:00:00+00:00", map_index=-1)
OTHER = XComContext(key="copy", task_id="u", dag_id="d", run_id="manual__2024-01-01T00:00:00+00:00", map_index=-1)
MAPPED = XComContext(key="return_value", task_id="m", dag_id="d", run_id="r", map_index=3)
BIG = "x" * (4 * THRESHOLD)

ROUND_TRIP = [
    "123",
    "true",
    "",
    {"a": [1, 2.5, None, True], "b": {"c": "é😀"}},
    ("a", 1),
    dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
    {"pad": BIG, "n": 1},
    ("pad", BIG),
]
REJECTED = [object(), {"v": float("inf")}, {"v": float("-inf"), "pad": BIG}]
LOOKALIKES = [
    "s3://xcom-s3-test/xcom/d/r/t/-1/k.json.zst",
    "xcom_s3://x",
    {"__xcom_s3__": 1, "kind": "ref", "uri": "s3://elsewhere/x"},
    ["s3://bucket/key"],
]


def _round_trip(subject: Subject) -> None:
    for value in ROUND_TRIP:
        checks.round_trips_as_default(subject.backend, value, CTX)


def _rejects(subject: Subject) -> None:
    for value in REJECTED:
        checks.round_trips_as_default(subject.backend, value, CTX)


def _lookalikes(subject: Subject) -> None:
    for value in LOOKALIKES:
        checks.lookalike_comes_back(subject.backend, value, CTX)


def _own_reference(subject: Subject) -> None:
    original = {"pad": BIG}
    first = through_db(store(subject.backend, original, CTX))
    checks.reference_pushed_as_a_value_is_just_a_value(subject.backend, subject.storage, first, CTX, original, OTHER)


def _frames(subject: Subject) -> None:
    import pandas as pd

    index = pd.Index([10, 20, 30], name="row")
    frame = pd.DataFrame(
        {
            "i": [1, 2, 3],
            "f": [0.5, None, 2.0],
            "s": ["a", "b", None],
            "o": pd.Series(["a", "b", "c"], dtype=object, index=index),  # pandas 2's inference; 3 infers "str"
            "t": pd.to_datetime(["2024-01-01", "2024-01-02", None]),
            "c": pd.Categorical(["x", "y", "x"]),
        },
        index=index,
    )
    checks.frame_round_trips(subject.backend, frame, CTX)
    # An empty categorical keeps its categories (the property suite's explicit example; serde drops them).
    checks.frame_round_trips(subject.backend, pd.DataFrame({"c": pd.Categorical([], categories=["a", "b"])}), CTX)


def _purge(subject: Subject) -> None:
    pushes = [(CTX, {"pad": BIG, "i": 0}), (OTHER, {"pad": BIG, "i": 1}), (MAPPED, {"small": 1})]
    checks.purge_removes_only_its_own(subject.backend, subject.storage, pushes, victim=0)


def _repeat_push(subject: Subject) -> None:
    checks.repeat_push_leaves_one_copy(
        subject.backend, subject.storage, MAPPED, {"try": 1, "pad": BIG}, {"try": 2, "pad": BIG}
    )


def _offloads(subject: Subject) -> None:
    checks.large_values_leave_a_small_row(subject.backend, {"pad": "y" * (64 * THRESHOLD)}, CTX)


RUN: dict[str, Callable[[Subject], None]] = {
    "round_trip": _round_trip,
    "rejects": _rejects,
    "lookalikes": _lookalikes,
    "own_reference": _own_reference,
    "frames": _frames,
    "purge": _purge,
    "repeat_push": _repeat_push,
    "offloads": _offloads,
}
assert set(RUN) == set(CHECKS), "every check in expectations.CHECKS needs a runner here, and only those"


@pytest.mark.parametrize("check", list(CHECKS))
@pytest.mark.parametrize("name", list(BACKENDS))
def test_reference_backend(request, name, check):
    subject = BACKENDS[name](request)
    expected = expectation(name, check)
    outcome = attempt(RUN[check], subject)
    if expected is None:
        if outcome.error is not None:
            raise AssertionError(
                f"{name} was expected to pass {check!r} ({CHECKS[check]}) on {ENV}: {outcome.error}"
            ) from outcome.error
        return
    if outcome.ok:
        pytest.fail(
            f"{name} passed {check!r} on {ENV}, but expectations.py says it fails there ({expected.where}): "
            f"{expected.why}. Fix the table (or find what changed)."
        )
    message = f"{type(outcome.error).__name__}: {outcome.error}"
    assert re.search(expected.match, message, flags=re.S), (
        f"{name} failed {check!r} on {ENV} as expected, but not for the expected reason {expected.match!r}: "
        f"{message[:600]}"
    )
    cause = findings.classify(message)[0]
    assert cause == expected.cause, (
        f"{name} failed {check!r} on {ENV} as expected, but the findings would diagnose it as {cause!r}, not "
        f"{expected.cause!r} (tests/findings.py RULES): {message[:300]}"
    )
    pytest.xfail(f"{name} fails {check} on {expected.where}: {expected.why}")
