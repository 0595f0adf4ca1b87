"""Test session set-up: a throwaway AIRFLOW_HOME, hypothesis profiles, the S3 endpoint, per-test backend env.

AIRFLOW_HOME is set here, at import, because pytest imports this file before any test module: any Airflow
import without it writes ``~/airflow``. Nothing here imports Airflow, moto or the backend at module level
(the matrix venvs have no moto; the S3 server is another process reached through ``XCOM_S3_TEST_ENDPOINT``).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

_AIRFLOW_HOME = tempfile.mkdtemp(prefix="xcom-s3-airflow-home-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", os.path.join(_AIRFLOW_HOME, "dags"))
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)

# tests/ itself is on sys.path by pyproject's `pythonpath`, which puts its folders first. The repo's compat and
# backend go last instead, so PYTHONPATH or an installed wheel wins but a bare `pytest` still finds them; the repo
# root last of all, for the harness's stdlib-only modules (tools.matrix.rehearsals, moto_process, the report code):
# appended, a site-packages ``tools`` namespace (cron-descriptor ships one) loses to our regular package.
sys.path += [str(Path(__file__).parents[1] / d) for d in ("compat", "backend", "")]

import findings  # noqa: E402
from hypothesis import HealthCheck, Phase, settings  # noqa: E402
from hypothesis.database import DirectoryBasedExampleDatabase  # noqa: E402
from s3_server import MotoServer, S3Endpoint, backend_env, endpoint_from_env  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
#: One database for every venv of the matrix (.hypothesis/ is gitignored): a failure found on one release is
#: replayed first on all the others. XCOM_S3_HYPOTHESIS_DB points elsewhere (e.g. for mutation runs).
EXAMPLE_DB = DirectoryBasedExampleDatabase(
    os.environ.get("XCOM_S3_HYPOTHESIS_DB") or str(REPO_ROOT / ".hypothesis" / "examples")
)

# Property tests take a per-test fixture (its S3 prefix) on purpose; examples make their own prefix/context.
_SUPPRESSED = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]
# Every profile reports ONE failure per test, the shrunk one (report_multiple_bugs=False): a findings line then
# shows its minimal example, never "Hypothesis found N distinct failures".
# dev skips the "explain" phase: it re-runs a failing example under a tracer, minutes on S3-bound tests.
settings.register_profile(
    "dev",
    max_examples=30,
    deadline=None,
    database=EXAMPLE_DB,
    suppress_health_check=_SUPPRESSED,
    report_multiple_bugs=False,
    phases=[p for p in Phase if p.name != "explain"],  # by name: hypothesis < 6.8x has no explain phase
)
# Hypothesis forbids a database with derandomize=True (and with --hypothesis-seed): ci runs the same
# examples on every release instead, and prints a reproduction blob for any failure.
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=_SUPPRESSED,
    report_multiple_bugs=False,
)
# gate: the README's test command (`.ci/run`), the whole stable matrix on a 2-core machine: dev's budget, so the
# 24 entries fit CI's time, with ci's determinism, so the gate never turns red on an example it drew by chance.
settings.register_profile("gate", parent=settings.get_profile("dev"), database=None, derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


#: The backend the suite runs against unless --backend / XCOM_S3_TEST_BACKEND names another.
DEFAULT_BACKEND = "xcom_s3.S3XComBackend"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        default=None,
        metavar="MODULE.CLASS",
        help=f"XCom backend the tests run against (env XCOM_S3_TEST_BACKEND; default {DEFAULT_BACKEND})",
    )


def _backend_path(config: pytest.Config) -> str:
    return str(config.getoption("--backend") or os.environ.get("XCOM_S3_TEST_BACKEND") or DEFAULT_BACKEND)


#: The skip reason of a check marked ``ours_only`` when another backend is selected ("n/a: " = the check cannot
#: apply to that backend; the report counts it apart from pass).
OURS_ONLY = "n/a: applies to xcom_s3 only"
#: Groups (paths under tests/) whose tests run our backend or the reference backends, never the selected one: with
#: another backend selected they say so instead of passing. A mutant of ours counts as ours (``nox -s gate-check``).
OURS_GROUPS = {
    "robustness/": "n/a: runs xcom_s3, not the selected backend",
    "gc/": "n/a: runs xcom_s3, not the selected backend",
    "iam/": "n/a: runs xcom_s3, not the selected backend",
    "gate/test_vendor.py": "n/a: runs xcom_s3 (a vendored copy), not the selected backend",
    "gate/test_known_regressions.py": "n/a: runs xcom_s3's immunity checks, not the selected backend",
    "e2e/test_pg_server.py": "n/a: tests the harness's PostgreSQL server, not the selected backend",
    "harness/": "n/a: tests the harness's report code, not the selected backend",
    "reference/": "n/a: runs the reference backends (Airflow's default, common-io, xcom_s3), not the selected backend",
}
TESTS_DIR = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    findings.start(_backend_path(config))
    config.pluginmanager.register(findings, "xcom_s3_findings")
    config.addinivalue_line(
        "markers",
        f"ours_only: a check of xcom_s3's own contract (S3 layout, keys, reference format, threshold); it "
        f"skips ('{OURS_ONLY}') when --backend selects a backend that is not S3XComBackend or derived from it",
    )


_BACKEND = pytest.StashKey[tuple[Any, list[Any]]]()


def _resolved(config: pytest.Config) -> tuple[Any, list[Any]]:
    """The selected backend and the warnings raised while Airflow resolved it (its module's first import
    included), once per session (imports Airflow: only called by tests that need it)."""
    if _BACKEND not in config.stash:
        from airflow_io import resolve_backend_reporting

        config.stash[_BACKEND] = resolve_backend_reporting(_backend_path(config))
    return config.stash[_BACKEND]


def _backend(config: pytest.Config) -> Any:
    return _resolved(config)[0]


def _selected_is_ours(config: pytest.Config) -> bool:
    """Whether the selected backend is ours or derives from it; one that cannot even be resolved is not (its
    own tests fail with the real exception)."""
    if _backend_path(config) == DEFAULT_BACKEND:
        return True
    from airflow_io import is_ours

    try:
        return bool(is_ours(_backend(config)))
    except Exception:
        return False


def _group_reason(item: pytest.Item) -> str | None:
    try:
        where = Path(str(item.path)).resolve().relative_to(TESTS_DIR).as_posix()
    except ValueError:
        return None
    return next((reason for group, reason in OURS_GROUPS.items() if where.startswith(group)), None)


def pytest_runtest_setup(item: pytest.Item) -> None:
    group = _group_reason(item)
    ours_only = item.get_closest_marker("ours_only") is not None
    if (group or ours_only) and not _selected_is_ours(item.config):
        pytest.skip(group or f"{OURS_ONLY}: {_backend_path(item.config)} is not xcom_s3.S3XComBackend")


@pytest.fixture(scope="session")
def backend_path(pytestconfig: pytest.Config) -> str:
    """``module.Class`` of the backend under test (--backend, XCOM_S3_TEST_BACKEND, or ours)."""
    return _backend_path(pytestconfig)


@pytest.fixture(scope="session")
def backend(pytestconfig: pytest.Config) -> Any:
    """THE backend under test, as Airflow's resolver hands it to ``XCom``: every check takes it from here."""
    return _backend(pytestconfig)


