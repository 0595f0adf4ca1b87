"""Release dates from the package index (PyPI's JSON API), never typed by hand."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import os
import urllib.error
import urllib.request

from packaging.version import InvalidVersion, Version

#: Override for a mirror that serves PyPI's JSON API; ``{name}`` is the project.
JSON_URL = os.environ.get("XCOM_S3_INDEX_JSON_URL", "https://pypi.org/pypi/{name}/json")


class IndexUnavailable(RuntimeError):
    """The package index could not answer; the message names the URL."""


@dataclasses.dataclass(frozen=True)
class Release:
    version: Version
    #: When the last file of the release was uploaded: every artifact exists by then.
    uploaded: dt.datetime
    yanked: bool

    @property
    def is_final(self) -> bool:
        return not (self.version.is_prerelease or self.version.is_devrelease)


@functools.cache
def releases(name: str) -> tuple[Release, ...]:
    """Every release of ``name`` that has files, oldest version first."""
    url = JSON_URL.format(name=name)
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            data = json.load(response)
    except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as err:
        raise IndexUnavailable(f"cannot read release dates of {name} from {url}: {err}") from err
    found = []
    for raw_version, files in data.get("releases", {}).items():
        if not files:
            continue
        try:
            version = Version(raw_version)
        except InvalidVersion:
            continue
        uploaded = max(dt.datetime.fromisoformat(f["upload_time_iso_8601"].replace("Z", "+00:00")) for f in files)
        found.append(Release(version, uploaded, all(f.get("yanked", False) for f in files)))
    return tuple(sorted(found, key=lambda r: r.version))


def release(name: str, version: str) -> Release:
    wanted = Version(version)
    for candidate in releases(name):
        if candidate.version == wanted:
            return candidate
    raise IndexUnavailable(f"{name} {version} is not on the package index ({JSON_URL.format(name=name)})")


def newest_of_major(name: str, major: int) -> Release:
    """The newest final, non-yanked release of ``name`` with this major version."""
    candidates = [r for r in releases(name) if r.version.major == major and r.is_final and not r.yanked]
    if not candidates:
        raise IndexUnavailable(f"{name} has no final release {major}.x on the package index")
    return candidates[-1]
