"""``python -m xcom_s3``: operator commands for the S3 XCom backend."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from xcom_s3 import xcom_table
from xcom_s3.errors import XComS3Error

if TYPE_CHECKING:
    from xcom_s3.gc import GcReport
    from xcom_s3.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m xcom_s3",
        description="Operator commands for the S3 XCom backend. Settings come from Airflow's config "
        "([xcom_s3] / AIRFLOW__XCOM_S3__*), exactly as the workers read them.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    gc = commands.add_parser(
        "gc",
        help="delete objects under the prefix that no XCom row references any more",
        description="Delete objects under the configured prefix that no XCom row of Airflow's metadata DB "
        "references any more: what `airflow db clean`, Dag-run deletion and UI/REST deletes leave behind, since "
        "Airflow calls no purge for them. Run it where `airflow db check` works (it reads the XCom tables of the DB "
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN names: xcom, or xcom_v1 and xcom_v2 on 3.4). An object whose key any "
        "stored value mentions is kept.",
        epilog="Exit status: 0 done; 1 gc could not finish, or S3 declined to delete some objects (each is listed, "
        "with what to do); 2 bad arguments.",
    )
    gc.add_argument(
        "--older-than",
        default="7d",
        metavar="AGE",
        help="only objects last written longer ago than this (e.g. 7d, 12h, 30m; default: %(default)s), so a "
        "value whose row is being written right now is never taken",
    )
    gc.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    return parser


def _import_airflow_xcom() -> None:
    """Let Airflow resolve the configured backend before anything of ours imports compat (which imports Airflow's
    XCom module): the other order is circular on 2.x, where that module resolves the backend as it imports. Its own
    copy, not the tests' airflow_release.import_airflow_xcom: the backend is vendored without the tests."""
    try:
        import airflow.sdk.execution_time.xcom
    except ImportError:
        import airflow.models.xcom  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        _import_airflow_xcom()
    except Exception as exc:  # Airflow cannot start here: its configuration is wrong, not gc (no traceback)
        problem = f"Airflow could not start with this configuration ({xcom_table.one_line(exc)})"
        print(f"error: {xcom_table.unreadable(problem)}", file=sys.stderr)
        return 1
    from xcom_s3 import gc
    from xcom_s3.settings import Settings

    try:
        older_than = gc.parse_age(args.older_than)
    except ValueError as exc:
        print(f"error: --older-than: {exc}", file=sys.stderr)
        return 2
    report = gc.GcReport()
    try:
        settings = Settings.from_airflow()
    except XComS3Error as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        gc.collect(
            settings, gc.stored_values_from_metadata_db(), older_than=older_than, dry_run=args.dry_run, report=report
        )
    except XComS3Error as exc:
        if not args.dry_run:  # what was deleted before the failure (a dry run's partial listing means nothing)
            _show(report, settings, dry_run=False)
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _show(report, settings, args.dry_run)
    print(report.summary(args.dry_run))
    if report.failed:
        print(f"error: {gc.failure_message(report, settings)}", file=sys.stderr)
        return 1
    return 0


def _show(report: GcReport, settings: Settings, dry_run: bool) -> None:
    """One line per object gc would delete, deleted, or could not delete (this one on stderr, with S3's answer)."""
    if dry_run:
        for key in report.orphans:
            print(f"would delete s3://{settings.bucket}/{key}")
        return
    for key in report.deleted:
        print(f"deleted s3://{settings.bucket}/{key}")
    for failure in report.failed:
        print(
            f"could not delete s3://{settings.bucket}/{failure.key}: {failure.code}: {failure.message}",
            file=sys.stderr,
        )
    for key in report.unsettled:
        print(
            f"not known whether deleted s3://{settings.bucket}/{key}: S3 declined a key of its batch without "
            "naming it, and looking the key up failed",
            file=sys.stderr,
        )


if __name__ == "__main__":
    sys.exit(main())