@pytest.fixture(scope="session")
def resolution_warnings(pytestconfig: pytest.Config) -> list[Any]:
    """Every warning (``warnings.WarningMessage``) raised while Airflow resolved the selected backend."""
    return list(_resolved(pytestconfig)[1])


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [
        f"xcom backend={_backend_path(config)}",
        f"AIRFLOW_HOME={_AIRFLOW_HOME}",
        f"hypothesis profile={settings._current_profile}",  # type: ignore[attr-defined]
        f"S3 endpoint={os.environ.get('XCOM_S3_TEST_ENDPOINT') or 'moto ThreadedMotoServer on 127.0.0.1'}",
    ]


@pytest.fixture(scope="session", autouse=True)
def botocore_models_parsed_once() -> Iterator[None]:
    """botocore loaders that share one cache of parsed JSON models (per search path) for the whole session.

    Why: the backend makes a boto3 session per client and the suite resets the client for every test, so each test
    parsed botocore's S3 model, endpoint rules and service list again (~0.12 s CPU, most of a fast test). The cache
    is botocore's own (``Loader._cache``, keyed by what was loaded, filled only by successful loads), already shared
    by every client of one session, so what each client gets is unchanged.
    """
    import botocore.loaders
    import botocore.session

    caches: dict[str | None, dict[Any, Any]] = {}

    def create_loader(search_path_string: str | None = None) -> Any:
        loader = botocore.loaders.create_loader(search_path_string)
        loader._cache = caches.setdefault(search_path_string, {})
        return loader

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", create_loader)
        yield


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Endpoint]:
    """The session's S3 endpoint: XCOM_S3_TEST_ENDPOINT if set, else moto on a free loopback port."""
    endpoint = endpoint_from_env()
    server = None
    if endpoint is None:
        try:
            server = MotoServer()
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)
        endpoint = server.start()
    endpoint.ensure_bucket()
    try:
        yield endpoint
    finally:
        if server is not None:
            server.stop()


