"""Mutation testing of compat/xcom_compat.py and backend/xcom_s3/ with mutmut, per matrix entry (`nox -s mutants`).

Why mutmut 3 and this layout: mutmut mutates a copy of the sources under ``mutants/``, runs the suite once to
record which tests reach each function, then forks one child per mutant that runs only those tests, so
Airflow is imported once per entry instead of once per mutant. It names a mutant after its file's path
(``xcom_s3/keys.py`` -> ``xcom_s3.keys``) and switches it on by the module name at run time, so the mutated
sources must sit at their import names: each entry gets a work directory with ``xcom_compat.py`` and ``xcom_s3``
linked at its top (``.nox/mutants/<entry>/work``; mutmut keeps its state in ``work/mutants/``, gitignored
with ``.nox/``). The entry's venv is never touched: the mutation venv is a separate one, the entry's lock plus
``locks/mutants/<entry>.txt`` (mutmut and what it needs, resolved with the entry's lock as constraints).

Incremental: mutmut re-mutates and re-tests only functions whose source changed (:func:`run_incrementally` adds
what its bookkeeping misses when sources or tests change); a changed lock or pytest configuration starts over.

Left out, and why: :data:`IGNORED`, :data:`DESELECTED`. Runs under the gate's hypothesis profile (derandomized), so
a verdict never depends on the examples drawn. Every pytest session of a run shares one process (mutmut forks its
children from it): ``tools/mutmut_plugin.py`` repairs what that sharing breaks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import resource
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import nox
import nox.project

from tools import mutant_sources
from tools import mutants_report as report
from tools.matrix import entries, lock, rehearsals, run_entry, s3server, uv_cli, venvs
from tools.matrix.selection import Selection

#: 3.8 requires click >= 8.4.2, which Airflow 2.10.5's lock (click 8.1.8) cannot take; 3.7.0 fits every lock.
MUTMUT = "mutmut==3.7.0"
#: One 2.x and one 3.x entry: each runs code the other never does.
DEFAULT_ENTRIES = ("af2.10.5-py3.11-pd3", "af3.3.2-py3.12-pd2")
#: The address space each process of a run may take (mutmut and each forked child alike). A test process takes
#: about 2.6 GB of it; a mutant that allocates without bound (an endless loop appending) meets MemoryError and
#: counts as killed, instead of taking the machine (one took 23 GB, and the kernel killed processes beside it).
MEMORY_CAP = 8 * 2**30
#: Mutated sources: where they live in the repository -> their name at the top of the work directory.
SOURCES = {"compat/xcom_compat.py": "xcom_compat.py", "backend/xcom_s3": "xcom_s3"}
#: Test paths the mutation runs leave out, and why.
IGNORED = {
    "tests/e2e": "DAG runs in Airflow subprocesses: mutmut records which tests reach a function only in its own "
    "process, and the runs cost seconds per mutant",
    "tests/harness": "tests the harness (tools/), none of the mutated code",
    "tests/mixed": "frames written by another entry's interpreter, in processes of its own (rehearsal entries only)",
    "tests/gate/test_vendor.py": "runs a vendored copy of the unmutated sources",
}
#: Checks that read the source text: mutmut's file holds every mutant of a function side by side.
DESELECTED = (
    "tests/iam/test_iam_policy.py::test_every_operation_names_one_permission",
    "tests/robustness/test_robust_hostile.py::test_no_source_in_backend_or_compat_can_unpickle",
)
#: What tests reach through their own path (tests/iam: the README's policy, the S3 server's venv, tools.matrix).
LINKED_INTO_MUTANTS = ("README.md", "matrix.yaml", "tools", ".nox/_s3server")
#: The pytest plugin of the runs: part of what a verdict depends on.
PLUGIN = Path(__file__).with_name("mutmut_plugin.py")
#: mutmut's CLI with each mutant's line recorded, and its test runs in processes of their own.
LAUNCHER = Path(__file__).with_name("mutmut_launch.py")
#: Where mutmut writes the mutated copies (regenerated when the tests change: they may reach other lines).
MUTATED = ("mutants/xcom_compat.py", "mutants/xcom_s3")
#: The type checker of `nox -s lint` (locks/lint.txt, no Airflow: the gate's own mypy verdict): a mutant it
#: rejects fails CI's lint step, so mutmut counts it caught without a test run (about a third of backend/'s).
TYPE_CHECKER_LOCK = Path("locks") / "lint.txt"


@dataclasses.dataclass(frozen=True)
class Options:
    """The session's own words, taken out before the matrix selection parses the rest."""

    write_locks: bool = False
    report_only: bool = False
    fresh: bool = False
    max_children: int = os.cpu_count() or 2
    #: ``--skip GLOB`` (repeatable): source files left unmutated, e.g. ``backend/xcom_s3/frame*``.
    skip: tuple[str, ...] = ()

    @classmethod
    def take(cls, words: list[str]) -> tuple[Options, list[str]]:
        flags = {"--lock": "write_locks", "--report-only": "report_only", "--fresh": "fresh"}
        rest: list[str] = []
        found: dict[str, bool] = {}
        children = cls.max_children
        skip: list[str] = []
        it = iter(words)
        for word in it:
            if "--" in rest:
                rest.append(word)  # pytest's words, after the second `--`: untouched
            elif word in flags:
                found[flags[word]] = True
            elif word == "--max-children":
                children = max(1, int(next(it, "1")))
            elif word == "--skip":
                skip.append(next(it, ""))
            else:
                rest.append(word)
        return cls(**found, max_children=children, skip=tuple(p for p in skip if p)), rest


