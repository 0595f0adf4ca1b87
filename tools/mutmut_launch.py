"""mutmut's CLI for ``nox -s mutants``: each mutant's line recorded, and no test ever run in mutmut's own process.

Lines: the runs set mutmut's ``mutate_only_covered_lines``, so a line no selected test runs on an entry (a 2.x
branch on a 3.x entry) gets no mutants there, where it would survive every test and cost a whole test run. mutmut
does not keep which line each mutant sits on, nor which lines it left out; the report needs both, to tell
"reached only on the other entry" from "reached by no test at all". So mutmut's generation is wrapped:

* each file's mutants are listed with their line in ``mutants/<file>.lines.json`` (beside mutmut's ``.meta``);
* a function's hash (mutmut's "changed since the last run") also covers which of its lines have mutants, so when
  the tests reach other lines, mutmut renumbers and re-tests that function instead of keeping verdicts that now
  belong to other mutants.

Processes: mutmut forks one child per mutant from its own process, where it also runs the coverage, stats and
clean test runs. Whatever those leave behind is inherited half-alive by every child: polars' thread pool, started
when polars is imported (a child that converts a frame waits forever on threads that were never forked), and after
the coverage run, which unloads every module the tests imported, Airflow's and PyYAML's module state half old, half
new. So the coverage run gets a fresh interpreter, the stats run, the clean run and the listing of the tests a
forked child each, and mutmut's process only collects the tests (imports, no test run, polars' importers left to
the children) before it forks the mutants.

Run inside a mutation venv, in the work directory, as ``python tools/mutmut_launch.py run ...`` (mutmut's own CLI
otherwise). Tied to mutmut 3.7.0's internals (``locks/mutants/``), as ``tools/mutmut_dump.py`` is; a numbering
that differs from mutmut's stops the run instead of mislabelling mutants.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import libcst as cst
import mutmut
import mutmut.__main__ as mutmut_main
import mutmut_killers  # tools/, beside this script
from libcst.metadata import MetadataWrapper, PositionProvider
from mutmut.code_coverage import gather_coverage
from mutmut.configuration import Config
from mutmut.mutation import file_mutation
from mutmut.mutation.mutators import mutation_operators
from mutmut.mutation.pragma_handling import get_ignored_lines
from mutmut.mutation.trampoline_templates import mangle_function_name
from mutmut.utils.file_utils import change_cwd
from mutmut.utils.format_utils import get_mutant_name

#: Beside each mutated file: ``{"covered": [lines] | null, "mutants": {name: line}}``.
SUFFIX = ".lines.json"
#: The lines the selected tests run, per file (absolute paths under ``mutants/``, as mutmut keys them).
COVERED = Path("mutants") / "covered-lines.json"
#: The word that makes this script the coverage run.
COVERAGE_RUN = "--record-coverage"


class _Locating(file_mutation.MutationVisitor):
    """mutmut's visitor, also noting the line each mutation starts on."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.lines: list[int | None] = []

    def _create_mutations(self, node: cst.CSTNode) -> None:
        before = len(self.mutations)
        super()._create_mutations(node)
        position = self.get_metadata(PositionProvider, node, None)
        self.lines += [position.start.line if position else None] * (len(self.mutations) - before)


def _owners(module: cst.Module) -> dict[cst.FunctionDef, str | None]:
    """Each function mutmut mutates -> its class (None for a module-level function), as it walks them."""
    found: dict[cst.FunctionDef, str | None] = {}
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef):
            found[statement] = None
        elif isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
            found |= {m: statement.name.value for m in statement.body.body if isinstance(m, cst.FunctionDef)}
    return found


def located(path: str, code: str, covered: set[int] | None) -> list[tuple[str, int | None]]:
    """``(mutmut's mutant name, line)`` of every mutant mutmut makes of ``code`` with ``covered`` lines, in order."""
    wrapper = MetadataWrapper(cst.parse_module(code))
    visitor = _Locating(mutation_operators, get_ignored_lines(path, code, wrapper), covered)
    wrapper.visit(visitor)
    owners = _owners(wrapper.module)
    numbers: Counter[str] = Counter()
    found = []
    for mutation, line in zip(visitor.mutations, visitor.lines, strict=True):
        function = mutation.contained_by_top_level_function
        if not isinstance(function, cst.FunctionDef) or function not in owners:
            continue
        mangled = mangle_function_name(name=function.name.value, class_name=owners[function]) + "__mutmut"
        numbers[mangled] += 1
        found.append((get_mutant_name(Path(path), f"{mangled}_{numbers[mangled]}"), line))
    return found


def identities(mutants: list[tuple[str, int | None]]) -> list[tuple[str, int | None, int]]:
    """``(function, line, n)``: the n-th mutant of ``function`` on ``line``. Unlike mutmut's number it does not
    change when other lines gain or lose mutants, so it names the same mutant on every entry."""
    seen: Counter[tuple[str, int | None]] = Counter()
    found = []
    for name, line in mutants:
        function = name.partition("__mutmut_")[0]
        seen[function, line] += 1
        found.append((function, line, seen[function, line]))
    return found


