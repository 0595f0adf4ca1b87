"""compat's version flags: how a version string is read, and what ``capabilities()`` derives from it.

``_base_version`` runs once, at import; these call it directly, so a wrong reading fails here and not only as a
wrong branch somewhere else. ``purge_called_for_mapped`` is checked against the release's number, since no BaseXCom
attribute shows 3.0.x's unpurged mapped tasks (test_errors checks the other capabilities against BaseXCom).
"""

from __future__ import annotations

import pytest
import xcom_compat

#: Checks of this repository's compat module: n/a when another backend (with its own copy) is selected.
pytestmark = pytest.mark.ours_only


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2.10.5", (2, 10, 5)),
        ("3.4.0b2", (3, 4, 0)),
        ("3.1.0rc1", (3, 1, 0)),
        ("2.11.2+astro.1", (2, 11, 2)),
        ("3.1+build.7", (3, 1, 0)),
        ("3.0.6.post1+composer", (3, 0, 6)),
        ("3", (3, 0, 0)),
        ("3.2", (3, 2, 0)),
        ("3.3.2.dev0", (3, 3, 2)),
    ],
)
def test_a_version_string_reads_as_major_minor_patch(text: str, expected: tuple[int, int, int]) -> None:
    assert xcom_compat._base_version(text) == expected


def test_mapped_tasks_are_purged_on_2_9_and_from_3_1() -> None:
    """2.9 added purge; 3.0.x's task runner forgets map_index when it clears, so mapped tasks are purged nowhere."""
    version = xcom_compat.AIRFLOW_VERSION
    expected = version >= (2, 9, 0) and not ((3, 0, 0) <= version < (3, 1, 0))
    assert xcom_compat.capabilities().purge_called_for_mapped == expected
