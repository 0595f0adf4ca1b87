"""compat's version flags: how a version string is read, and what ``capabilities()`` derives from it.

``_base_version`` runs once, at import; these call it directly, so a wrong reading fails here and not only as a
wrong branch somewhere else. ``purge_called_for_mapped`` is checked against the release's number, since no BaseXCom
attribute shows 3.0.x's unpurged mapped tasks (test_errors checks the other capabilities against BaseXCom), and
``capabilities_of`` is checked for every release's row, so a branch the installed release never takes is checked
on every entry too.
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


#: Per release: stored type, run context passed, purge called, purge called for mapped tasks, store_value API,
#: orm_deserialize_value called (../shared/docs/airflow-xcom-api.md).
RELEASES = {
    "2.2.5": ("bytes", False, False, False, False, True),
    "2.3.0": ("bytes", True, False, False, False, True),
    "2.3.4": ("bytes", True, False, False, False, True),
    "2.8.4": ("bytes", True, False, False, False, True),
    "2.9.0": ("bytes", True, True, True, False, True),
    "2.10.5": ("bytes", True, True, True, False, True),
    "3.0.0": ("json", True, True, False, False, False),
    "3.0.6": ("json", True, True, False, False, False),
    "3.1.0": ("json", True, True, True, False, False),
    "3.3.2": ("json", True, True, True, False, False),
    "3.4.0b2": ("json", True, True, True, True, False),
}


@pytest.mark.parametrize("version", sorted(RELEASES))
def test_each_release_offers_what_its_api_has(version: str) -> None:
    """Every release's row, whichever release is installed (a branch the installed one never takes is checked too)."""
    caps = xcom_compat.capabilities_of(version, "some.BaseXCom")
    shown = (
        caps.stored_type,
        caps.passes_run_context,
        caps.purge_called,
        caps.purge_called_for_mapped,
        caps.store_value_api,
        caps.orm_deserialize_value,
    )
    assert (caps.airflow_version, caps.base_class, shown) == (version, "some.BaseXCom", RELEASES[version])