# ---- locks and venvs ------------------------------------------------------------------------------------------


def lock_path(entry: entries.Entry, root: Path) -> Path:
    """``locks/mutants/<entry>.txt``: a subdirectory, so `nox -s lock` never takes it for a stale entry lock."""
    return root / "locks" / "mutants" / f"{entry.id}.txt"


@dataclasses.dataclass(frozen=True)
class _ExtraLock(lock.LockPlan):
    """mutmut's requirement resolved on top of an entry's lock (``-c``): the entry's pins win."""

    constraints: Path = Path()

    def args(self) -> list[str]:
        return [*super().args(), "-c", str(self.constraints)]

    def header(self, uv_version: str) -> str:
        shown = self.constraints.name
        return (
            f"# locks/mutants/{self.path.name}: written by `nox -s mutants -- --lock` (tools/mutants.py); no edits.\n"
            f"# requirements: {', '.join(self.requirements)}, constrained by locks/{shown} (its pins win)\n"
            f"# as of: {lock._iso(self.exclude_newer)} = {self.exclude_newer_why}\n"
            f"# command: uv pip compile - --python-version {self.python_version} --python-platform {lock.PLATFORM} "
            f"--exclude-newer {lock._iso(self.exclude_newer)} -c locks/{shown} --no-header --quiet ({uv_version})\n"
            f"# fingerprint: {self.fingerprint}\n"
        )


def _fingerprint(entry_lock: Path) -> str:
    return f"{MUTMUT} on {hashlib.sha256(entry_lock.read_bytes()).hexdigest()[:16]}"


def plan_lock(entry: entries.Entry, root: Path) -> _ExtraLock:
    constraints = entry.lock_path(root)
    return _ExtraLock(
        name=f"mutants-{entry.id}",
        path=lock_path(entry, root),
        requirements=[MUTMUT],
        python_version=entry.python,
        exclude_newer=lock.now(),
        exclude_newer_why="the day `nox -s mutants -- --lock` ran (00:00 UTC)",
        fingerprint=_fingerprint(constraints),
        constraints=constraints,
    )


def check_lock(entry: entries.Entry, root: Path) -> Path:
    """The entry's mutmut lock, or why it cannot be used (missing, or resolved against another entry lock)."""
    path = lock_path(entry, root)
    if not path.is_file() or lock.read_fingerprint(path) != _fingerprint(entry.lock_path(root)):
        state = "is stale (the entry's lock changed)" if path.is_file() else "is missing"
        raise run_entry.InstallFailed(f"{path.relative_to(root)} {state}: run `nox -s mutants -- {entry.id} --lock`")
    return path


