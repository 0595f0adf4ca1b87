"""Find the uv binary: on PATH, or the one pip-installed beside nox (``.nox/_runner/bin/uv`` is not on PATH)."""

from __future__ import annotations

import functools
import shutil
import subprocess


class UvMissing(RuntimeError):
    """uv is neither on PATH nor installed in nox's environment."""


@functools.cache
def uv() -> str:
    found = shutil.which("uv")
    if found:
        return found
    try:
        from uv import find_uv_bin  # the PyPI wheel of uv ships this helper
    except ImportError as err:
        raise UvMissing("uv not found: install it next to nox (pip install uv) or put it on PATH") from err
    return str(find_uv_bin())


@functools.cache
def version() -> str:
    """``uv 0.13.9``, as recorded in lock headers."""
    return subprocess.run([uv(), "--version"], check=True, capture_output=True, text=True).stdout.split("(")[0].strip()