def lines_path(path: str | Path) -> Path:
    return Path("mutants") / f"{path}{SUFFIX}"


_generate = file_mutation.mutate_file_contents


def _recording(filename: str, code: str, covered_lines: set[int] | None = None) -> file_mutation.MutatedFile:
    """mutmut's generation, plus the lines file, and the mutated lines folded into each function's hash."""
    made = _generate(filename, code, covered_lines)
    mutants = located(filename, code, covered_lines)
    expected = [get_mutant_name(Path(filename), name) for name in made.mutant_names]
    if [name for name, _ in mutants] != expected:
        raise SystemExit(f"tools/mutmut_launch.py: mutmut numbered the mutants of {filename} otherwise; update it")
    lines_by_function: defaultdict[str, list[int | None]] = defaultdict(list)
    for name, line in mutants:
        lines_by_function[name.partition("__mutmut_")[0].rpartition(".")[2]].append(line)
    hashes = {
        function: hashlib.sha256(f"{digest} {lines_by_function.get(function)}".encode()).hexdigest()
        for function, digest in made.hash_by_function_name.items()
    }
    record = {"covered": sorted(covered_lines) if covered_lines is not None else None, "mutants": dict(mutants)}
    lines_path(filename).write_text(json.dumps(record))
    return dataclasses.replace(made, hash_by_function_name=hashes)


def _covered_in_a_process_of_its_own() -> None:
    """mutmut's ``store_lines_covered_by_tests``, in a fresh interpreter (see the module's docstring)."""
    if not Config.get().mutate_only_covered_lines:
        return
    COVERED.unlink(missing_ok=True)
    ran = subprocess.run([sys.executable, __file__, COVERAGE_RUN], check=False)
    if ran.returncode != 0 or not COVERED.is_file():
        raise SystemExit(f"the coverage run (the selected tests, unmutated) failed with exit status {ran.returncode}")
    covered = json.loads(COVERED.read_text())
    mutmut._covered_lines = {path: _whole_statements(Path(path), set(lines)) for path, lines in covered.items()}


def _whole_statements(path: Path, lines: set[int]) -> set[int]:
    """``lines`` plus the continuation lines of every statement that starts on one of them.

    Coverage records a statement that spans lines under its first line only; mutmut would take the rest (the
    second half of a message split over two lines, a call's arguments one per line) for lines no test runs."""
    whole = set(lines)
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.stmt) and node.lineno in lines:
            body = [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt)]
            last = body[0].lineno - 1 if body else (node.end_lineno or node.lineno)
            whole.update(range(node.lineno, last + 1))
    return whole


def _record_coverage() -> int:
    """The coverage run itself: the unmutated copies under ``mutants/`` on the path, as mutmut sets them up."""
    Config.ensure_loaded()
    mutmut_main.setup_source_paths()
    covered = gather_coverage(mutmut_main.PytestRunner(), list(mutmut_main.walk_source_files()))
    COVERED.write_text(json.dumps({path: sorted(lines) for path, lines in covered.items()}))
    return 0


def _in_a_child(run: Callable[[], int]) -> int:
    """``run()`` in a forked child, its output straight to the log; the child's exit status."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    code = 1
    try:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        code = run()
    except SystemExit as exc:
        code = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1  # sys.exit()'s meaning
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


_stats_collection = mutmut_main.run_stats_collection
_run_tests = mutmut_main.PytestRunner.run_tests


def _stats_in_a_child(runner: Any, tests: Iterable[str] | None = None) -> None:
    """mutmut's stats run (it saves ``mutants/mutmut-stats.json``) in a child; then its findings, read back."""

    def collect() -> int:
        _stats_collection(runner, tests)
        return 0

    code = _in_a_child(collect)
    if code != 0:
        raise SystemExit(code)
    data = json.loads(Path("mutants/mutmut-stats.json").read_text())
    mutmut.tests_by_mangled_function_name = defaultdict(
        set, {name: set(found) for name, found in data["tests_by_mangled_function_name"].items()}
    )
    mutmut.duration_by_test = defaultdict(float, data["duration_by_test"])
    mutmut.stats_time = data["stats_time"]
    for name, callers in data.get("function_dependencies", {}).items():
        mutmut_main.state().function_dependencies[name] = set(callers)


_collect_or_load_stats = mutmut_main.collect_or_load_stats


def _stats_then_imports(runner: Any, **kwargs: Any) -> None:
    """mutmut's stats step (run or loaded), then the tests imported in its process for the children to inherit."""
    _collect_or_load_stats(runner, **kwargs)
    _import_the_tests(runner)


#: Test modules that import polars when collected: importing polars starts its thread pool, which no forked child
#: can use, so mutmut's process leaves them to the children (each imports them, and polars, itself).
POLARS_IMPORTERS = ("tests/properties/test_polars_frames.py",)


