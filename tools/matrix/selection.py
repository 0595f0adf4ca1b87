"""The words after ``nox -s matrix --``: which entries to run, and what to pass on to pytest.

Words of one kind widen the selection, kinds narrow it: ``-- 2.10 3.3 pd3`` is (Airflow 2.10.x or 3.3.x) and
pandas 3. Kinds: an Airflow version or prefix (``3``, ``3.1``, ``3.4.0b2``; ``3.1`` never matches 3.10),
``py3.13``, ``pd2``/``pandas2``, ``stable``/``pre``, ``edges`` (the oldest and newest stable release of each
Airflow major), anything else a substring of the entry id (``af2.10.5-py3.11-pd2``).
``--db postgres`` (or ``--db sqlite``) runs the selected entries' e2e tests and rehearsals on that database,
whatever matrix.yaml's ``db`` says. Words after a second ``--`` go to pytest: ``nox -s matrix -- 3.3 -- -k x``.
"""

from __future__ import annotations

import dataclasses
import re

from tools.matrix.entries import CHANNELS, DATABASES, Entry, Matrix

_VERSION = re.compile(r"^\d+(\.\d+)*([a-z]+\d*)?$")
_PYTHON = re.compile(r"^py(\d+\.\d+)$")
_PANDAS = re.compile(r"^(?:pd|pandas)(\d+)$")


@dataclasses.dataclass(frozen=True)
class Selection:
    words: dict[str, tuple[str, ...]]
    pytest_args: tuple[str, ...] = ()
    #: Airflow versions ``edges`` stands for.
    edges: frozenset[str] = frozenset()
    #: ``--db``: the metadata DB for every selected entry, instead of each entry's own.
    db: str | None = None

    @classmethod
    def parse(cls, posargs: list[str] | tuple[str, ...], matrix: Matrix) -> Selection:
        args = list(posargs)
        extra: list[str] = []
        if "--" in args:
            cut = args.index("--")
            args, extra = args[:cut], args[cut + 1 :]
        args, db = take_db(args)
        words: dict[str, list[str]] = {}
        for word in args:
            words.setdefault(_kind(word), []).append(word)
        return cls({k: tuple(v) for k, v in words.items()}, tuple(extra), _edges(matrix), db)

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
