"""What ``python -m xcom_s3 --help`` and ``gc --help`` tell an operator, word for word.

The help is the command's manual: where the settings come from, what gc deletes and keeps, the default age and
the exit statuses. Each sentence is pinned whole (whitespace collapsed: argparse wraps to the terminal's width, and
its section titles differ between Pythons), so a cut or changed sentence fails here, not in an operator's shell.
"""

from __future__ import annotations

import pytest

TOP_DESCRIPTION = (
    "Operator commands for the S3 XCom backend. Settings come from Airflow's config "
    "([xcom_s3] / AIRFLOW__XCOM_S3__*), exactly as the workers read them."
)
GC_SUMMARY = "delete objects under the prefix that no XCom row references any more"
GC_DESCRIPTION = (
    "Delete objects under the configured prefix that no XCom row of Airflow's metadata DB references any more: what "
    "`airflow db clean`, Dag-run deletion and UI/REST deletes leave behind, since Airflow calls no purge for them. "
    "Run it where `airflow db check` works (it reads the XCom tables of the DB AIRFLOW__DATABASE__SQL_ALCHEMY_CONN "
    "names: xcom, or xcom_v1 and xcom_v2 on 3.4). An object whose key any stored value mentions is kept."
)
GC_EPILOG = (
    "Exit status: 0 done; 1 gc could not finish, or S3 declined to delete some objects (each is listed, with what "
    "to do); 2 bad arguments."
)
OLDER_THAN = (
    "--older-than AGE only objects last written longer ago than this (e.g. 7d, 12h, 30m; default: 7d), so a value "
    "whose row is being written right now is never taken"
)
DRY_RUN = "--dry-run list what would be deleted, delete nothing"


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The help ``argv`` prints (exit status 0), whitespace collapsed."""
    from xcom_s3.__main__ import main

    with pytest.raises(SystemExit) as exited:
        main([*argv, "--help"])
    assert exited.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def test_top_level_help_names_the_command_and_where_settings_come_from(capsys: pytest.CaptureFixture[str]) -> None:
    shown = _help(capsys)
    assert shown.startswith("usage: python -m xcom_s3 ")
    assert TOP_DESCRIPTION in shown
    assert f"gc {GC_SUMMARY}" in shown


@pytest.mark.parametrize("sentence", [GC_DESCRIPTION, GC_EPILOG, OLDER_THAN, DRY_RUN])
def test_gc_help_says_what_is_deleted_kept_and_returned(capsys: pytest.CaptureFixture[str], sentence: str) -> None:
    shown = _help(capsys, "gc")
    assert shown.startswith("usage: python -m xcom_s3 gc [-h] [--older-than AGE] [--dry-run]")
    assert sentence in shown


def test_no_command_is_a_usage_error_naming_what_is_missing(capsys: pytest.CaptureFixture[str]) -> None:
    from xcom_s3.__main__ import main

    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
    assert "error: the following arguments are required: command" in capsys.readouterr().err