def _import_the_tests(runner: Any) -> None:
    """Collect the tests in mutmut's process without running one: every child starts with them imported."""
    os.environ["MUTANT_UNDER_TEST"] = "list_all_tests"
    selection = runner._pytest_add_cli_args_test_selection
    try:
        with change_cwd("mutants"):
            runner.execute_pytest(["-q", "--collect-only", *selection, *(f"--ignore={p}" for p in POLARS_IMPORTERS)])
    finally:
        os.environ["MUTANT_UNDER_TEST"] = ""
    if "polars" in sys.modules:
        raise SystemExit(f"polars was imported while collecting the tests: add its importer to {POLARS_IMPORTERS}")


_list_all_tests = mutmut_main.PytestRunner.list_all_tests
#: Where a child hands the collected test ids to mutmut's process.
LISTED = Path("mutants") / "listed-tests.json"


def _list_in_a_child(self: Any) -> Any:
    """mutmut's listing of the tests (an incremental run's "new tests?"), in a child: collecting imports every test
    module, polars' importers too."""

    def listing() -> int:
        LISTED.write_text(json.dumps(sorted(_list_all_tests(self).ids)))
        return 0

    LISTED.unlink(missing_ok=True)
    if _in_a_child(listing) != 0 or not LISTED.is_file():
        raise mutmut_main.CollectTestsFailedException()
    return mutmut_main.ListAllTestsResult(ids=set(json.loads(LISTED.read_text())))


#: Where the clean run's child lists the modules the tests imported while they ran.
IMPORTED = Path("mutants") / "imported-by-tests.json"
#: The tests that killed each function's mutants (tools/mutmut_killers.py), absolute: the children run in
#: ``mutants/``.
KILLERS = (Path.cwd() / mutmut_killers.KILLERS).resolve()
#: Packages whose modules the tests import lazily, while running, that mutmut's process imports after the clean run
#: so that no mutant's child imports them again (numpy's and botocore's cost seconds per child). Never polars: it
#: starts its thread pool on import; nor Airflow, whose imports configure logging and the ORM.
WARMED = (
    "numpy",
    "pandas",
    "pyarrow",
    "boto3",
    "botocore",
    "s3transfer",
    "urllib3",
    "jmespath",
    "xcom_s3",
    "xcom_compat",
)


def _tests_in_a_child(self: Any, *, mutant_name: str | None, tests: Iterable[str]) -> int:
    """A run with no mutant (the clean run, the forced failure) in a child; a mutant's run is a child already. After
    the clean run, mutmut's process imports what its tests imported (:data:`WARMED`), for the children to inherit."""
    if mutant_name is not None:  # a mutant's run: its siblings' killers first, and its own killer noted
        first = mutmut_killers.ordered(KILLERS, mutant_name, list(tests))
        with change_cwd("mutants"):
            pytest_args = self._pytest_args_regular_run(first)
            return int(self.execute_pytest(pytest_args, plugins=[mutmut_killers.Recorder(KILLERS, mutant_name)]))

    def clean_run() -> int:
        code = int(_run_tests(self, mutant_name=None, tests=tests))
        IMPORTED.write_text(json.dumps(sorted(sys.modules)))
        return code

    IMPORTED.unlink(missing_ok=True)
    code = _in_a_child(clean_run)
    if code == 0 and IMPORTED.is_file():
        _warm_up(json.loads(IMPORTED.read_text()))
    return code


def _warm_up(modules: list[str]) -> None:
    """Import the :data:`WARMED` packages' modules among ``modules`` (one that fails to import is left to the
    children, as before). mutmut switches a mutant on at call time, so the mutated modules may be imported here."""
    import importlib

    for name in modules:
        if name.partition(".")[0] in WARMED and name not in sys.modules:
            try:
                importlib.import_module(name)
            except Exception:  # a private or platform-only module: the child imports what it needs
                continue
    if "polars" in sys.modules:
        raise SystemExit("polars was imported while warming up mutmut's process: remove its importer from WARMED")


def main() -> int:
    if sys.argv[1:] == [COVERAGE_RUN]:
        return _record_coverage()
    mutmut_main.mutate_file_contents = _recording  # type: ignore[attr-defined]
    mutmut_main.store_lines_covered_by_tests = _covered_in_a_process_of_its_own  # type: ignore[attr-defined]
    mutmut_main.run_stats_collection = _stats_in_a_child  # type: ignore[attr-defined]
    mutmut_main.collect_or_load_stats = _stats_then_imports  # type: ignore[attr-defined]
    mutmut_main.PytestRunner.run_tests = _tests_in_a_child  # type: ignore[method-assign]
    mutmut_main.PytestRunner.list_all_tests = _list_in_a_child  # type: ignore[method-assign]
    sys.argv[0] = "mutmut"
    return int(mutmut_main.cli() or 0)


if __name__ == "__main__":
    sys.exit(main())