def build_venv(session: nox.Session, entry: entries.Entry, root: Path) -> venvs.Venv:
    """``.nox/mutants/<entry>/venv``: exactly the entry's lock, then the mutmut lock on top (no resolution)."""
    entry_lock = run_entry.check_lock(entry, root)
    extra = check_lock(entry, root)
    venv = venvs.build(session, entry_lock, entry.python, home(root, entry) / "venv")
    install = [uv_cli.uv(), "pip", "install", "--no-deps", "--quiet", "--python", str(venv.python), "-r", str(extra)]
    if subprocess.run([*install, "--offline"], capture_output=True, check=False).returncode != 0:
        session.run(*install, external=True)
    run_entry.assert_versions(venv, entry, entry_lock)
    return venv


# ---- the work directory ---------------------------------------------------------------------------------------


def home(root: Path, entry: entries.Entry) -> Path:
    return root / ".nox" / "mutants" / entry.id


def mutmut_config(pytest_args: tuple[str, ...], skip: tuple[str, ...], type_check: list[str]) -> dict[str, object]:
    """``[tool.mutmut]``: which sources, which tests (mutmut picks per function among these), which type check."""
    selection = ["tests/", *(f"--ignore={path}" for path in IGNORED), *(f"--deselect={t}" for t in DESELECTED)]
    return {
        "type_check_command": type_check,
        "source_paths": list(SOURCES.values()),
        "do_not_mutate": [_work_path(pattern) for pattern in skip],
        "pytest_add_cli_args_test_selection": [*selection, *pytest_args],
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-p", "tools.mutmut_plugin"],
        # A line no selected test runs on this entry gets no mutants (tools/mutants_report.py: "elsewhere" or
        # "not reached"), where it would survive every test and cost a full test run per mutant.
        "mutate_only_covered_lines": True,
        # What else can change a verdict (the locks, pytest's configuration) is this module's to watch (digests):
        # mutmut would otherwise ask git about every file of the repository.
        "use_git_change_detection": False,
        "on_dependency_change": "ignore",
    }


def _work_path(pattern: str) -> str:
    """A repository path or glob (``backend/xcom_s3/frame*``) as mutmut sees it in the work directory."""
    for path, name in SOURCES.items():
        if pattern.startswith(path):
            return name + pattern[len(path) :]
    return pattern


def _toml(tables: dict[str, dict[str, object]]) -> str:
    """TOML for tables of strings, booleans and lists of strings (their JSON spelling is valid TOML)."""
    out = []
    for name, table in tables.items():
        out.append(f"[{name}]")
        out += [f"{key} = {json.dumps(value)}" for key, value in table.items()]
        out.append("")
    return "\n".join(out)


def prepare(root: Path, work: Path, pytest_args: tuple[str, ...], skip: tuple[str, ...], type_checker: Path) -> None:
    """Snapshot the sources and the tests into ``work`` (see tools/mutant_sources.py); write its pyproject.toml
    (pytest's and mutmut's config), its mypy.ini and the stub mypy reads mutmut's decorator from."""
    for path, name in {**SOURCES, "tests": "tests"}.items():
        mutant_sources.snapshot(root / path, work / name)
    links = {f"mutants/{name}": root / name for name in LINKED_INTO_MUTANTS}
    for name, target in links.items():
        _link(work / name, target)
    _write_if_changed(work / "mypy.ini", mypy_ini(root))
    stub = work / STUBS / "mutmut" / "mutation" / "trampoline.pyi"
    stub.parent.mkdir(parents=True, exist_ok=True)
    for package in (stub.parent.parent, stub.parent):
        _write_if_changed(package / "__init__.pyi", "")
    _write_if_changed(stub, TRAMPOLINE_STUB)
    config = mutmut_config(pytest_args, skip, type_check_command(type_checker, work / "mypy.ini"))
    _write_if_changed(
        work / "pyproject.toml", _toml({"tool.pytest.ini_options": _pytest_ini(root), "tool.mutmut": config})
    )


