"""Migrated SQLite DBs kept per venv: what `airflow db migrate` (2.3-2.6: `db init`), then on 2.x `airflow sync-perm`,
left in a home, copied into the next home instead of running them again (AirflowHome.init_db, which names each
template by what it depends on).

Standard library only (sqlite3): the pytest process makes and reads them; no Airflow process does.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import sys
import uuid
from pathlib import Path
from typing import Any

#: Bump when what a migrated SQLite template holds, or how it is made, changes (AirflowHome.init_db): templates
#: made before are then never read. 2: 2.x templates hold FAB's permissions (`airflow sync-perm`).
TEMPLATE_FORMAT = 2
MANIFEST = "manifest.json"


def installed() -> dict[str, Any]:
    """What a migration depends on besides settings, for this interpreter: Python, the SQLite library, and every
    distribution (name and version) in its site-packages: Airflow, providers, SQLAlchemy, alembic."""
    import site

    dirs = [Path(d) for d in site.getsitepackages() if Path(d).is_dir()]
    dists = sorted(e.name for d in dirs for e in os.scandir(d) if e.name.endswith((".dist-info", ".egg-info")))
    return {"python": sys.version, "sqlite": sqlite3.sqlite_version, "dists": dists}


def alembic_head(path: Path) -> str:
    """The one alembic revision of a SQLite DB that passes SQLite's own check; ValueError if it has none.
    Read as immutable: a read-only open of a WAL-mode DB (3.x) would leave -wal and -shm files beside it."""
    con = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        check = con.execute("PRAGMA quick_check").fetchall()
        heads = con.execute("SELECT version_num FROM alembic_version").fetchall()
    finally:
        con.close()
    if check != [("ok",)] or len(heads) != 1:
        raise ValueError(f"{path}: integrity {check[:3]}, alembic heads {heads}")
    return str(heads[0][0])


def save_template(home: Path, template: Path) -> None:
    """What a migration just left at the top of ``home`` (the DB, airflow.cfg, 2.x's webserver_config.py) becomes
    ``template``, a directory with a manifest (sha256 of each file), made aside and renamed into place: a reader
    never sees part of one. Another process saving the same template at once: one rename wins, both are copies
    of one migration. A directory that cannot be written costs only the next session's migration."""
    if any(home.glob("*-wal")) or any(home.glob("*-journal")):
        return  # part of the DB is not in its file
    part = template.with_name(f".{template.name}.{uuid.uuid4().hex}.part")
    try:
        part.mkdir(parents=True)
        files = {}
        for path in sorted(p for p in home.iterdir() if p.is_file()):
            shutil.copyfile(path, part / path.name)
            files[path.name] = {"sha256": _sha256((part / path.name).read_bytes()), "mode": path.stat().st_mode & 0o777}
        alembic_head(part / "airflow.db")
        (part / MANIFEST).write_text(json.dumps({"home": str(home), "files": files}, indent=1))
        shutil.rmtree(template, ignore_errors=True)  # an unreadable one (a readable one is used), or a racer's
        os.rename(part, template)
    except (OSError, sqlite3.Error, ValueError):
        shutil.rmtree(part, ignore_errors=True)


def copy_template(template: Path, home: Path) -> str:
    """The template's files into ``home`` (its own path where they named the template's home), and the DB's
    alembic head; OSError/ValueError/sqlite3.Error, nothing left behind, if any file is missing or altered."""
    written: list[Path] = []
    try:
        manifest = json.loads((template / MANIFEST).read_text())
        old, new = str(manifest["home"]).encode(), str(home).encode()
        for name, meta in manifest["files"].items():
            data = (template / name).read_bytes()
            if _sha256(data) != meta["sha256"]:
                raise ValueError(f"{template / name} is not the file the migration left")
            dest = home / name
            written.append(dest)
            dest.write_bytes(data if name == "airflow.db" else data.replace(old, new))
            dest.chmod(int(meta["mode"]))
        return alembic_head(home / "airflow.db")
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
