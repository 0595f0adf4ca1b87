"""The check a team wants the day before it upgrades: XComs written by the old Airflow, read by the new one.

    python tests/e2e/rehearsal.py --from-python A --to-python B --s3-endpoint URL --bucket NAME
                                  [--backend MODULE.CLASS] [--db sqlite|postgres] [--db-url URL]
                                  [--workdir DIR] [--sqlite-migrate-as-is]

A and B are interpreters of venvs holding the two releases (e.g. 2.11.x and 3.x), both able to import the
backend (PYTHONPATH is set here). One S3 endpoint, given, outlives both halves:

1. FROM: a fresh home, ``db init``/``migrate``, one run of the e2e DAG; every XCom row is then read back
   through FROM's backend: the originals.
2. TO: a second fresh home sharing the same DB; TO's ``airflow db migrate`` upgrades it (on SQLite with
   foreign keys off, see e2e_runner.migrate); a real TO task (dags/xcom_s3_rehearsal_reader.py) pulls every
   migrated XCom through the Task SDK and the backend. On PostgreSQL (``--db postgres``: a throwaway cluster,
   tests/pg_server.py; or ``--db-url`` for an empty database) the migration also must leave every reference as
   JSONB in ``xcom.value`` and nothing in ``_xcom_archive`` (where 3.0 moves values it cannot convert).
3. Compare (e2e_canon form): exit 0 if every value reads back equal, 1 with a readable diff if not, 2 if a
   step failed before there was anything to compare.

``--backend`` (default xcom_s3.S3XComBackend) is the backend both halves run; its own settings come from
``XCOM_S3_TEST_BACKEND_ENV`` (JSON ``{NAME: TEMPLATE}``, expanded by tests/s3_server.backend_env with this
rehearsal's prefix). For another backend the check is the values (step 3) and an S3 bucket that TO's reads leave
unchanged; our reference format (JSONB references on PostgreSQL) and a clean FROM run are xcom_s3's alone.

Run it with an Airflow venv's interpreter (`nox -s upgrade` and test_rehearsal.py use TO's): it reads the shared DB
through SQLAlchemy (e2e_db). Airflow itself and boto3 are never imported here: every step is a subprocess.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from e2e_airflow import DEFAULT_BACKEND, E2E_DAG_ID, RUNNER, AirflowHome, Step
from e2e_canon import compare
from e2e_db import MARKER, DBView
from pg_server import PostgresCluster, PostgresUnavailable
from s3_server import S3Endpoint, backend_env

FROM_DATE = "2024-01-01T00:00:00+00:00"
READER_DATE = "2024-02-01T00:00:00+00:00"
READER_FILE = "xcom_s3_rehearsal_reader.py"
READER_DAG_ID = "xcom_s3_rehearsal_reader"
IDENT = ("dag_id", "run_id", "task_id", "map_index", "key")


class StepFailed(Exception):
    """A rehearsal step failed before anything could be compared (exit 2)."""


#: Airflow failures the rehearsal has met, by a line of their log, with what they mean for the user.
KNOWN_FAILURES = {
    "_alembic_tmp_task_instance.id": (
        "known Airflow bug: migration 0042 (UUID primary key for task_instance) of 3.0.x and 3.1.x gives "
        "every existing task instance the same id on SQLite; fixed in 3.2 (apache/airflow PR 59241). "
        "Rehearse to 3.2+, or on Postgres/MySQL."
    ),
}


def _check(step: Step, what: str) -> Step:
    if step.returncode != 0:
        log = step.log.read_text(errors="replace")
        hints = "".join(f"\n  hint: {hint}" for sign, hint in KNOWN_FAILURES.items() if sign in log)
        raise StepFailed(f"{what} failed (exit {step.returncode}; log {step.log}){hints}\n{step.tail(40)}")
    return step


def s3_env(endpoint: str, bucket: str, region: str, prefix: str) -> dict[str, str]:
    """The backend's S3 settings, the names other backends read (s3_server.S3Endpoint.env) and the selected
    backend's own (XCOM_S3_TEST_BACKEND_ENV); moto's dummy credentials only for a loopback endpoint with none
    set, else the credential chain's (never exported here)."""
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    loopback = urlparse(endpoint).hostname in ("127.0.0.1", "localhost", "::1")
    if not key and loopback:
        key = secret = "testing"
    s3 = S3Endpoint(endpoint, bucket, region, key or "", secret or "")
    env = s3.env()
    if not key:  # no explicit credentials: leave boto3 / S3Hook to the chain
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AIRFLOW_CONN_AWS_DEFAULT"):
            env.pop(name, None)
    return env | backend_env(s3, prefix)