def type_check_command(python: Path, config: Path) -> list[str]:
    """mypy over the mutated copies, run by mutmut in ``work/mutants``; JSON lines, which mutmut maps to mutants
    (it recognises mypy by the word ``mypy`` in the command)."""
    return [str(python), "-m", "mypy", "--output", "json", "--config-file", str(config), *SOURCES.values()]


#: What mutmut's layout of a mutated file trips, in every copy of a function alike (so never a verdict on one
#: mutant): its ``# type: ignore`` on each table of mutants, and an attribute annotated in ``__init__``
#: (``self.field: str | None``), which every copy of the method annotates again.
LAYOUT_ARTEFACTS: dict[str, object] = {"warn_unused_ignores": False, "disable_error_code": ["no-redef"]}
#: mutmut's decorator as mypy must see it (the lint venv has no mutmut): typed, or every mutated function would
#: turn untyped, and a call to a ``NoReturn`` one would read as falling through ("Missing return statement").
TRAMPOLINE_STUB = """\
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")
MutantDict = dict[str, Callable[..., Any]]

def wrap_in_trampoline(
    mutants_dict: MutantDict, is_classmethod: bool = ...
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...
"""
#: Where the work directory keeps that stub (mypy_path).
STUBS = "mypy-stubs"


def mypy_ini(root: Path) -> str:
    """The repository's [tool.mypy] as mypy.ini for the mutated copies: the same checks and strictness, less
    :data:`LAYOUT_ARTEFACTS` and the paths that name the repository's own sources (they would shadow the copies)."""
    config: dict[str, Any] = nox.project.load_toml(root / "pyproject.toml")["tool"]["mypy"]
    overrides = config.pop("overrides", [])
    for key in ("files", "mypy_path", "exclude"):
        config.pop(key, None)
    sections = [("mypy", config | LAYOUT_ARTEFACTS | {"mypy_path": f"$MYPY_CONFIG_FILE_DIR/{STUBS}"})]
    for override in (dict(o) for o in overrides):
        modules = ",".join(override.pop("module"))
        sections.append((f"mypy-{modules}", override | {k: v for k, v in LAYOUT_ARTEFACTS.items() if k in override}))
    out = []
    for name, table in sections:
        out.append(f"[{name}]")
        out += [f"{key} = {_ini_value(value)}" for key, value in table.items()]
        out.append("")
    return "\n".join(out)


def _ini_value(value: object) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)


def build_type_checker(session: nox.Session, root: Path, python: str) -> Path:
    """``.nox/mutants/_mypy``: the lint venv's mypy (locks/lint.txt); its interpreter."""
    venv = venvs.build(session, root / TYPE_CHECKER_LOCK, python, root / ".nox" / "mutants" / "_mypy")
    return venv.python


def _pytest_ini(root: Path) -> dict[str, object]:
    ini: dict[str, object] = nox.project.load_toml(root / "pyproject.toml")["tool"]["pytest"]["ini_options"]
    return ini


