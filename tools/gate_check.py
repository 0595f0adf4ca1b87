"""Gate power check: every mutant backend must be killed exactly on the releases where it is wrong.

Run inside one matrix venv (``nox -s gate-check``) or directly::

    PYTHONPATH=compat:backend python tools/gate_check.py [--only NAME ...] [--junit-dir DIR]

For each mutant of ``tests/gate/mutant_table.py`` (plus the real backend as a control) it runs that mutant's
focused checks with ``XCOM_S3_TEST_BACKEND=gate.mutants.<Name>``, the dev hypothesis profile, ``-x`` and a
throwaway example database (a mutant's failures must never be replayed against the real backend). A mutant is
*killed* when a check fails; an error (collection, fixture, import) is a broken gate, not a kill. Prints the kill
table and exits 1 if any row differs from the table's expectation.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from airflow_release import airflow_text, airflow_version  # noqa: E402
from gate.mutant_table import MUTANTS, Mutant, Version, checks_for  # noqa: E402

from tools.matrix import junit  # noqa: E402


@dataclass
class Result:
    mutant: Mutant
    expected_killed: bool
    failures: int
    errors: int
    seconds: float
    first_failure: str

    @property
    def killed(self) -> bool:
        return self.failures > 0

    @property
    def ok(self) -> bool:
        return self.errors == 0 and self.killed == self.expected_killed


def run_mutant(mutant: Mutant, version: Version, workdir: Path) -> Result:
    """One pytest process: the mutant's checks against the mutant, stopping at the first failure."""
    junit_path = workdir / f"{mutant.name or 'control'}.xml"
    env = dict(os.environ)
    env.update(
        XCOM_S3_TEST_BACKEND=mutant.path,
        HYPOTHESIS_PROFILE="dev",
        XCOM_S3_HYPOTHESIS_DB=str(workdir / f"hypothesis-{mutant.name or 'control'}"),
        PYTHONPATH=os.pathsep.join(
            [str(ROOT / "compat"), str(ROOT / "backend"), *filter(None, [env.get("PYTHONPATH")])]
        ),
    )
    # The control runs every check to the end, so a red control names all the checks the real backend fails.
    stop = ["-x"] if mutant.name else []
    args = [sys.executable, "-m", "pytest", *checks_for(mutant), *stop, "-q", "-p", "no:cacheprovider"]
    args += ["--junitxml", str(junit_path), "-o", "junit_family=xunit2"]
    started = time.monotonic()
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    groups = junit.read(junit_path, ROOT)
    errors = sum(group.errors for group in groups)
    failures = sum(group.failed for group in groups) - errors
    first = next((line[:120] for group in groups for line in group.failures), "")
    if proc.returncode not in (0, 1) or (proc.returncode == 1 and failures + errors == 0):
        errors += 1  # pytest itself failed (usage, collection, internal error)
        first = first or f"pytest exit {proc.returncode}: {(proc.stdout + proc.stderr)[-300:]}"
    return Result(mutant, mutant.wrong_on(version), failures, errors, seconds, first)


def print_table(results: list[Result]) -> None:
    print(f"\nGate check on Airflow {airflow_text()} (python {sys.version.split()[0]})")
    print(f"{'mutant':<24} {'wrong on':<16} {'expected':<8} {'result':<8} {'ok':<4} {'s':>5}  detail")
    for r in results:
        expected = "killed" if r.expected_killed else "spared"
        got = "ERROR" if r.errors else ("killed" if r.killed else "spared")
        name = r.mutant.name or "(control) ours"
        print(
            f"{name:<24} {r.mutant.wrong_on_text:<16} {expected:<8} {got:<8} {'ok' if r.ok else 'FAIL':<4} "
            f"{r.seconds:5.0f}  {r.first_failure}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=None, help="mutant names to run (control always runs)")
    parser.add_argument("--junit-dir", type=Path, default=None, help="keep the per-mutant junit XML here")
    options = parser.parse_args(argv)
    version = airflow_version()  # from metadata: this process never imports Airflow
    selected = [m for m in MUTANTS if not m.name or options.only is None or m.name in options.only]
    unknown = set(options.only or ()) - {m.name for m in MUTANTS}
    if unknown:
        parser.error(f"unknown mutants: {sorted(unknown)}")
    with tempfile.TemporaryDirectory(prefix="gate-check-") as tmp:
        workdir = options.junit_dir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        results = []
        for mutant in selected:
            results.append(run_mutant(mutant, version, workdir))
            print(f"{mutant.name or 'control'}: {'killed' if results[-1].killed else 'spared'}", flush=True)
    print_table(results)
    bad = [r for r in results if not r.ok]
    if bad:
        print(f"\nGATE BROKEN: {len(bad)} row(s) differ from the expectation", file=sys.stderr)
        return 1
    print(f"\nall {len(results)} rows as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
