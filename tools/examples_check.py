"""Run the example backends (examples/) through the README's command and assert what the matrix finds in them.

    python tools/examples_check.py [SELECTION...] [--only NAME]... [--nox PATH] [-j N] [--no-run]
    nox -s examples -- [SELECTION...] [--only NAME]

Each example is a package of its own, brought in as a team brings its backend in from its own repository:

    nox -s matrix -- <ENTRIES> --backend MODULE.CLASS --install examples/<name> --backend-env NAME=TEMPLATE ...

with ``XCOM_S3_REPORTS_DIR=reports/examples/<name>``. The child prints its own table and findings (the nox run id
is removed from its environment); this script then reads ``findings.json`` and the entry reports and compares them
with EXPECTED below: the naive backend must fail for each of its known reasons, the portable one must be green
with nothing found. It prints the naive backend's findings section and the wall times, and exits non-zero with
the mismatches when the examples do not show what they should.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.matrix import entries, run_entry  # noqa: E402
from tools.matrix.selection import Selection  # noqa: E402
from tools.matrix.venvs import RUN_VAR  # noqa: E402

#: One 2.x and one 3.x entry: the naive backend breaks differently on each (3.x: every push raises).
ENTRIES = {"2.x": "af2.10.5-py3.11-pd2", "3.x": "af3.3.2-py3.12-pd2"}


@dataclasses.dataclass(frozen=True)
class Expect:
    """A root cause the example must show: its cause slug (regex), on which entry, in which checks."""

    on: str  #: "2.x" or "3.x" (a key of ENTRIES)
    cause: str  #: regex the cause slug must match
    check: str  #: regex one of the cause's checks must match
    summary: str  #: regex the summary or example must match ("" = any)
    why: str  #: the backend's mistake, for the message when the finding is missing
    severity: str = "error"  #: "error" (a failed check, with a fix) or "warning" (noted by a passing check)


@dataclasses.dataclass(frozen=True)
class Example:
    backend: str
    backend_env: tuple[str, ...]
    #: Every entry's expected status ("fail" / "pass").
    status: str
    #: Root causes that must be found; an example with none must have no error finding at all.
    expect: tuple[Expect, ...] = ()


# fmt: off
#: THE table: what each example must show on ENTRIES.
EXPECTED = {
    "naive_xcom": Example(
        backend="naive_xcom.NaiveS3XComBackend",
        backend_env=("S3_XCOM_BUCKET_NAME={bucket}",),
        status="fail",
        expect=(
            Expect("3.x", r"^push-rejects-keyword-context$", r"^properties/", r"unexpected keyword argument 'key'",
                   "the bare serialize_value(value): Airflow 3 passes the run context as keywords and patches nothing"),
            Expect("2.x", r"^frame-dtype-changes$", r"test_frames\.py", r"column '\w+' \S+ -> object",
                   "DataFrames through CSV: the dtypes are lost (category, string, datetime ... -> object)"),
            Expect("2.x", r"^(user-value-read-as-reference|lookalike-misread)$", r"test_lookalikes\.py", "",
                   "a user string starting with 'xcom_s3://' is read back as a reference"),
            Expect("2.x", r"^files-left-behind$", r"test_hygiene\.py", r"working directory",
                   "df.to_csv() / json.dump() to a file in the working directory, never removed"),
            Expect("2.x", r"^orphaned-objects$", r"^e2e/", "",
                   "uuid keys and no purge: a cleared and rerun task leaves its old object in S3"),
            Expect("2.x", r"^airflow-outdated-serializer-warning$", r"test_hygiene\.py", r"outdated signature",
                   "the bare serialize_value(value): Airflow 2 wraps it in a shim and warns", severity="warning"),
        ),
    ),
    "portable_xcom": Example(
        backend="portable_xcom.PortableS3XComBackend",
        backend_env=(
            "PORTABLE_XCOM_BUCKET={bucket}",
            "PORTABLE_XCOM_PREFIX={prefix}",
            "PORTABLE_XCOM_THRESHOLD=0",  # every value through S3: the path that has to be proven
        ),
        status="pass",
    ),
}
# fmt: on

MATRIX = entries.load(ROOT / "matrix.yaml")


def chosen_entries(words: list[str]) -> dict[str, str]:
    """The ENTRIES the matrix's selection words keep (``stable`` keeps both, ``3.3`` the 3.x one)."""
    selection = Selection.parse(words, MATRIX)
    by_id = {entry.id: entry for entry in MATRIX.runnable}
    return {on: entry_id for on, entry_id in ENTRIES.items() if selection.matches(by_id[entry_id])}


def command(nox: list[str], name: str, example: Example, jobs: int, chosen: dict[str, str]) -> list[str]:
    """The README's command for one example, on the chosen ENTRIES."""
    cmd = [*nox, *(["-j", str(jobs)] if jobs > 1 else []), "-s", "matrix", "--", *chosen.values()]
    cmd += ["--backend", example.backend, "--install", f"examples/{name}"]
    for item in example.backend_env:
        cmd += ["--backend-env", item]
    return cmd


def reports_dir(name: str) -> Path:
    """``<reports>/examples/<name>``: beside the matrix's own reports (XCOM_S3_REPORTS_DIR or reports/)."""
    return run_entry.reports_dir(ROOT) / "examples" / name