def _link(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() and link.readlink() == target:
        return
    if link.is_symlink() or link.is_file():
        link.unlink()
    link.symlink_to(target)


def digests(root: Path, entry: entries.Entry) -> dict[str, str]:
    """Hashes of what decides what a rerun re-tests: the environment (both locks, the pytest plugin and pytest's
    configuration: a change re-tests everything), the mutated sources and tests/ (their Python files; see
    :func:`run_incrementally`)."""
    environment = [entry.lock_path(root).read_bytes(), lock_path(entry, root).read_bytes()]
    environment += [PLUGIN.read_bytes(), LAUNCHER.read_bytes()]
    environment.append(json.dumps(_pytest_ini(root), sort_keys=True).encode())
    found = {"environment": hashlib.sha256(b"\0".join(environment)).hexdigest()}
    for name, paths in (("sources", list(SOURCES)), ("tests", ["tests"])):
        digest = hashlib.sha256()
        for top in paths:
            files = [root / top] if (root / top).is_file() else sorted((root / top).rglob("*.py"))
            for path in (f for f in files if "__pycache__" not in f.parts):
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
        found[name] = digest.hexdigest()
    return found


# ---- running ----------------------------------------------------------------------------------------------------


def run_mutmut(
    session: nox.Session, venv: venvs.Venv, work: Path, env: dict[str, str], args: list[str], *, tolerated: str = ""
) -> float:
    """One ``mutmut run``, its spinner output in ``work/../mutmut.log``; the wall seconds it took. A failure whose
    output holds ``tolerated`` is logged and passed over."""
    log = work.parent / "mutmut.log"
    session.log(f"mutmut {' '.join(args[:3])}{' ...' if len(args) > 3 else ''} in {work} (log: {log})")
    started = time.monotonic()
    with log.open("a") as out:
        out.write(f"\n==== mutmut {' '.join(args)}\n")
        out.flush()
        offset = out.tell()
        code = subprocess.run(
            [str(venv.python), str(LAUNCHER), *args],
            cwd=work,
            env=_process_env(env),
            stdout=out,
            stderr=out,
            preexec_fn=_cap_memory,
        ).returncode
    if code != 0:
        with log.open("rb") as written:
            written.seek(offset)
            output = written.read().decode(errors="replace")
        if tolerated and tolerated in output:
            session.log(f"mutmut: {tolerated}; going on")
        else:
            tail = output.replace("\r", "\n").splitlines()[-40:]
            session.error(f"mutmut exited {code}; the end of {log}:\n" + "\n".join(tail))
    return time.monotonic() - started


def _cap_memory() -> None:
    """In the mutmut process before it starts (its forked children inherit it): :data:`MEMORY_CAP`."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _process_env(env: dict[str, str]) -> dict[str, str]:
    """This process's environment with ``env`` on top, without PYTHONPATH: the repository's compat/ and backend/
    on the path would shadow the mutated copies mutmut puts first."""
    merged = {**os.environ, **env}
    merged.pop("PYTHONPATH", None)
    return merged


@dataclasses.dataclass(frozen=True)
class EntryRun:
    """What one entry's mutmut state holds: its mutants, and those its coverage left out (file, function, line,
    n-th on the line)."""

    mutants: list[report.Mutant]
    unreached: list[tuple[str, str, int | None, int]]
    #: Mutated files edited since the run generated their mutants: verdicts from the old lines, none left out.
    stale: list[str] = dataclasses.field(default_factory=list)


def dump(venv: venvs.Venv, work: Path, env: dict[str, str], root: Path) -> EntryRun:
    """Every mutant of the work directory, with its line, and its diff when it was not killed."""
    proc = subprocess.run(
        [str(venv.python), str(root / "tools" / "mutmut_dump.py")],
        cwd=work,
        env=_process_env(env),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise run_entry.InstallFailed(f"reading the mutmut state in {work} failed:\n{proc.stderr[-3000:]}")
    raw = json.loads(proc.stdout)
    mutants = []
    for found in raw["mutants"]:
        identity = tuple(found["identity"]) if found["identity"] else None
        mutants.append(
            report.Mutant(
                found["name"],
                _repository_path(found["path"]),
                found["status"],
                report.changed_lines(found["diff"]),
                line=identity[1] if identity else None,
                identity=identity,  # type: ignore[arg-type]
            )
        )
    unreached = [
        (_repository_path(path), function, line, n)
        for path, left_out in raw["unreached"].items()
        for function, line, n in left_out
    ]
    stale = {_repository_path(path) for path in raw.get("stale", [])} | set(edited_sources(root, work))
    return EntryRun(mutants, unreached, sorted(stale))


def edited_sources(root: Path, work: Path) -> list[str]:
    """The mutated sources edited in the repository since the run's snapshot of them (repository paths)."""
    found = []
    for path, name in SOURCES.items():
        found += [str(Path(path) / relative) for relative in mutant_sources.edited(root / path, work / name)]
    return found


#: A mutated source's name at the top of the work directory -> where it lives in the repository.
_IN_REPOSITORY = {name: path for path, name in SOURCES.items()}


def _repository_path(work_path: str) -> str:
    """``xcom_s3/keys.py`` (mutmut's path in the work directory) -> ``backend/xcom_s3/keys.py``."""
    top, _, rest = work_path.partition("/")
    return _IN_REPOSITORY[top] + (f"/{rest}" if rest else "")