@dataclass
class XComS3Env:
    """What a test needs to look at the backend's S3 side: its endpoint, its own prefix, a client."""

    endpoint: S3Endpoint
    prefix: str
    monkeypatch: pytest.MonkeyPatch
    _client: Any = field(default=None, repr=False)
    #: Names ``--backend-env`` set for the current prefix (re-expanded, or dropped, on the next prefix).
    _backend_env: list[str] = field(default_factory=list, repr=False)

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self.endpoint.client()
        return self._client

    def set(self, name: str, value: str | int | None) -> None:
        """Set (or with None, unset) ``[xcom_s3] name`` for the rest of the test; the backend re-reads it."""
        var = f"AIRFLOW__XCOM_S3__{name.upper()}"
        if value is None:
            self.monkeypatch.delenv(var, raising=False)
        else:
            self.monkeypatch.setenv(var, str(value))

    def new_prefix(self) -> str:
        """Switch to a fresh prefix (one per hypothesis example when objects must be counted); the selected
        backend's own settings (``--backend-env``, templates may use ``{prefix}``) follow it."""
        self.prefix = f"t-{uuid.uuid4().hex[:12]}"
        self.set("prefix", self.prefix)
        for name in self._backend_env:
            self.monkeypatch.delenv(name, raising=False)
        extra = backend_env(self.endpoint, self.prefix)
        for name, value in extra.items():
            self.monkeypatch.setenv(name, value)
        self._backend_env = list(extra)
        return self.prefix

    def keys(self, prefix: str | None = None) -> list[str]:
        """Every object key under ``prefix`` (default: this test's prefix), sorted."""
        found: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.endpoint.bucket, Prefix=(prefix or self.prefix) + "/"):
            found += [obj["Key"] for obj in page.get("Contents", [])]
        return sorted(found)

    def objects(self) -> list[str]:
        """The objects the backend keeps (``properties.checks.Storage``): every key under this test's prefix."""
        return self.keys()

    def get(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=self.endpoint.bucket, Key=key)["Body"].read())


@pytest.fixture
def xcom_s3_env(s3_server: S3Endpoint, monkeypatch: pytest.MonkeyPatch, backend_path: str) -> Iterator[XComS3Env]:
    """Point the backend at the test S3 under this test's own prefix: tests never see each other's objects.

    Ours reads ``AIRFLOW__XCOM_S3__*``; another backend finds the same S3 through ``AWS_ENDPOINT_URL``, the
    ``aws_default`` connection, or its own settings mapped by ``--backend-env`` (``s3_server.backend_env``)."""
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    for name in ("THRESHOLD", "COMPRESSION", "SSE", "KMS_KEY_ID"):
        monkeypatch.delenv(f"AIRFLOW__XCOM_S3__{name}", raising=False)
    monkeypatch.setenv("AIRFLOW__CORE__XCOM_BACKEND", backend_path)
    env = XComS3Env(endpoint=s3_server, prefix="", monkeypatch=monkeypatch)
    env.new_prefix()
    from xcom_s3 import S3XComBackend

    S3XComBackend.reset_client()
    yield env
    S3XComBackend.reset_client()


@pytest.fixture
def storage(backend: Any, xcom_s3_env: XComS3Env) -> XComS3Env | None:
    """Where the backend under test keeps offloaded values, so checks can count objects: this test's S3 prefix
    for ours (and mutants); None for another backend, whose storage the harness cannot see (its checks then
    assert only what a task observes)."""
    from airflow_io import is_ours

    return xcom_s3_env if is_ours(backend) else None
