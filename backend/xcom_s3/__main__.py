"""``python -m xcom_s3``: operator commands for the S3 XCom backend."""

from __future__ import annotations

import argparse
import sys

from xcom_s3.errors import XComS3Error


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
        description="Delete objects under the configured prefix that no row of Airflow's xcom table references "
        "any more: what `airflow db clean`, Dag-run deletion and UI/REST deletes leave behind, since Airflow "
        "calls no purge for them. Run it where `airflow db` commands work (it reads the metadata DB).",
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
    XCom module): the other order is circular on 2.x, where that module resolves the backend as it imports."""
    try:
        import airflow.sdk.execution_time.xcom
    except ImportError:
        import airflow.models.xcom  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _import_airflow_xcom()
    from xcom_s3 import gc
    from xcom_s3.settings import Settings

    try:
        older_than = gc.parse_age(args.older_than)
    except ValueError as exc:
        print(f"error: --older-than: {exc}", file=sys.stderr)
        return 2
    try:
        settings = Settings.from_airflow()
        report = gc.collect(settings, gc.stored_values_from_metadata_db(), older_than=older_than, dry_run=args.dry_run)
    except XComS3Error as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for key in report.orphans:
        print(("would delete " if args.dry_run else "deleted ") + f"s3://{settings.bucket}/{key}")
    print(report.summary(args.dry_run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