def run_entry_mutants(
    session: nox.Session, entry: entries.Entry, root: Path, options: Options, pytest_args: tuple[str, ...]
) -> EntryRun:
    """Build, run (incrementally) and read one entry's mutants; with --report-only, only read them."""
    place = home(root, entry)
    work = place / "work"
    if options.report_only:
        if not (work / "mutants").is_dir():
            session.error(f"{entry.id}: no mutation run to report yet ({work} is missing)")
        venv = venvs.Venv(place / "venv", 0.0, "existing")
        return dump(venv, work, _env(venv, place, entry), root)
    try:
        venv = build_venv(session, entry, root)
    except run_entry.InstallFailed as err:
        session.error(f"{entry.id}: {err}")
    stamp = place / "digests.json"
    before: dict[str, str] = json.loads(stamp.read_text()) if stamp.is_file() else {}
    now = digests(root, entry)
    changed_environment = "environment" in before and before["environment"] != now["environment"]
    if work.exists() and (options.fresh or changed_environment):
        why = "--fresh" if options.fresh else "a lock, the pytest plugin or pytest's config changed"
        session.log(f"{entry.id}: starting over ({why})")
        shutil.rmtree(work)
        before = {}
    # The environment is recorded before the run (an interrupted run resumes in it); sources and tests after it.
    stamp.write_text(json.dumps({**before, "environment": now["environment"]}))
    tool_python = entries.load(root / "matrix.yaml").tool_python
    prepare(root, work, pytest_args, options.skip, build_type_checker(session, root, tool_python))
    endpoint = s3server.endpoint(session, root, tool_python)
    env = _env(venv, place, entry) | endpoint.env(endpoint.bucket_for(f"mutants-{entry.id}"))
    # What changed since the run the mutmut state holds: its last complete run, or, for a first run stopped part-way
    # (no digest of it yet), anything (regenerating is safe: verdicts stay for unchanged functions).
    resumed = any((work / "mutants").rglob("*.meta"))  # mutmut's verdicts, one file per mutated source
    changed = {name for name in ("sources", "tests") if resumed and before.get(name) != now[name]}
    seconds = run_incrementally(session, venv, work, env, root, options.max_children, changed, entry.id)
    stamp.write_text(json.dumps(now))
    session.log(f"{entry.id}: mutmut took {seconds:.0f} s")
    (place / "seconds.txt").write_text(f"{seconds:.0f}\n")
    return dump(venv, work, env, root)


def _env(venv: venvs.Venv, place: Path, entry: entries.Entry) -> dict[str, str]:
    """What the suite reads in a mutation run (the S3 endpoint comes on top): the gate's hypothesis profile,
    derandomized, so a mutant is killed or not the same way every run."""
    tmp = place / "tmp"
    tmp.mkdir(exist_ok=True)
    return {
        **venv.env(),
        "HYPOTHESIS_PROFILE": "gate",
        "TMPDIR": str(tmp),
        run_entry.DB_VAR: "sqlite",
        # tests/iam: a missing IAM-enforcing server is then a failure, not a skip
        rehearsals.ENTRY_VAR: entry.id,
    }


