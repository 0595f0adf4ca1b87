"""``python -m xcom_s3 gc`` on the e2e scenario's real metadata DB, after its real DAG runs and reruns.

The release's own tables (``xcom``, or 3.4's ``xcom_v1`` and ``xcom_v2``), on SQLite or PostgreSQL
(XCOM_S3_TEST_DB), read by gc through Airflow's session with the scenario's environment: a dry run lists exactly
the objects no row references (the planted orphan, and what a rerun left where the release skips purge) and
deletes nothing; the real run deletes those and only those. The scenario is test_e2e_dag.py's (session-scoped):
its checks read the snapshots taken before, and nothing here touches the DB.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

import pytest
from e2e_fixtures import Rerun, Scenario
from e2e_s3 import list_keys

pytestmark = [pytest.mark.e2e, pytest.mark.ours_only]


@dataclass
class GcRuns:
    """What the DB references, what was planted, and gc's answers with the objects under the prefix around them."""

    #: the XCom tables the DB has (written out here, not taken from xcom_s3.xcom_table, which gc reads them by)
    tables: list[str]
    referenced: set[str]
    planted: str
    outside: str
    dry: subprocess.CompletedProcess[str]
    real: subprocess.CompletedProcess[str]
    #: the keys under the prefix "before", "after the dry run" and "after"; "everything after": the whole bucket
    listed: dict[str, set[str]]

    @property
    def orphans(self) -> set[str]:
        return self.listed["before"] - self.referenced


def _run_gc(scenario: Scenario, *args: str) -> subprocess.CompletedProcess[str]:
    """The operator's command, in the scenario's Airflow environment (its DB setting, its backend settings)."""
    home = scenario.home
    argv = [home.python, "-m", "xcom_s3", "gc", "--older-than", "0s", *args]
    return subprocess.run(argv, env=home.env(), cwd=home.home, capture_output=True, text=True, timeout=600)


def _listed(output: str, verb: str, bucket: str) -> set[str]:
    return {m.group(1) for m in re.finditer(rf"^{verb} s3://{re.escape(bucket)}/(\S+)$", output, re.M)}


@pytest.fixture(scope="module")
def gc_runs(e2e_scenario: Scenario, e2e_rerun: Rerun) -> GcRuns:
    """Plant an orphan under the prefix and an object beside it, then gc --dry-run, then gc."""
    scenario, db = e2e_scenario, e2e_scenario.home.db
    client, bucket, prefix = scenario.endpoint.client(), scenario.bucket, scenario.prefix
    planted, outside = f"{prefix}/gc-e2e/orphan.json", f"{prefix}-outside/gc-e2e/kept.json"
    for key in (planted, outside):
        client.put_object(Bucket=bucket, Key=key, Body=b"{}")
    uris = [row.decoded["uri"] for row in db.xcom_rows() if row.is_reference]
    referenced = {uri.removeprefix(f"s3://{bucket}/") for uri in uris}

    listed: dict[str, set[str]] = {}

    def listing(moment: str) -> None:
        keys = set(list_keys(client, bucket))
        listed[moment] = {key for key in keys if key.startswith(prefix + "/")}
        listed[f"everything {moment}"] = keys

    listing("before")
    dry = _run_gc(scenario, "--dry-run")
    listing("after the dry run")
    real = _run_gc(scenario)
    listing("after")
    tables = [table for table in ("xcom", "xcom_v1", "xcom_v2") if db.has_table(table)]
    return GcRuns(tables, referenced, planted, outside, dry, real, listed)


def test_gc_reads_the_release_tables(e2e_scenario: Scenario, gc_runs: GcRuns) -> None:
    """3.4 keeps XComs in xcom_v1/xcom_v2 (no ``xcom`` table): gc must find the references there."""
    expected = ["xcom_v1", "xcom_v2"] if e2e_scenario.home.version >= (3, 4, 0) else ["xcom"]
    assert gc_runs.tables == expected, e2e_scenario.home.db.url
    assert gc_runs.referenced, "the scenario left no reference: nothing here would show gc keeping one"
    assert gc_runs.referenced <= gc_runs.listed["before"], "a reference names an object that is not in S3"


def test_dry_run_lists_exactly_the_orphans_and_deletes_nothing(e2e_scenario: Scenario, gc_runs: GcRuns) -> None:
    dry = gc_runs.dry
    assert dry.returncode == 0, dry.stderr
    assert gc_runs.planted in gc_runs.orphans
    assert _listed(dry.stdout, "would delete", e2e_scenario.bucket) == gc_runs.orphans, dry.stdout
    summary = f"{len(gc_runs.referenced)} referenced, 0 named by other stored values (kept)"
    assert summary in dry.stdout and f"would delete {len(gc_runs.orphans)}" in dry.stdout, dry.stdout
    assert gc_runs.listed["after the dry run"] == gc_runs.listed["before"]


def test_gc_deletes_the_orphans_and_keeps_every_referenced_object(e2e_scenario: Scenario, gc_runs: GcRuns) -> None:
    real = gc_runs.real
    assert real.returncode == 0, real.stderr
    assert _listed(real.stdout, "deleted", e2e_scenario.bucket) == gc_runs.orphans, real.stdout
    assert f"deleted {len(gc_runs.orphans)}, 0 failed" in real.stdout, real.stdout
    assert gc_runs.listed["after"] == gc_runs.referenced
    assert gc_runs.outside in gc_runs.listed["everything after"], "gc touched an object outside its prefix"