def run(nox: list[str], name: str, example: Example, jobs: int, chosen: dict[str, str]) -> float:
    """Run the example's command (its output goes straight to ours); return its wall seconds."""
    reports = reports_dir(name)
    reports.mkdir(parents=True, exist_ok=True)
    for stale in reports.glob("*"):
        if stale.is_file():
            stale.unlink()
    env = {k: v for k, v in os.environ.items() if k != RUN_VAR}
    env[run_entry.REPORTS_VAR] = str(reports)
    # Derandomized, so the expectations never depend on the examples hypothesis happened to draw.
    env.setdefault("HYPOTHESIS_PROFILE", "gate")
    cmd = command(nox, name, example, jobs, chosen)
    print(f"\n=== {name}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    started = time.monotonic()
    subprocess.run(cmd, cwd=ROOT, env=env, check=False)  # red entries are expected: judged below
    return time.monotonic() - started


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        return err


def verify(name: str, example: Example, chosen: dict[str, str]) -> list[str]:
    """The mismatches between what the example's run reported and EXPECTED[name]; [] when it matches."""
    reports = reports_dir(name)
    problems = []
    for on, entry in chosen.items():
        report = _read(reports / f"{entry}.json")
        if isinstance(report, Exception):
            problems.append(f"{entry}: no entry report ({report})")
            continue
        if report.get("status") != example.status:
            why = f" ({report.get('reason')})" if report.get("reason") else ""
            problems.append(f"{entry} ({on}): status {report.get('status')!r}{why}, expected {example.status!r}")
        if report.get("backend") != example.backend:
            problems.append(f"{entry}: the suite ran {report.get('backend') or 'xcom_s3'}, not {example.backend}")
        not_reached = [g["name"] for g in report.get("groups", []) if g.get("not_reached")]
        if example.status == "pass" and not_reached:
            problems.append(f"{entry}: checks never reached the backend in {', '.join(not_reached)}")
    found = _read(reports / "findings.json")
    if isinstance(found, Exception):
        return [*problems, f"no findings.json in {run_entry.shown(reports, ROOT)} ({found})"]
    causes = [c for c in found.get("root_causes", []) if c.get("backend") == example.backend]
    for expect in example.expect:
        if expect.on not in chosen:
            continue
        entry = chosen[expect.on]
        hits = [
            c
            for c in causes
            if re.search(expect.cause, c["cause"])
            and entry in c.get("entries", [])
            and any(re.search(expect.check, check) for check in c.get("checks", []))
            and (not expect.summary or re.search(expect.summary, f"{c['summary']} {c.get('example', '')}"))
        ]
        if not hits:
            seen = sorted({c["cause"] for c in causes if entry in c.get("entries", [])})
            problems.append(
                f"{expect.on} ({entry}): no finding /{expect.cause}/ in /{expect.check}/"
                f"{f' saying /{expect.summary}/' if expect.summary else ''}: {expect.why}. Causes found there: {seen}"
            )
        elif not any(c.get("severity") == expect.severity and c.get("fix") for c in hits):
            problems.append(f"{expect.on}: the finding /{expect.cause}/ is not {expect.severity} with a fix: {hits[0]}")
    if not example.expect:
        errors = [c for c in causes if c.get("severity") == "error"]
        problems += [f"unexpected finding ({', '.join(c['entries'])}): {c['summary']}" for c in errors]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("select", nargs="*", help="matrix selection words: which of ENTRIES run (default both)")
    parser.add_argument("--only", action="append", choices=sorted(EXPECTED), help="run only this example")
    parser.add_argument("--nox", default=str(ROOT / ".nox" / "_runner" / "bin" / "nox"), help="the nox to run")
    parser.add_argument("-j", "--jobs", type=int, default=len(ENTRIES), help="entries at once (nox -j)")
    parser.add_argument("--no-run", action="store_true", help="judge the reports of the last run again, run nothing")
    options = parser.parse_args(argv)
    names = options.only or list(EXPECTED)
    chosen = chosen_entries(options.select)
    if not chosen:
        print(f"no example entry ({', '.join(ENTRIES.values())}) matches {' '.join(options.select)!r}")
        return 0
    nox = [options.nox] if Path(options.nox).exists() else [sys.executable, "-m", "nox"]

    started = time.monotonic()
    walls, failures = {}, {}
    for name in names:
        jobs = min(options.jobs, len(chosen))
        walls[name] = 0.0 if options.no_run else run(nox, name, EXPECTED[name], jobs, chosen)
        failures[name] = verify(name, EXPECTED[name], chosen)

    print("\n=== examples_check")
    for name in names:
        section = reports_dir(name) / "findings.md"
        if EXPECTED[name].expect and section.is_file():
            print(f"\n{section.read_text().rstrip()}\n")
        verdict = "as expected" if not failures[name] else "MISMATCH"
        took = "the last run's reports" if options.no_run else f"{walls[name]:.0f} s wall"
        print(f"{name}: {verdict} ({took}, reports in {run_entry.shown(reports_dir(name), ROOT)})")
        for problem in failures[name]:
            print(f"  - {problem}")
    if not options.no_run:
        print(f"total wall time: {time.monotonic() - started:.0f} s")
    bad = [name for name in names if failures[name]]
    if bad:
        print(f"examples_check FAILED: {', '.join(bad)} did not show what EXPECTED says (see above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