def run_incrementally(
    session: nox.Session,
    venv: venvs.Venv,
    work: Path,
    env: dict[str, str],
    root: Path,
    children: int,
    changed: set[str],
    entry_id: str,
) -> float:
    """``mutmut run``, plus what mutmut's own bookkeeping misses; the wall seconds of both.

    mutmut records which tests reach which function once, then only for tests it has not seen: a new function
    (a new module, a split one) would have no tests and count as "no tests" untested, and an edited test keeps its
    old reach. So when the sources or the tests changed since the last complete run, the record is made anew
    (the stats run: a few minutes), and the verdicts it could have changed are re-tested: the survivors when
    tests/ changed, the "no tests" mutants whenever anything did, never a survivor the tables of
    tests/gate/equivalent_mutants.py explain for ``entry_id`` (:func:`report.to_retest`). They are re-tested
    first, before the untested mutants, so a run stopped part-way already scores the survivors against the newest
    tests.
    """
    mutants = dump(venv, work, env, root).mutants if changed else []
    table, seen_only_on = report.load_equivalents(root), report.load_seen_only_on(root)
    names = report.to_retest(mutants, changed, table, entry_id, seen_only_on)
    if changed:
        session.log(f"{' and '.join(sorted(changed))} changed since the last run: recording each test's reach anew")
        (work / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
        # The tests may run other lines now, or a changed source has other lines: mutmut regenerates the mutated
        # copies from the new coverage, which must run on unmutated copies (mutmut copies a source only where no
        # copy is left, and would take the old copy's lines for the new file's). Its verdicts stay for every
        # function whose mutated lines did not change (tools/mutmut_launch.py).
        for copy in (work / name for name in MUTATED):
            for path in [copy] if copy.is_file() else copy.rglob("*.py") if copy.is_dir() else []:
                path.unlink()
    seconds = 0.0
    if names:
        # A name whose function changed may now be another mutant of it (re-testing it is harmless) or gone;
        # mutmut stops only when none is left, and then there is nothing to re-test.
        session.log(f"re-testing {len(names)} mutants first (not killed, and not explained by tests/gate's tables)")
        seconds += run_mutmut(
            session,
            venv,
            work,
            env,
            ["run", "--max-children", str(children), *names],
            tolerated="Filtered for specific mutants, but nothing matches",
        )
    return seconds + run_mutmut(session, venv, work, env, ["run", "--max-children", str(children)])


def chosen_entries(
    session: nox.Session, matrix: entries.Matrix, words: list[str]
) -> tuple[list[entries.Entry], Selection]:
    try:
        selection = Selection.parse(words, matrix)
    except ValueError as err:
        session.error(str(err))
    if selection.choice:
        session.error("mutants runs mutmut on xcom_s3: --backend/--install/--backend-env do not apply")
    if selection.everything:
        return [e for e in matrix.runnable if e.id in DEFAULT_ENTRIES], selection
    chosen = [e for e in matrix.runnable if selection.matches(e)]
    if not chosen:
        session.error(f"no runnable matrix.yaml entry matches `{selection}`")
    return chosen, selection


def session(session: nox.Session, matrix: entries.Matrix, root: Path, reports: Path) -> None:
    """The `nox -s mutants` session: locks, or runs and the report."""
    options, words = Options.take(list(session.posargs))
    chosen, selection = chosen_entries(session, matrix, words)
    if options.write_locks:
        for outcome in map(lock.compile_lock, (plan_lock(e, root) for e in chosen)):
            if outcome.error:
                session.error(f"{outcome.plan.path.relative_to(root)}: {outcome.error}")
            session.log(f"{outcome.plan.path.relative_to(root)}: ok in {outcome.seconds:.1f} s")
        return
    states = {e.id: run_entry_mutants(session, e, root, options, selection.pytest_args) for e in chosen}
    placed = report.place_unreached(
        {entry: state.mutants for entry, state in states.items()},
        {entry: state.unreached for entry, state in states.items()},
    )
    placed = report.place_seen_only_on(placed, report.load_seen_only_on(root))
    table = report.load_equivalents(root)
    runs = {entry: report.mark_equivalents(mutants, table) for entry, mutants in placed.items()}
    header = (
        f"{MUTMUT} over {', '.join(SOURCES)} (`nox -s mutants`); score = killed / (all - equivalent), "
        "a timeout counts as killed. Left out of the runs: "
        + "; ".join(f"{path} ({why})" for path, why in IGNORED.items())
        + f"; and {len(DESELECTED)} checks that read the source text ({', '.join(DESELECTED)})."
    )
    stale = "; ".join(f"{entry}: {', '.join(state.stale)}" for entry, state in states.items() if state.stale)
    if stale:
        note = (
            f"Stale: {stale} changed since the run generated their mutants, so their verdicts are of the old "
            "lines; `nox -s mutants` regenerates them."
        )
        session.warn(note)
        header += f"\n\n**{note}**"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "mutants.md").write_text(report.render(runs, table, header))
    print(report.summary(runs))
    session.log(f"report: {run_entry.shown(reports / 'mutants.md', root)}")
