"""Releases on the package index that matrix.yaml lacks: a newer patch of a listed minor, or a new minor."""

from __future__ import annotations

from packaging.version import Version

from tools.matrix import index
from tools.matrix.entries import Matrix


def _minor(version: Version) -> tuple[int, int]:
    return version.major, version.minor


def missing(matrix: Matrix) -> tuple[list[str], list[str]]:
    """``(missing, current)``: a line per minor behind or absent on our side, and a line per current one."""
    on_index = [r for r in index.releases("apache-airflow") if not r.yanked]
    stable = [e.version for e in matrix.entries if e.channel == "stable"]
    pre = [e.version for e in matrix.entries if e.channel == "pre"]
    oldest = min(_minor(v) for v in stable)
    listed = {_minor(v): max(w for w in stable if _minor(w) == _minor(v)) for v in stable}
    behind, current = [], []

    finals: dict[tuple[int, int], Version] = {}
    for release in on_index:
        if release.is_final and _minor(release.version) >= oldest:
            finals[_minor(release.version)] = max(release.version, finals.get(_minor(release.version), release.version))
    for minor, newest in sorted(finals.items()):
        name = f"{minor[0]}.{minor[1]}"
        have = listed.get(minor)
        if have is None:
            behind.append(f"{name}: {newest} is on PyPI, matrix.yaml has no {name} entry")
        elif newest > have:
            behind.append(f"{name}: {newest} is on PyPI, matrix.yaml has {have}")
        else:
            current.append(f"{name}: {have} (newest)")

    newest_stable_minor = max(finals) if finals else oldest
    previews: dict[tuple[int, int], Version] = {}
    for release in on_index:
        minor = _minor(release.version)
        if release.version.is_prerelease and minor > newest_stable_minor and minor not in finals:
            previews[minor] = max(release.version, previews.get(minor, release.version))
    for minor, newest in sorted(previews.items()):
        have_pre = [v for v in pre if _minor(v) == minor]
        name = f"{minor[0]}.{minor[1]} (pre)"
        if not have_pre:
            behind.append(f"{name}: {newest} is on PyPI, matrix.yaml has no pre entry for it")
        elif newest > max(have_pre):
            behind.append(f"{name}: {newest} is on PyPI, matrix.yaml has {max(have_pre)}")
        else:
            current.append(f"{name}: {max(have_pre)} (newest)")
    return behind, current
