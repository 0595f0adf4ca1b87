"""The words after ``nox -s matrix --``: which entries to run, and what to pass on to pytest.

Words of one kind widen the selection, kinds narrow it: ``-- 2.10 3.3 pd3`` is (Airflow 2.10.x or 3.3.x) and
pandas 3. Kinds: an Airflow version or prefix (``3``, ``3.1``, ``3.4.0b2``; ``3.1`` never matches 3.10),
``py3.13``, ``pd2``/``pandas2``, ``stable``/``pre``, ``edges`` (the oldest and newest stable release of each
Airflow major), anything else a substring of the entry id (``af2.10.5-py3.11-pd2``).
``--db postgres`` (or ``--db sqlite``) runs the selected entries' e2e tests and rehearsals on that database,
whatever matrix.yaml's ``db`` says. ``--backend MODULE.CLASS``, ``--install SPEC`` and ``--backend-env
NAME=TEMPLATE`` (the last two repeatable) bring in another team's backend (:class:`BackendChoice`).
Words after a second ``--`` go to pytest: ``nox -s matrix -- 3.3 -- -k x``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator

from tools.matrix.entries import CHANNELS, DATABASES, Entry, Matrix

_VERSION = re.compile(r"^\d+(\.\d+)*([a-z]+\d*)?$")
_PYTHON = re.compile(r"^py(\d+\.\d+)$")
_PANDAS = re.compile(r"^(?:pd|pandas)(\d+)$")
_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
_BACKEND = re.compile(rf"^{_IDENTIFIER}(\.{_IDENTIFIER})+$")
_ENV_NAME = re.compile(rf"^{_IDENTIFIER}$")
_PLACEHOLDER = re.compile(rf"\{{({_IDENTIFIER})\}}")  # {name}: a field, or a typo of one; other braces stay
#: What a --backend-env template may use; tests/s3_server.py (backend_env) expands exactly these.
TEMPLATE_FIELDS = ("endpoint", "bucket", "region", "access_key", "secret_key", "prefix")
#: The backend the suite runs when nobody names another (tests/conftest.py's default).
OUR_BACKEND = "xcom_s3.S3XComBackend"


@dataclasses.dataclass(frozen=True)
class BackendChoice:
    """``--backend``, ``--install`` and ``--backend-env``: which backend runs, and where its code comes from."""

    #: ``module.Class``; None: whatever the suite defaults to (ours, or XCOM_S3_TEST_BACKEND).
    backend: str | None = None
    #: Local paths or requirement specs, installed on top of each entry's lock.
    installs: tuple[str, ...] = ()
    #: ``(NAME, TEMPLATE)`` pairs, handed to the suite as XCOM_S3_TEST_BACKEND_ENV.
    env: tuple[tuple[str, str], ...] = ()

    def env_json(self) -> str:
        return json.dumps(dict(self.env))

    def __bool__(self) -> bool:
        return bool(self.backend or self.installs or self.env)


@dataclasses.dataclass(frozen=True)
class Selection:
    words: dict[str, tuple[str, ...]]
    pytest_args: tuple[str, ...] = ()
    #: Airflow versions ``edges`` stands for.
    edges: frozenset[str] = frozenset()
    #: ``--db``: the metadata DB for every selected entry, instead of each entry's own.
    db: str | None = None
    choice: BackendChoice = BackendChoice()

    @classmethod
    def parse(cls, posargs: list[str] | tuple[str, ...], matrix: Matrix) -> Selection:
        args = list(posargs)
        extra: list[str] = []
        if "--" in args:
            cut = args.index("--")
            args, extra = args[:cut], args[cut + 1 :]
        args, db = take_db(args)
        args, choice = take_backend(args)
        _check_pytest_backend(choice, extra)
        words: dict[str, list[str]] = {}
        for word in args:
            if word.startswith("--"):
                raise ValueError(
                    f"unknown option {word!r} before the second `--` (harness options: --db, --backend, --install, "
                    "--backend-env; pytest's go after a second `--`)"
                )
            words.setdefault(_kind(word), []).append(word)
        return cls({k: tuple(v) for k, v in words.items()}, tuple(extra), _edges(matrix), db, choice)

    @property
    def backend(self) -> str | None:
        """The backend named by ``--backend``, or by pytest's own ``-- -- --backend X``; None if neither."""
        return self.choice.backend or _pytest_backend(self.pytest_args)

    def db_for(self, entry: Entry) -> str:
        return self.db or entry.db

    @property
    def everything(self) -> bool:
        return not self.words

    def matches(self, entry: Entry) -> bool:
        return all(any(self._match(kind, word, entry) for word in group) for kind, group in self.words.items())

    def _match(self, kind: str, word: str, entry: Entry) -> bool:
        if kind == "edges":
            return entry.airflow in self.edges
        return _match(kind, word, entry)

    def mentions(self, name: str) -> bool:
        """Whether a free-text word is ``name`` (tool locks: ``nox -s lock -- s3-server lint``)."""
        return name in self.words.get("text", ())

    def __str__(self) -> str:
        return " ".join(w for group in self.words.values() for w in group) or "(everything)"


