"""Keys of 3.4's per-task-instance and per-write locations parse back to what built them, and a key that is not one
of ours is refused with a message naming it: gc and the readers parse keys the running code did not build.

(test_robust_ids checks the round trip of 2.x-3.3 contexts, whose instance segment is the map index.)
"""

from __future__ import annotations

import dataclasses

import pytest
import strategies
from hypothesis import given
from hypothesis import strategies as st
from xcom_compat import XComContext
from xcom_s3.keys import EXTENSIONS, object_key, parse_object_key

PREFIX = "xcom/team a"

#: Checks of xcom_s3's own modules: n/a when another backend is selected.
pytestmark = pytest.mark.ours_only


@given(ctx=strategies.contexts(), ti_id=strategies.ids(), ext=st.sampled_from(EXTENSIONS))
def test_a_task_instance_key_parses_back_to_its_task_instance(ctx: XComContext, ti_id: str, ext: str) -> None:
    """3.4 loop iterations share map indexes: the key holds the task instance id instead, and only it."""
    built = dataclasses.replace(ctx, ti_id=ti_id)
    key = object_key(PREFIX, built, ext)
    assert key.split("/")[-2].startswith("ti-")
    assert parse_object_key(key, PREFIX) == (dataclasses.replace(built, map_index=None), ext)


@given(ctx=strategies.contexts(), ext=st.sampled_from(EXTENSIONS))
def test_a_per_write_key_is_new_each_time_and_parses_as_per_write(ctx: XComContext, ext: str) -> None:
    written = dataclasses.replace(ctx, per_write=True)
    first, second = object_key(PREFIX, written, ext), object_key(PREFIX, written, ext)
    assert first != second
    for key in (first, second):
        assert key.split("/")[-2].startswith("write-")
        assert parse_object_key(key, PREFIX) == (dataclasses.replace(written, map_index=None), ext)


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("other/d/r/t/-1/k.json", "'other/d/r/t/-1/k.json' is not under the prefix 'xcom/team a'"),
        ("xcom/team a/d/r/t/k.json", "'xcom/team a/d/r/t/k.json' is not a run-scoped XCom key (<dag>/<run>/<task>/"),
        ("xcom/team a/d/r/t/-1/k.csv", "'xcom/team a/d/r/t/-1/k.csv' has none of the extensions ('json.zst', "),
    ],
)
def test_a_key_that_is_not_ours_is_refused_by_name(key: str, problem: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_object_key(key, PREFIX)
    assert str(refused.value).startswith(problem)
