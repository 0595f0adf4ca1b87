"""Write locks/*.txt with ``uv pip compile``, each resolved as of a date read from the package index.

Airflow's constraints files are not reachable and resolving an old release against today's index breaks it, so
a matrix entry is resolved as of its release's upload to PyPI plus some slack (``--exclude-newer``); packages
the entry lifts (a pandas major, or a floor of ours, newer than the release) are resolved as of the newest
release of that pandas major instead (``--exclude-newer-package``), and a test-only package every lock holds at
one release (polars: requirements.HeldRelease) as of that release's upload. Tool locks (S3 server, lint, runner)
are resolved as of the day they are written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import time
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from tools.matrix import index, uv_cli
from tools.matrix.entries import Entry
from tools.matrix.requirements import entry_requirements, held_releases

#: Locks target the CI platform; the pinned versions install on other platforms wherever wheels exist.
PLATFORM = "x86_64-unknown-linux-gnu"
#: Lifted packages are resolved as of the newest release of the pandas major plus this slack.
LIFT_SLACK = dt.timedelta(days=1)
_FINGERPRINT = "# fingerprint: "
_AS_OF = "# as of: "
_LIFTED = "# lifted: "


@dataclasses.dataclass(frozen=True)
class LockPlan:
    """Everything one ``uv pip compile`` needs, and the header that explains it."""

    name: str
    path: Path
    requirements: list[str]
    python_version: str
    exclude_newer: dt.datetime
    exclude_newer_why: str
    lifts: dict[str, dt.datetime] = dataclasses.field(default_factory=dict)
    lift_why: str = ""
    #: ``{package: date}`` of the held test-only releases (and what they bring), each as of its own upload.
    held: dict[str, dt.datetime] = dataclasses.field(default_factory=dict)
    held_why: str = ""
    universal: bool = False
    fingerprint: str | None = None

    def args(self) -> list[str]:
        """The compile arguments after ``uv pip compile`` (requirements come on stdin)."""
        target = ["--universal"] if self.universal else ["--python-platform", PLATFORM]
        lifted = [
            arg
            for pkg, when in sorted({**self.lifts, **self.held}.items())
            for arg in ("--exclude-newer-package", f"{pkg}={_iso(when)}")
        ]
        return [
            "-",
            "--python-version",
            self.python_version,
            *target,
            "--exclude-newer",
            _iso(self.exclude_newer),
            *lifted,
            "--no-header",
            "--quiet",
        ]

    def header(self, uv_version: str) -> str:
        lines = [
            f"# locks/{self.path.name}: written by `nox -s lock` (tools/matrix/lock.py); do not edit.",
            f"# requirements: {', '.join(self.requirements)}",
            f"{_AS_OF}{_iso(self.exclude_newer)} = {self.exclude_newer_why}",
        ]
        if self.lifts:  # read back by read_dates(): keep the two formats in step
            lines.append(
                f"{_LIFTED}{', '.join(sorted(self.lifts))} as of {_iso(min(self.lifts.values()))} = {self.lift_why}"
            )
        if self.held:  # a second `lifted` line: read_dates() reads every one
            lines.append(
                f"{_LIFTED}{', '.join(sorted(self.held))} as of {_iso(min(self.held.values()))} = {self.held_why}"
            )
        lines.append(f"# command: uv pip compile {' '.join(self.args())} < requirements  ({uv_version})")
        if self.fingerprint is not None:
            lines.append(f"{_FINGERPRINT}{self.fingerprint}")
        return "\n".join(lines) + "\n"


@dataclasses.dataclass(frozen=True)
class LockOutcome:
    plan: LockPlan
    seconds: float
    error: str | None


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> dt.datetime:
    """Today, 00:00 UTC: the newest cut-off a lock uses, so re-locking the same day changes nothing."""
    return dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def plan_entry(entry: Entry, root: Path, today: dt.datetime) -> LockPlan:
    """As of the Airflow release's upload plus slack; lifted packages as of the newest pandas major."""
    release = index.release("apache-airflow", entry.airflow)
    as_of = min(release.uploaded + dt.timedelta(days=entry.slack_days), today)
    why = f"apache-airflow {entry.airflow} uploaded {_iso(release.uploaded)} (PyPI) + {entry.slack_days} days slack"
    lifts: dict[str, dt.datetime] = {}
    lift_why = ""
    if entry.lift:
        pandas = index.newest_of_major("pandas", entry.pandas)
        lifted_to = min(pandas.uploaded + LIFT_SLACK, today)
        lifts = dict.fromkeys(entry.lift, lifted_to)
        lift_why = f"pandas {pandas.version} uploaded {_iso(pandas.uploaded)} (PyPI) + {LIFT_SLACK.days} day"
    held: dict[str, dt.datetime] = {}
    held_why = []
    for release_held in held_releases(entry):
        upload = index.release(release_held.name, release_held.version).uploaded
        held.update(dict.fromkeys(release_held.packages, min(upload + LIFT_SLACK, today)))
        held_why.append(f"{release_held.name} {release_held.version} uploaded {_iso(upload)} (PyPI)")
    requirements = entry_requirements(entry, root)
    return LockPlan(
        name=entry.id,
        path=entry.lock_path(root),
        requirements=requirements,
        python_version=entry.python,
        exclude_newer=as_of,
        exclude_newer_why=why,
        lifts=lifts,
        lift_why=lift_why,
        held=held,
        held_why=f"{', '.join(held_why)} + {LIFT_SLACK.days} day: one test-only release in every lock" if held else "",
        fingerprint=entry.fingerprint(requirements),
    )