def _objects(home: AirflowHome, name: str, ours: bool) -> dict[str, Any]:
    """Our objects with their checksums, or (another backend, layout unknown) every key in the bucket."""
    s3 = str(Path(__file__).resolve().parent / "e2e_s3.py")
    argv = [home.python, s3, "list", home.prefix + "/"] if ours else [home.python, s3, "keys"]
    step = _check(home.run(name, argv), f"listing S3 ({name})")
    found = json.loads(step.log.read_text().strip().splitlines()[-1])
    return dict(found) if ours else {key: {} for key in found}


def _key(item: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(item[k] for k in IDENT)


def _label(ident: tuple[Any, ...]) -> str:
    dag_id, run_id, task_id, map_index, key = ident
    return f"{dag_id}/{run_id}/{task_id}[{map_index}].{key}"


def _short(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def _frame_diff(a: Any, b: Any) -> str:
    """Name the first differing part of two canonical frames instead of dumping both."""
    fa, fb = a.get("__frame__", {}), b.get("__frame__", {})
    for part in ("columns", "index", "dtypes"):
        if fa.get(part) != fb.get(part):
            return f"{part}: {_short(fa.get(part))} != {_short(fb.get(part))}"
    for name, ca, cb in zip(fa.get("columns", []), fa.get("data", []), fb.get("data", []), strict=False):
        if ca != cb:
            pairs = enumerate(zip(ca, cb, strict=False))
            row = next((i for i, (x, y) in pairs if x != y), min(len(ca), len(cb)))
            return f"column {name!r} row {row}: {_short(ca[row : row + 3])} != {_short(cb[row : row + 3])}"
    return "frames differ"


def diff(
    originals: list[dict[str, Any]], read_back: list[dict[str, Any]], from_v: str, to_v: str
) -> tuple[int, list[str], list[str]]:
    """(equal count, problems, notes) between the two readings; one readable paragraph per problem."""
    before, after = {_key(i): i for i in originals}, {_key(i): i for i in read_back}
    equal, problems = 0, []
    notes: dict[str, list[str]] = {}
    for ident in sorted(set(before) | set(after), key=repr):
        a, b = before.get(ident), after.get(ident)
        label = _label(ident)
        if a is None or b is None:
            problems.append(f"{label}: only read under {from_v if b is None else to_v} (row lost or added)")
        elif "error" in a:
            problems.append(f"{label}: could not be read even under {from_v}: {a['error']}")
        elif "error" in b:
            problems.append(f"{label}: read under {from_v}, but under {to_v} raised {b['error']}")
        else:
            same, why = compare(a["value"], b["value"])
            for note in why:  # the same note for many XComs is printed once
                notes.setdefault(note, []).append(f"{ident[2]}[{ident[3]}].{ident[4]}")
            if same:
                equal += 1
            elif isinstance(a["value"], dict) and "__frame__" in a["value"]:
                problems.append(f"{label}: DataFrame differs, {_frame_diff(a['value'], b['value'])}")
            else:
                problems.append(
                    f"{label}: differs\n    {from_v}: {a.get('type')} {_short(a['value'])}"
                    f"\n    {to_v}: {b.get('type')} {_short(b['value'])}"
                )
    return equal, problems, [f"{note} ({', '.join(where)})" for note, where in notes.items()]


def postgres_problems(db: DBView, references: int, to_v: str) -> list[str]:
    """What a 3.x migration on PostgreSQL must leave: references as JSONB objects, nothing archived."""
    problems = []
    table = "xcom" if db.has_table("xcom") else "xcom_v1"  # 3.4 keeps the rows written before it in xcom_v1
    column = db.column_type(table, "value")
    if column != "jsonb":
        problems.append(f"after {to_v}'s migration {table}.value is {column}, not jsonb")
    else:
        sql = (
            f"SELECT count(*) FROM {table} WHERE jsonb_typeof(value) = 'object' "
            "AND value -> ? IS NOT NULL AND value ->> 'kind' = 'ref'"
        )
        found = int(db.query(sql, MARKER)[0][0])
        if found != references:
            problems.append(f"{found} JSONB references after {to_v}'s migration, {references} before")
    archived = db.count("_xcom_archive")
    if archived:
        problems.append(f"{to_v}'s migration archived {archived} XCom row(s) in _xcom_archive (unconvertible)")
    return problems


def _homes(args: argparse.Namespace, work: Path, prefix: str) -> tuple[AirflowHome, AirflowHome]:
    """FROM's fresh home and TO's, which shares FROM's DB, S3 settings and prefix."""
    env = s3_env(args.s3_endpoint, args.bucket, args.region, prefix)
    src = AirflowHome.create(
        work / "from_home",
        python=os.path.abspath(args.from_python),
        s3_env=env,
        prefix=prefix,
        db_url=args.db_url,
        backend=args.backend,
    )
    dst = AirflowHome.create(
        work / "to_home",
        python=os.path.abspath(args.to_python),
        s3_env=env,
        prefix=prefix,
        dag_files=(READER_FILE,),
        db_url=src.db_url,
        backend=args.backend,
    )
    return src, dst


def _references(originals: list[dict[str, Any]]) -> int:
    return sum(1 for o in originals if o["reference"])


def _write_from(src: AirflowHome, work: Path, from_v: str, ours: bool) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Step 1: FROM's DB and DAG run, its XComs read back through FROM's backend, and the bucket's objects."""
    s3_script = str(Path(__file__).resolve().parent / "e2e_s3.py")
    _check(src.run("ensure-bucket", [src.python, s3_script, "ensure-bucket"]), "creating the bucket")
    init = _check(src.init_db(), f"{from_v}: airflow db init/migrate")
    run = _check(src.run_dag(FROM_DATE), f"{from_v}: the e2e DAG run")
    run_id = src.db.run_id_for(E2E_DAG_ID, FROM_DATE)
    state = src.db.run_state(run_id)
    if state != "success" and ours:
        raise StepFailed(f"{from_v}: the e2e DAG run ended {state}:\n{run.tail(40)}")
    if state != "success":  # another backend: what it did write is still rehearsed
        failed = sorted(f"{t}[{m}]" for (t, m), s in src.db.task_states(run_id).items() if s == "failed")
        print(f"  note: {from_v}'s e2e DAG run ended {state} (failed: {', '.join(failed)}); rehearsing what it wrote")
    _check(src.dump(work / "originals.json"), f"{from_v}: reading the XComs back")
    originals = json.loads((work / "originals.json").read_text())
    objects_before = _objects(src, "s3-before", ours)
    refs, total = _references(originals), len(originals)
    stored = f"{refs} in S3, {total - refs} inline" if ours else "as the backend stored them"
    where = "objects" if ours else "objects in the bucket"
    print(
        f"  FROM {from_v}: db {init.seconds:.0f}s, DAG run {run.seconds:.0f}s ({state}): "
        f"{total} XComs ({stored}), {len(objects_before)} {where}"
    )
    return originals, objects_before


def _migrate_to(
    dst: AirflowHome, work: Path, originals: int, sqlite: bool, as_is: bool, from_v: str, to_v: str
) -> Step:
    """Step 2a: TO's ``db migrate`` of FROM's DB; the XCom rows it left go to the reader's manifest."""
    fk_off = ["--sqlite-foreign-keys-off"] if sqlite and not as_is else []
    argv = [dst.python, str(RUNNER), "migrate", *fk_off]
    migrate = _check(dst.run("db-migrate", argv), f"{to_v}: airflow db migrate of the {from_v} DB")
    manifest = [{k: getattr(r, k) for k in IDENT} for r in dst.db.xcom_rows()]
    (work / "manifest.json").write_text(json.dumps(manifest, indent=1))
    if len(manifest) < originals:
        lost = originals - len(manifest)
        print(
            f"  {to_v}'s migration left {len(manifest)} of {originals} XCom rows ({lost} lost)"
            + ("; SQLite + plain migrate: the 0032 cascade (see e2e_runner.migrate)" if as_is else "")
        )
    elif fk_off:
        print("  note: TO's migrate ran with SQLite foreign keys off (else 0032 deletes every TI, XCom row)")
    return migrate


def _read_to(dst: AirflowHome, work: Path, to_v: str) -> tuple[list[dict[str, Any]], Step]:
    """Step 2b: a real TO task pulls every XCom of the manifest through the Task SDK and the backend."""
    reader = _check(
        dst.run_dag(
            READER_DATE,
            name="reader",
            dag_file=READER_FILE,
            dag_id=READER_DAG_ID,
            XCOM_S3_REHEARSAL_MANIFEST=str(work / "manifest.json"),
            XCOM_S3_REHEARSAL_OUT=str(work / "read_back.json"),
        ),
        f"{to_v}: the reader DAG run",
    )
    reader_run = dst.db.run_id_for(READER_DAG_ID, READER_DATE)
    if dst.db.run_state(reader_run) != "success" or not (work / "read_back.json").exists():
        raise StepFailed(f"{to_v}: the reader task failed:\n{reader.tail(40)}")
    return json.loads((work / "read_back.json").read_text()), reader


def _verdict(problems: list[str]) -> int:
    """Step 3's exit: 0 when nothing differs, else 1 with every problem listed."""
    if problems:
        print(f"FAILED: {len(problems)} problem(s):")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print("OK")
    return 0


def rehearse(args: argparse.Namespace) -> int:
    if args.db == "postgres" and not args.db_url:
        try:
            with PostgresCluster.start() as cluster:
                print(f"  PostgreSQL: throwaway cluster at {cluster.server_url}")
                args.db_url = cluster.database("rehearsal")
                return _rehearse(args)
        except PostgresUnavailable as exc:
            raise StepFailed(str(exc)) from exc
    return _rehearse(args)


def _rehearse(args: argparse.Namespace) -> int:
    started = time.monotonic()
    base = Path(args.workdir or tempfile.mkdtemp(prefix="xcom-s3-rehearsal-")).resolve()
    work = base / f"rehearsal-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    prefix = f"rehearsal-{uuid.uuid4().hex[:12]}"
    src, dst = _homes(args, work, prefix)
    ours = args.backend == DEFAULT_BACKEND
    from_v, to_v = ".".join(map(str, src.version)), ".".join(map(str, dst.version))
    print(f"upgrade rehearsal: Airflow {from_v} -> {to_v} on {src.db.dialect}, backend {args.backend}")
    print(f"  S3 {args.s3_endpoint} s3://{args.bucket}/{prefix}/")
    print(f"  workdir {work}")

    originals, objects_before = _write_from(src, work, from_v, ours)
    sqlite = src.db.dialect == "sqlite"
    migrate = _migrate_to(dst, work, len(originals), sqlite, args.sqlite_migrate_as_is, from_v, to_v)
    # our reference format only; any backend's rows must survive the migration (compared below)
    refs = _references(originals)
    pg_problems = [] if sqlite or dst.version < (3, 0, 0) or not ours else postgres_problems(dst.db, refs, to_v)
    if not sqlite and not pg_problems and ours:
        print(f"  PostgreSQL: {refs} references are JSONB after the migration; _xcom_archive empty")
    read_back, reader = _read_to(dst, work, to_v)
    objects_after = _objects(dst, "s3-after", ours)
    print(f"  TO   {to_v}: db migrate {migrate.seconds:.0f}s, reader task {reader.seconds:.0f}s (success)")

    equal, problems, notes = diff(originals, read_back, from_v, to_v)
    problems += pg_problems
    if objects_after != objects_before:
        changed = sorted(set(objects_before) ^ set(objects_after))
        problems.append(f"S3 changed while {to_v} only read: {changed}")
    for note in notes:
        print(f"  note: {note}")
    print(f"  read back equal: {equal}/{len(originals)}; {time.monotonic() - started:.0f}s in all")
    return _verdict(problems)


def main(argv: list[str] | None = None) -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--from-python", required=True, help="interpreter of the venv with the old release")
    parser.add_argument("--to-python", required=True, help="interpreter of the venv with the new release")
    parser.add_argument("--s3-endpoint", required=True, help="S3 endpoint URL that outlives both halves")
    parser.add_argument("--bucket", required=True, help="bucket (created if missing)")
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    parser.add_argument(
        "--backend",
        default=DEFAULT_BACKEND,
        metavar="MODULE.CLASS",
        help=f"the XCom backend both releases run (default {DEFAULT_BACKEND}); its own settings from "
        "XCOM_S3_TEST_BACKEND_ENV",
    )
    parser.add_argument(
        "--sqlite-migrate-as-is",
        action="store_true",
        help="run TO's migrate on SQLite with Airflow's foreign keys on (3.x: loses every TI and XCom row)",
    )
    parser.add_argument(
        "--db",
        choices=("sqlite", "postgres"),
        default=os.environ.get("XCOM_S3_TEST_DB", "sqlite"),
        help="the metadata DB both halves share (postgres: a throwaway cluster; default $XCOM_S3_TEST_DB or sqlite)",
    )
    parser.add_argument("--db-url", help="an empty database's SQLAlchemy URL to use instead (postgresql+psycopg2://)")
    parser.add_argument("--workdir", help="where the two homes and the results go (default: a new temp dir)")
    args = parser.parse_args(argv)
    try:
        return rehearse(args)
    except StepFailed as exc:
        print(f"ERROR: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