def take_db(args: list[str]) -> tuple[list[str], str | None]:
    """``--db NAME`` / ``--db=NAME`` out of the selection words."""
    rest: list[str] = []
    db = None
    words = iter(args)
    for word in words:
        if word == "--db" or word.startswith("--db="):
            db = word.partition("=")[2] or next(words, "")
            if db not in DATABASES:
                raise ValueError(f"--db {db!r}: choose one of {', '.join(DATABASES)}")
        else:
            rest.append(word)
    return rest, db


def take_backend(args: list[str]) -> tuple[list[str], BackendChoice]:
    """``--backend MODULE.CLASS``, ``--install SPEC`` and ``--backend-env NAME=TEMPLATE`` (also ``--opt=value``)
    out of the selection words, validated: every mistake is a ValueError that says what to write instead."""
    rest: list[str] = []
    backend: str | None = None
    installs: list[str] = []
    env: dict[str, str] = {}
    for option, value in _options(args, ("--backend", "--install", "--backend-env"), rest):
        if option == "--backend":
            if backend is not None and backend != value:
                raise ValueError(f"--backend given twice ({backend!r} and {value!r}): name one backend")
            backend = check_backend(value)
        elif option == "--install":
            if not value.strip():
                raise ValueError("--install needs a local path or a requirement spec, e.g. --install ../myrepo")
            installs.append(value.strip())
        else:
            name, template = check_backend_env(value)
            env[name] = template
    return rest, BackendChoice(backend, tuple(installs), tuple(env.items()))


def check_backend(value: str) -> str:
    if not _BACKEND.match(value):
        raise ValueError(
            f"--backend {value!r}: give the backend class as MODULE.CLASS, e.g. --backend myteam.xcom.MyXCom"
        )
    return value


def check_backend_env(value: str) -> tuple[str, str]:
    """``NAME=TEMPLATE``: NAME an environment variable name, TEMPLATE using only the known ``{fields}``."""
    name, eq, template = value.partition("=")
    if not eq or not _ENV_NAME.match(name):
        raise ValueError(
            f"--backend-env {value!r}: write NAME=TEMPLATE with NAME an environment variable name, "
            "e.g. --backend-env S3_XCOM_BUCKET_NAME={bucket}"
        )
    unknown = sorted({f for f in _PLACEHOLDER.findall(template) if f not in TEMPLATE_FIELDS})
    if unknown:
        known = " ".join(f"{{{f}}}" for f in TEMPLATE_FIELDS)
        raise ValueError(
            f"--backend-env {value!r}: unknown placeholder {', '.join(f'{{{u}}}' for u in unknown)}; "
            f"a template may use {known}"
        )
    return name, template


def _options(args: list[str], names: tuple[str, ...], rest: list[str]) -> Iterator[tuple[str, str]]:
    """``(option, value)`` for each ``--name VALUE`` / ``--name=VALUE`` in ``args``; other words go to ``rest``."""
    words = iter(args)
    for word in words:
        option, eq, value = word.partition("=")
        if option not in names:
            rest.append(word)
            continue
        if not eq:
            value = next(words, "")
            if not value or value.startswith("--"):
                raise ValueError(f"{option} needs a value, e.g. {option} {_EXAMPLES[option]}")
        yield option, value


_EXAMPLES = {
    "--backend": "myteam.xcom.MyXCom",
    "--install": "../myrepo",
    "--backend-env": "S3_XCOM_BUCKET_NAME={bucket}",
}


def _pytest_backend(pytest_args: tuple[str, ...] | list[str]) -> str | None:
    """pytest's ``--backend X`` / ``--backend=X`` among the words after the second ``--``."""
    found = None
    words = iter(pytest_args)
    for word in words:
        if word == "--backend":
            found = next(words, None)
        elif word.startswith("--backend="):
            found = word.partition("=")[2]
    return found


def _check_pytest_backend(choice: BackendChoice, pytest_args: list[str]) -> None:
    """``-- -- --backend X`` (pytest's option) still works; it must not contradict the harness's ``--backend``."""
    named = _pytest_backend(pytest_args)
    if named is None:
        return
    check_backend(named)
    if choice.backend is not None and named != choice.backend:
        raise ValueError(f"--backend {choice.backend!r} and pytest's --backend {named!r} disagree: name one backend")


def _edges(matrix: Matrix) -> frozenset[str]:
    """The oldest and the newest stable Airflow release of each major in the matrix."""
    stable = [e for e in matrix.runnable if e.channel == "stable"]
    found = set()
    for major in {e.version.major for e in stable}:
        versions = [e.version for e in stable if e.version.major == major]
        found |= {str(min(versions)), str(max(versions))}
    return frozenset(found)


def _kind(word: str) -> str:
    if word == "edges":
        return "edges"
    if word in CHANNELS:
        return "channel"
    if _PYTHON.match(word):
        return "python"
    if _PANDAS.match(word):
        return "pandas"
    if _VERSION.match(word):
        return "airflow"
    return "text"


def _match(kind: str, word: str, entry: Entry) -> bool:
    if kind == "channel":
        return entry.channel == word
    if kind == "python":
        return entry.python == word[2:]
    if kind == "pandas":
        found = _PANDAS.match(word)
        return found is not None and entry.pandas == int(found.group(1))
    if kind == "airflow":
        wanted = word.split(".")
        return entry.airflow.split(".")[: len(wanted)] == wanted
    return word in entry.id or word == entry.session_args or word == entry.session_name