def plan_tool(
    name: str,
    requirements: list[str],
    python: str,
    root: Path,
    today: dt.datetime,
    *,
    universal: bool = False,
) -> LockPlan:
    """A tool environment resolved as of today (its date is in the header)."""
    return LockPlan(
        name=name,
        path=root / "locks" / f"{name}.txt",
        requirements=requirements,
        python_version=python,
        exclude_newer=today,
        exclude_newer_why="the day `nox -s lock` ran (00:00 UTC)",
        universal=universal,
    )


def compile_lock(plan: LockPlan) -> LockOutcome:
    """Run uv pip compile and write the lock atomically; on failure leave the old lock alone."""
    started = time.monotonic()
    proc = subprocess.run(
        [uv_cli.uv(), "pip", "compile", *plan.args()],
        input="\n".join(plan.requirements) + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        return LockOutcome(plan, seconds, proc.stderr.strip() or f"uv exited {proc.returncode}")
    plan.path.parent.mkdir(parents=True, exist_ok=True)
    tmp = plan.path.with_suffix(".tmp")
    tmp.write_text(plan.header(uv_cli.version()) + proc.stdout)
    tmp.replace(plan.path)
    return LockOutcome(plan, seconds, None)


def read_fingerprint(path: Path) -> str | None:
    for line in path.read_text().splitlines():
        if line.startswith(_FINGERPRINT):
            return line[len(_FINGERPRINT) :]
        if not line.startswith("#"):
            break
    return None


@dataclasses.dataclass(frozen=True)
class LockDates:
    """The cut-offs a lock was resolved with, as its header records them (ISO 8601, UTC)."""

    exclude_newer: str
    #: ``{package: date}`` for the packages the entry lifts.
    lifts: dict[str, str] = dataclasses.field(default_factory=dict)

    def uv_args(self) -> list[str]:
        """``--exclude-newer`` (and ``--exclude-newer-package``) that resolve anything else as this lock was."""
        lifted = [a for pkg, when in sorted(self.lifts.items()) for a in ("--exclude-newer-package", f"{pkg}={when}")]
        return ["--exclude-newer", self.exclude_newer, *lifted]


def read_dates(path: Path) -> LockDates:
    """The ``# as of:`` and (every) ``# lifted:`` dates of a lock's header, so more can be resolved on top of it as
    of the same day (``--install`` of a user's backend). Raises ValueError for a lock without an ``as of`` line."""
    as_of = None
    lifts: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        if line.startswith(_AS_OF):
            as_of = line[len(_AS_OF) :].split(" ", 1)[0]
        elif line.startswith(_LIFTED):
            names, _, rest = line[len(_LIFTED) :].partition(" as of ")
            when = rest.split(" ", 1)[0]
            lifts.update(dict.fromkeys((n.strip() for n in names.split(",") if n.strip()), when))
    if not as_of:
        raise ValueError(f"{path.name} has no '{_AS_OF.strip()}' header line: re-lock it with `nox -s lock`")
    return LockDates(as_of, lifts)


def pinned(path: Path) -> dict[str, str]:
    """``{canonical name: version}`` of every ``name==version`` line in a lock. Markers are ignored: of a universal
    lock's alternatives (``filelock==4.1.0 ; python_full_version < '3.11'``) the last line wins. Runs in nox's own
    environment, which has ``packaging`` (nox depends on it)."""
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if not line[:1].isalnum():  # the header, uv's indented ``# via`` lines, blank lines
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        specifiers = list(requirement.specifier)
        if len(specifiers) == 1 and specifiers[0].operator == "==":
            pins[canonicalize_name(requirement.name)] = specifiers[0].version
    return pins
