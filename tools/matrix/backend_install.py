"""``--install``: a team's backend and its dependencies on top of an entry's lock, in a venv of its own.

The venv is ``.nox/backend/<entry-id>-<hash of the specs and the entry>``, never ``.nox/matrix/<entry>``: it is
built from the entry's lock like any other, then ``uv pip install`` adds the specs with every lock pin held as a
constraint and anything new resolved as of the lock's own date (its ``# as of:`` / ``# lifted:`` header), so a
2.x entry gets the provider release of its day, not today's. Local directories install editable: a user's edits
show on the next run without a rebuild. Nothing is written to matrix.yaml or locks/.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import nox
import nox.project
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from tools.matrix import lock, uv_cli, venvs

#: Which run last installed the specs into a backend venv: later sessions of the same run reuse it as is.
_STAMP = ".xcom-s3-backend-run"
#: uv's explanation of a failed resolution: the derivation (``Because ...``) and its hints.
_GIST = re.compile(r"\b(because|hint)\b", re.IGNORECASE)
_DECORATION = re.compile("^[\\s\u2502\u251c\u2570\u2500\u25b6\u00d7]+")  # uv's tree and cross marks


class BackendInstallFailed(RuntimeError):
    """The specs could not be installed on top of the entry's lock; the message names them and uv's reason."""


@dataclasses.dataclass(frozen=True)
class Spec:
    """One ``--install`` word: a local directory (editable), a local file (wheel, sdist) or a requirement."""

    given: str
    #: What uv gets: ``["-e", "/abs/dir"]``, ``["/abs/pkg.whl"]`` or ``["name>=1"]``.
    args: tuple[str, ...]
    #: The distribution's name when the spec says it (requirements, wheel file names), else None.
    name: str | None = None
    #: The local directory of an editable install.
    directory: Path | None = None


def parse_specs(specs: Sequence[str], invoked_from: Path) -> list[Spec]:
    """Local paths (relative to where nox was invoked) or requirement specs; a path that does not exist is an
    error, not a package name (``./x``, ``../x``, ``/x`` and ``~/x`` can only be paths)."""
    parsed = []
    for given in specs:
        path = (invoked_from / Path(given).expanduser()).resolve()
        looks_like_path = given.startswith((".", "/", "~"))
        if path.is_dir():
            parsed.append(Spec(given, ("-e", str(path)), directory=path))
        elif path.is_file():
            parsed.append(Spec(given, (str(path),), name=_file_dist_name(path.name)))
        elif looks_like_path:
            raise BackendInstallFailed(f"--install {given}: no such file or directory ({path})")
        elif "://" in given.partition("@")[0]:  # a bare URL (git+https://..., https://.../x.whl): uv names it
            parsed.append(Spec(given, (given,)))
        else:
            try:
                name = Requirement(given).name
            except InvalidRequirement as err:
                why = str(err).splitlines()[0]
                raise BackendInstallFailed(
                    f"--install {given}: neither a local path nor a requirement spec ({why})"
                ) from err
            parsed.append(Spec(given, (given,), name=name))
    return parsed


def _file_dist_name(filename: str) -> str | None:
    """``my_pkg-1.0-py3-none-any.whl`` / ``my-pkg-1.0.tar.gz`` -> ``my_pkg`` / ``my-pkg``."""
    stem = re.sub(r"\.(whl|tar\.gz|zip)$", "", filename)
    if stem == filename:
        return None
    return stem.split("-")[0] if filename.endswith(".whl") else stem.rpartition("-")[0] or None


def location(root: Path, entry_id: str, specs: Sequence[Spec]) -> Path:
    """``.nox/backend/<entry-id>-<sha256(sorted specs + entry id)[:8]>``: one venv per entry and set of specs."""
    key = "\n".join([*sorted(" ".join(s.args) for s in specs), entry_id])
    return root / ".nox" / "backend" / f"{entry_id}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


@dataclasses.dataclass(frozen=True)
class Installed:
    venv: venvs.Venv
    #: ``{name: version}`` of the packages the specs name (``(editable PATH)`` after a local directory's).
    top_level: dict[str, str]
    #: ``name==version`` of everything else the specs brought in that the lock does not hold.
    added: list[str]
    #: ``name LOCKED -> INSTALLED`` for lock pins that moved (never, unless the constraints were bypassed).
    changed: list[str]

    def summary(self) -> dict[str, str]:
        """Keys for ``EntryResult.installed``."""
        out = {"backend packages": ", ".join(f"{n}=={v}" for n, v in self.top_level.items()) or "(none found)"}
        if self.added:
            out["added to the lock"] = ", ".join(self.added)
        if self.changed:
            out["changed from the lock"] = ", ".join(self.changed)
        return out


def build(
    session: nox.Session, root: Path, entry_id: str, lock_path: Path, python: str, specs: Sequence[Spec]
) -> Installed:
    """The entry's venv with ``specs`` on top; built once per nox run (``-j`` sessions sharing it wait)."""
    where = location(root, entry_id, specs)
    run = os.environ.get(venvs.RUN_VAR, "")
    with venvs.exclusive(where):
        stamp = where / _STAMP
        if run and stamp.is_file() and stamp.read_text().strip() == run:
            venv = venvs.Venv(where, 0.0, "built earlier in this run")
        else:
            stamp.unlink(missing_ok=True)
            venv = venvs.sync(session, lock_path, python, where)
            started = time.monotonic()
            mode = _install(session, venv, lock_path, specs)
            venv = venvs.Venv(where, venv.seconds + time.monotonic() - started, f"{venv.mode}; --install {mode}")
            stamp.write_text(run + "\n")
    return _inventory(venv, lock_path, specs)


