"""The sources a mutation run mutates, and the tests it runs: a snapshot of the repository's, taken when a run
starts. Stdlib only.

Why a snapshot and not a link: mutmut regenerates the mutated copy of any source newer than it, at the start of
each ``mutmut run``, from the lines its stats run recorded as covered, and copies the tests anew. One
``nox -s mutants`` makes two such runs (the survivors first, then the rest): with the sources linked, a file
edited in between was mutated on the lines the *old* file covered (the report then counted hundreds of its
mutants as on lines no test runs); with the tests linked, a test added in between ran against the old sources,
failed mutmut's clean run of the new tests, and ended the session. A snapshot keeps every mutmut run of a session
on the sources and tests its coverage was recorded for; an edit waits for the next session, which sees it
changed and records the coverage anew.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def _files(top: Path) -> set[Path]:
    """The files below ``top`` (relative), bytecode caches left out."""
    return {p.relative_to(top) for p in top.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def snapshot(source: Path, copy: Path) -> None:
    """``copy`` made the same as ``source`` (a file, or a package's files): a file copied only where its bytes
    differ, with its times (mutmut compares them), a file the source no longer has removed, a link replaced."""
    if copy.is_symlink():
        copy.unlink()
    if source.is_file():
        copy.parent.mkdir(parents=True, exist_ok=True)
        if not copy.is_file() or copy.read_bytes() != source.read_bytes():
            shutil.copy2(source, copy)
        return
    wanted = _files(source)
    for gone in _files(copy) - wanted if copy.is_dir() else set():
        (copy / gone).unlink()
    for relative in sorted(wanted):
        snapshot(source / relative, copy / relative)


def edited(source: Path, copy: Path) -> list[Path]:
    """The files of ``source`` whose snapshot in ``copy`` differs or is missing, and those it no longer has
    (relative to ``source``), sorted."""
    if source.is_file() or copy.is_file():
        same = source.is_file() and copy.is_file() and source.read_bytes() == copy.read_bytes()
        return [] if same else [Path()]
    ours, theirs = _files(source), _files(copy) if copy.is_dir() else set()
    changed = {p for p in ours & theirs if (source / p).read_bytes() != (copy / p).read_bytes()}
    return sorted(changed | (ours ^ theirs))
