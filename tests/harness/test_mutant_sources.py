"""The snapshot a mutation run mutates (tools/mutant_sources.py): it follows the repository only when a run
starts, so an edit made while a run goes never meets coverage recorded for the old lines. Stdlib and pytest only."""

from __future__ import annotations

import os
from pathlib import Path

from tools import mutant_sources


def _package(top: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (top / name).parent.mkdir(parents=True, exist_ok=True)
        (top / name).write_text(text)
    return top


def test_a_snapshot_copies_the_package_keeps_file_times_and_drops_what_the_source_no_longer_has(tmp_path):
    source = _package(tmp_path / "src", {"a.py": "A = 1\n", "sub/b.py": "B = 2\n"})
    os.utime(source / "a.py", (1_000_000, 1_000_000))
    copy = _package(tmp_path / "work", {"gone.py": "old\n", "__pycache__/a.cpython-312.pyc": "x"})
    mutant_sources.snapshot(source, copy)
    files = sorted(str(p.relative_to(copy)) for p in copy.rglob("*") if p.is_file())
    assert files == ["__pycache__/a.cpython-312.pyc", "a.py", "sub/b.py"]
    assert (copy / "sub/b.py").read_text() == "B = 2\n"
    assert (copy / "a.py").stat().st_mtime == 1_000_000, "mutmut compares file times: the copy keeps the source's"
    assert mutant_sources.edited(source, copy) == []


def test_an_edit_after_the_snapshot_is_reported_not_followed_until_the_next_snapshot(tmp_path):
    source = _package(tmp_path / "src", {"a.py": "A = 1\n", "b.py": "B = 2\n"})
    copy = tmp_path / "work"
    mutant_sources.snapshot(source, copy)
    (source / "a.py").write_text("A = 10\n")
    (source / "new.py").write_text("N = 3\n")
    (source / "b.py").unlink()
    assert (copy / "a.py").read_text() == "A = 1\n"
    assert mutant_sources.edited(source, copy) == [Path("a.py"), Path("b.py"), Path("new.py")]
    mutant_sources.snapshot(source, copy)
    assert mutant_sources.edited(source, copy) == []
    assert sorted(p.name for p in copy.iterdir()) == ["a.py", "new.py"]


def test_a_single_file_and_a_link_left_by_an_older_run_are_snapshotted_too(tmp_path):
    source = _package(tmp_path, {"compat.py": "X = 1\n"}) / "compat.py"
    link = tmp_path / "work" / "compat.py"
    link.parent.mkdir()
    link.symlink_to(source)
    mutant_sources.snapshot(source, link)
    assert not link.is_symlink() and link.read_text() == "X = 1\n"
    source.write_text("X = 2\n")
    assert mutant_sources.edited(source, link) == [Path()]
    assert link.read_text() == "X = 1\n"
    package = _package(tmp_path / "pkg", {"m.py": "M = 1\n"})
    package_link = tmp_path / "work" / "pkg"
    package_link.symlink_to(package)
    mutant_sources.snapshot(package, package_link)
    assert package_link.is_dir() and not package_link.is_symlink() and (package / "m.py").read_text() == "M = 1\n"