def _install(session: nox.Session, venv: venvs.Venv, lock_path: Path, specs: Sequence[Spec]) -> str:
    """``uv pip install`` the specs with the lock as constraints, as of its date; offline first, like a sync."""
    uv = uv_cli.uv()
    try:
        dates = lock.read_dates(lock_path)
    except ValueError as err:
        raise BackendInstallFailed(str(err)) from err
    command = [uv, "pip", "install", "--python", str(venv.python), "--constraint", str(lock_path), *dates.uv_args()]
    command += [arg for name in build_requirements(specs) for arg in ("--exclude-newer-package", f"{name}={_now()}")]
    targets = [arg for spec in specs for arg in spec.args]
    session.log(f"installing {' '.join(targets)} on top of {lock_path.name} (as of {dates.exclude_newer})")
    proc = subprocess.run([*command, "--offline", *targets], capture_output=True, text=True, check=False)
    if proc.returncode == 0:
        return "offline"
    session.log("uv cache lacks part of the --install specs (or they do not resolve); trying the index")
    proc = subprocess.run([*command, *targets], capture_output=True, text=True, check=False)
    if proc.returncode == 0:
        return "online"
    names = ", ".join(spec.given for spec in specs)
    raise BackendInstallFailed(
        f"--install {names} cannot be installed on top of {lock_path.name} (its pins held, as of "
        f"{dates.exclude_newer}): {gist(proc.stderr or proc.stdout)}"
    )


def build_requirements(specs: Sequence[Spec]) -> list[str]:
    """The build backends local projects name (``[build-system] requires``): exempt from the lock's date, since
    they never reach the venv, and a project's floor (``hatchling>=1.18``) may postdate an old entry's lock."""
    names: set[str] = set()
    for spec in specs:
        pyproject = spec.directory / "pyproject.toml" if spec.directory else None
        if pyproject is None or not pyproject.is_file():
            continue
        try:
            requires = nox.project.load_toml(pyproject).get("build-system", {}).get("requires", [])
            names |= {canonicalize_name(Requirement(text).name) for text in requires}
        except (ValueError, InvalidRequirement):
            continue  # a broken pyproject: the install itself will say what is wrong with it
    return sorted(names)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def gist(uv_error: str) -> str:
    """uv's reason on one line: its ``because`` / ``hint`` lines, else its first lines."""
    lines = [_DECORATION.sub("", line).strip() for line in uv_error.splitlines()]
    lines = [line for line in lines if line]
    chosen = [line for line in lines if _GIST.search(line)] or lines[:4]
    return " ".join(chosen)[:1200] or "uv failed without a message"


def _inventory(venv: venvs.Venv, lock_path: Path, specs: Sequence[Spec]) -> Installed:
    """What the venv holds beyond the lock, and the versions of the packages the specs name."""
    proc = subprocess.run(
        [uv_cli.uv(), "pip", "list", "--format", "json", "--python", str(venv.python)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise BackendInstallFailed(f"cannot list the packages of {venv.path}: {gist(proc.stderr)}")
    listed: list[dict[str, str]] = json.loads(proc.stdout or "[]")
    pins = lock.pinned(lock_path)
    named = {canonicalize_name(s.name) for s in specs if s.name}
    directories = {str(s.directory) for s in specs if s.directory is not None}
    top_level: dict[str, str] = {}
    added, changed = [], []
    for package in listed:
        name, version = package["name"], package["version"]
        key = canonicalize_name(name)
        editable = package.get("editable_project_location")
        if key in named or (editable and str(Path(editable).resolve()) in directories):
            top_level[name] = version + (f" (editable {editable})" if editable else "")
        elif key not in pins:
            added.append(f"{name}=={version}")
        elif pins[key] != version:
            changed.append(f"{name} {pins[key]} -> {version}")
    return Installed(venv, top_level, added, changed)
