"""Find the Pythons the matrix needs, including pyenv's, without shadowing anything else on PATH.

pyenv's shims refuse ``python3.10`` unless that version is selected, and putting whole ``versions/*/bin``
folders on PATH would also shadow ``python``, ``pip`` and every script in them. So each ``pythonX.Y`` found
under ``$PYENV_ROOT/versions`` gets one symlink in a folder of its own, and only that folder goes first on
PATH: nox, uv and this module then find exactly the interpreters and nothing else.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


class PythonMissing(RuntimeError):
    """An entry's Python is not installed; the message names it and how to get it."""


def pyenv_interpreters() -> dict[str, Path]:
    """``{"3.11": /root/.pyenv/versions/3.11.7/bin/python3.11}``, newest patch winning."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found: dict[str, tuple[tuple[int, ...], Path]] = {}
    for exe in sorted(root.glob("*/bin/python[0-9].[0-9]*")):
        name = exe.name.removeprefix("python")
        if not name.replace(".", "").isdigit() or not os.access(exe, os.X_OK):
            continue
        patch = tuple(int(p) for p in exe.parent.parent.name.split(".") if p.isdigit())
        if name not in found or patch > found[name][0]:
            found[name] = (patch, exe)
    return {name: exe for name, (_, exe) in found.items()}


def expose_pyenv(link_dir: Path) -> None:
    """Symlink pyenv's ``pythonX.Y`` into ``link_dir`` and put it first on PATH (idempotent)."""
    interpreters = pyenv_interpreters()
    if not interpreters:
        return
    link_dir.mkdir(parents=True, exist_ok=True)
    for name, exe in interpreters.items():
        link = link_dir / f"python{name}"
        if link.is_symlink() and link.resolve() == exe.resolve():
            continue
        link.unlink(missing_ok=True)
        link.symlink_to(exe)
    path = os.environ.get("PATH", "")
    if str(link_dir) not in path.split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([str(link_dir), path])


def find(version: str) -> Path:
    """The interpreter for ``X.Y``; raises with a message naming it when absent."""
    found = shutil.which(f"python{version}")
    if found:
        return Path(found)
    raise PythonMissing(
        f"Python {version} is not installed: no python{version} on PATH and none under "
        f"$PYENV_ROOT/versions/*/bin. Install it (`pyenv install {version}`, or actions/setup-python in CI) "
        f"and run again; uv's own Python downloads are disabled here."
    )


def interpreter(version: str) -> str:
    """What nox should create an ``X.Y`` venv with: pyenv's interpreter (it goes first, as :func:`expose_pyenv`
    puts it), else ``X.Y`` for nox to find on PATH. Only reads, so the noxfile can call it at import."""
    found = pyenv_interpreters().get(version)
    return str(found) if found else version


def missing(versions: set[str]) -> list[str]:
    """The versions neither pyenv nor PATH has (PATH's pyenv shims count only where pyenv has the version)."""
    pyenv = pyenv_interpreters()
    return sorted(v for v in versions if v not in pyenv and shutil.which(f"python{v}") is None)
