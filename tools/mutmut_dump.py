"""Print every mutant of a mutmut work directory as JSON: name, file, status, line, identity, and the diff of those
not killed; per file, the mutants mutmut left out because no selected test runs their line on this entry; and the
files whose source changed since mutmut generated their mutants (their left-out lines cannot be told then).

Runs inside a mutation venv, in the directory mutmut ran in (``tools/mutants.py`` calls it once per entry): one
process for all diffs, where ``mutmut show`` costs a process (1.3 s) per mutant. It reads mutmut's own state
through mutmut's functions and the lines ``tools/mutmut_launch.py`` recorded, so it is tied to the mutmut version of
``locks/mutants/`` (3.7.0).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mutmut.__main__ import (  # the functions `mutmut results` and `mutmut show` call
    SourceFileMutationData,
    get_diff_for_mutant,
    status_by_exit_code,
    walk_mutatable_files,
)
from mutmut.configuration import Config
from mutmut_launch import identities, lines_path, located

#: Statuses whose mutant the report shows as a diff (a mutant no test reaches is shown by its function).
SHOWN = {"survived", "suspicious", "skipped"}


def _file(path: Path) -> tuple[list[dict[str, Any]], list[list[Any]] | None]:
    """The file's mutants as mutmut ran them, and the identities of those its coverage left out (None when the
    source changed since mutmut generated its mutants: its lines are no longer the ones they were made from)."""
    record_path = lines_path(path)
    if not record_path.is_file():
        raise SystemExit(f"{record_path} is missing: this state predates tools/mutmut_launch.py; rerun with --fresh")
    record = json.loads(record_path.read_text())
    made: list[tuple[str, int | None]] = list(record["mutants"].items())
    identity = dict(zip((name for name, _ in made), identities(made), strict=True))
    data = SourceFileMutationData(path=path)
    data.load()
    found = []
    for name, exit_code in data.exit_code_by_key.items():
        status = status_by_exit_code[exit_code]
        diff = get_diff_for_mutant(name, path=path) if status in SHOWN else ""
        found.append({"name": name, "path": str(path), "status": status, "diff": diff, "identity": identity.get(name)})
    if record["covered"] is None:
        return found, []
    covered = set(record["covered"])
    everything = identities(located(str(path), path.read_text(), None))
    reached = set(identity.values())
    if reached != {i for i in everything if i[1] in covered}:  # mutmut made exactly those of the covered lines
        return found, None
    return found, [list(i) for i in everything if i not in reached]


def main() -> int:
    Config.ensure_loaded()
    mutants: list[dict[str, Any]] = []
    unreached: dict[str, list[list[Any]]] = {}
    stale: list[str] = []
    for path in walk_mutatable_files():
        found, left_out = _file(path)
        mutants += found
        if left_out is None:
            stale.append(str(path))
        else:
            unreached[str(path)] = left_out
    json.dump({"mutants": mutants, "unreached": unreached, "stale": stale}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
