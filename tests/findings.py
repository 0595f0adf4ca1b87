"""Findings: every failed check as a diagnosis (root cause, shortest example, what to change), written as JSON.

A pytest plugin (registered by conftest): each failed setup or call (never an xfail) becomes a Finding; a check
that passes may still record a warning with ``note()``. At the end of the session the findings go to
``XCOM_S3_FINDINGS_FILE`` (if set) as ``{"backend": "mod.Class", "findings": [...]}``, which the report turns into
one line per root cause. The cause and the fix come from ONE table, ``RULES``: a regex on the failure's text ->
a cause slug (same slug = same root cause, across checks and releases) and what to change. Nothing here imports
Airflow.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Generator, Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pluggy import Result

#: Where the plugin writes its JSON (set by the harness; absent = the findings are only kept in memory).
FILE_VARIABLE = "XCOM_S3_FINDINGS_FILE"
EXAMPLE_LIMIT = 300
SUMMARY_LIMIT = 600  # a frame's dtype losses are listed column by column

_PORTABLE = "compat's PortableXComBackend does this on every release"
_PARQUET = (
    "store DataFrames in a typed format: Parquet through pyarrow keeps dtypes, categories, index and the "
    "row count of a frame without columns (CSV keeps none of them)"
)
_ESCAPE = (
    "mark the backend's references unambiguously (e.g. a dict with a marker key) and escape user values that "
    f"look like one, so a pull never takes a user value for a reference ({_PORTABLE})"
)


@dataclass(frozen=True)
class Rule:
    """A failure text pattern -> its root cause and what to change. ``summary`` (optional) rewrites the summary
    from the match (``{0}`` the whole match, ``{1}``... its groups) where the raw line would be less clear."""

    pattern: str
    cause: str
    fix: str
    summary: str = ""


#: THE table: first match wins, so specific patterns come before general ones.
RULES: tuple[Rule, ...] = (
    Rule(
        r"(?<!de)serialize_value\(\) got an unexpected keyword argument '(\w+)'",
        "push-rejects-keyword-context",
        "accept the run context as keyword arguments: serialize_value(value, *, key=None, task_id=None, "
        "dag_id=None, run_id=None, map_index=None, **kwargs); Airflow 3 passes them and patches nothing "
        "(or build on compat's PortableXComBackend, which does this on every release)",
        "every push raises TypeError: serialize_value() got an unexpected keyword argument '{1}'",
    ),
    Rule(
        r"deserialize_value\(\) got an unexpected keyword argument '(\w+)'",
        "pull-rejects-keyword-arguments",
        "declare deserialize_value(result) as a classmethod or staticmethod taking the DB row",
        "every pull raises TypeError: deserialize_value() got an unexpected keyword argument '{1}'",
    ),
    Rule(
        r"(serialize_value|deserialize_value|purge)\(\) (missing \d+ required positional arguments?: [^\n]*"
        r"|takes \d+ positional arguments? but \d+ (?:were|was) given|got multiple values for argument '\w+')",
        "hook-signature-mismatch",
        "declare the hooks as Airflow calls them: serialize_value(value, *, key, task_id, dag_id, run_id, "
        "map_index, **kwargs) and deserialize_value(result) as classmethods/staticmethods, purge(xcom, "
        f"session=None) (2.9+ passes a session, 3.x does not) ({_PORTABLE})",
        "{1}() is called in a way it does not accept: TypeError: {1}() {2}",
    ),
    Rule(
        r"(?:must be str, bytes or bytearray|bytes-like object is required|expected str, bytes or os\.PathLike"
        r" object), not '?(XComResult|Row|LegacyRow|BaseXCom|XCom)'?"
        r"|'(XComResult|Row|LegacyRow|BaseXCom)' object (?:has no attribute|is not subscriptable|is not iterable)",
        "pull-misreads-the-row",
        "deserialize_value(result) gets the DB row (2.x: a SQLAlchemy Row, 3.x: an XComResult), not the stored "
        "value: read result.value and decode it as BaseXCom.deserialize_value(result) does",
    ),
    Rule(
        r"Object of type (bytes|bytearray) is not JSON serializable",
        "push-returns-bytes-on-3x",
        "on Airflow 3 serialize_value must return a JSON value (the API server stores JSON, not bytes): return "
        f"the reference as a str or dict, e.g. what BaseXCom.serialize_value returns on the release ({_PORTABLE})",
        "the push returns bytes, which Airflow 3 cannot store: TypeError: Object of type {1} is not JSON serializable",
    ),
    Rule(
        r"the metadata DB row holds \d+ bytes: the value was not offloaded",
        "not-offloaded",
        "offload values above a size threshold to object storage and keep only a small reference in the DB",
    ),
    Rule(
        r"Object of type DataFrame is not JSON serializable|cannot serialize object of type.{0,60}DataFrame",
        "frames-not-serializable",
        "store DataFrames yourself (Parquet through pyarrow): the release's own serializer has none before 2.6, "
        "and knows pandas 3's DataFrame only from 3.3",
    ),
    Rule(
        r"Object of type \w+ is not JSON serializable|cannot serialize object of type",
        "value-not-json-serializable",
        "serialize inline values as the release's default does (BaseXCom.serialize_value: Airflow's serde knows "
        "datetimes, tuples, sets, DataFrames ...) instead of json.dumps",
    ),
    Rule(
        r"is read as a reference|NoSuchKey|\(404\)|Not Found.*(?:HeadObject|GetObject)|(?:HeadObject|GetObject).*404",
        "user-value-read-as-reference",
        _ESCAPE,
    ),
    Rule(
        r"instead of the pushed value",
        "user-value-read-as-reference",
        _ESCAPE,
    ),
    Rule(
        r"skip XCom is stored as",
        "scheduler-keys-offloaded",
        "keep Airflow's own keys (skipmixin_key, past_depends_met) inline, exactly as BaseXCom.serialize_value "
        "stores them: the 3.x scheduler reads them straight from the DB, the 2.x scheduler without the backend's "
        "credentials",
    ),
    Rule(
        r"operator extra link XCom \S+ is stored as",
        "link-keys-offloaded",
        "keep operator extra-link XComs (keys starting with _link_) inline, exactly as BaseXCom.serialize_value "
        "stores them: Airflow 3's API server reads them straight from the DB to render the UI's extra links, so an "
        "offloaded one shows the backend's stored object instead of the URL",
    ),
    Rule(
        r"the user \w+ .* comes back as",
        "lookalike-misread",
        _ESCAPE,
    ),
    Rule(
        r"frames change on the way back: (?:got an? \w+ back|not a DataFrame)",
        "frame-comes-back-as-another-type",
        _PARQUET,
    ),
    Rule(r"frames change on the way back: shape", "frame-shape-changes", _PARQUET),
    Rule(r"frames change on the way back: (?:index|columns)", "frame-index-or-columns-change", _PARQUET),
    Rule(r"frames change on the way back: column", "frame-dtype-changes", _PARQUET),
    Rule(r"EmptyDataError|No columns to parse from file", "frame-without-columns-fails", _PARQUET),
    Rule(r"DataFrame are different|DataFrame\.\w+ are different", "frame-values-change", _PARQUET),
    Rule(
        r"the backend left \d+ files? in the (working directory|temp dir)",
        "files-left-behind",
        "write temporary files inside tempfile.TemporaryDirectory() (removed on exit), or stream through "
        "io.BytesIO and upload/download the buffer (no file at all)",
    ),
    Rule(
        r"orphaned|\(orphans\)|objects? (?:are |is )?left (?:behind )?in S3|left \d+ (?:more )?objects?",
        "orphaned-objects",
        "derive the object key from (dag_id, run_id, task_id, map_index, key), not a uuid, so a rerun "
        "overwrites it; and implement purge so Airflow's clear deletes it",
    ),
    Rule(
        r"the default backend rejects this value",
        "accepts-what-the-default-rejects",
        "refuse at push what the release's default refuses (serialize with BaseXCom.serialize_value first, "
        "also before offloading): otherwise the failure comes later, at pull or in the UI",
    ),
    Rule(
        r"comes back changed: .*type \w+ != \w+",
        "value-type-changes",
        "decode as the release's default does (BaseXCom.deserialize_value / Airflow's serde), not with a bare "
        "json.loads: tuples, datetimes, strings like '123' must keep their type",
    ),
    Rule(r"comes back changed", "value-changes", "return exactly what was pushed, as the default backend does"),
    Rule(
        r"is using outdated signature",
        "airflow-outdated-serializer-warning",
        "declare serialize_value(value, *, key=None, task_id=None, dag_id=None, run_id=None, map_index=None, "
        "**kwargs): Airflow 2.3+ wraps the old signature in a shim that drops the run context, and Airflow 3 "
        f"calls it with keywords and fails ({_PORTABLE})",
    ),
    Rule(
        r"Deprecat\w*Warning|RemovedInAirflow\d+Warning",
        "airflow-deprecation-warning",
        "replace the deprecated import or call the warning names: it is removed in a later release",
    ),
)

_COMPILED = tuple((re.compile(rule.pattern, re.S), rule) for rule in RULES)
_FIX_BY_CAUSE = {rule.cause: rule.fix for rule in RULES}


@dataclass(frozen=True)
class Finding:
    check: str  #: group path :: test name, e.g. "properties/test_frames.py::test_frames_round_trip_exactly"
    cause: str  #: slug: the same slug is the same root cause
    summary: str
    example: str
    fix: str
    severity: str  #: "error" (a failed check) or "warning" (noted by a check that passed)


_FINDINGS: list[Finding] = []
_CURRENT: dict[str, str] = {"check": ""}
_SESSION: dict[str, str] = {"backend": ""}


def start(backend: str) -> None:
    """Called by conftest at configure time: the selected backend (``module.Class``) the JSON names."""
    _SESSION["backend"] = backend
    _FINDINGS.clear()


def classify(text: str) -> tuple[str, str, str]:
    """(cause, fix, summary rewrite or "") for a failure's text; unknown text gets a slug of its first line."""
    for pattern, rule in _COMPILED:
        match = pattern.search(text)
        if match:
            summary = rule.summary.format(match.group(0), *(g or "" for g in match.groups())) if rule.summary else ""
            return rule.cause, rule.fix, summary
    return slug(first_line(text)), "", ""


def slug(text: str) -> str:
    """A normalized form of a message: what varies (quoted text, numbers, addresses) removed, lower-case."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"|0x[0-9a-f]+|\d+", "", text.lower())
    return re.sub(r"[^a-z]+", "-", text).strip("-")[:60] or "unknown"


def first_line(text: str) -> str:
    """The first non-empty line, without pytest's ``E`` margin; a line that ends in ":" ("Parameter validation
    failed:") takes the next one with it."""
    lines = [line.strip().removeprefix("E ").strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return ""
    if lines[0].endswith(":") and len(lines) > 1:
        return f"{lines[0]} {lines[1]}"
    return lines[0]


def describe(exc: BaseException) -> str:
    """``Type: first line`` of an exception (an AssertionError is its message alone: the message is the
    diagnosis)."""
    line = first_line(str(exc))
    if isinstance(exc, AssertionError) and line:
        return line
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then what it was raised from, and the first member of an exception group (hypothesis with
    report_multiple_bugs=False raises the one shrunk failure, but a group can still reach us)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        members = getattr(current, "exceptions", None)
        if isinstance(members, (list, tuple)) and members and isinstance(members[0], BaseException):
            current = members[0]
            continue
        yield current
        current = current.__cause__ or current.__context__


def _notes(exc: BaseException) -> list[str]:
    notes: list[str] = []
    for member in _chain(exc):
        notes += [str(n) for n in getattr(member, "__notes__", ()) or ()]
    return notes


#: How hypothesis introduces the failing call: "Falsifying example:" / "Falsifying explicit example:", in newer
#: releases "Failing test case:" / "Failing explicit example:".
_EXAMPLE_HEAD = re.compile(r"(?:Falsifying|Failing) (?:explicit )?(?:example|test case): \w+\((.*)", flags=re.S)


def falsifying_example(text: str, fixtures: set[str]) -> str:
    """Hypothesis's failing call ``test(arg=..., ...)`` condensed to one line of the generated arguments
    (fixtures dropped; a multi-line repr such as a DataFrame's joined with " | "), at most EXAMPLE_LIMIT
    characters; "" when there is none."""
    match = _EXAMPLE_HEAD.search(text)
    if not match:
        return ""
    head, _, rest = match.group(1).partition("\n")
    if head.strip():  # all on one line: test(x=1)
        return _clip(" ".join(head.strip().removesuffix(")").split()), EXAMPLE_LIMIT)
    args: list[tuple[str, list[str]]] = []
    for line in rest.splitlines():
        line = line.removeprefix("E").rstrip() if line.startswith("E  ") else line.rstrip()
        if re.match(r"^\)", line):  # the call's closing parenthesis, at the margin
            break
        start = re.match(r"^ {4}(\w+)=(.*)$", line)
        if start:
            args.append((start.group(1), [start.group(2)]))
        elif args and line.strip() not in ("", ","):
            args[-1][1].append(line)
    parts = []
    for name, lines in args:
        pieces = [" ".join(piece.split()) for piece in lines]
        # A value that starts on its own line is a multi-line repr (a DataFrame's rows): keep its lines apart.
        joiner = " | " if not pieces[0] else " "
        value = joiner.join(piece for piece in pieces if piece).rstrip(",")
        if name not in fixtures:
            parts.append(f"{name}={value}")
    return _clip(", ".join(parts), EXAMPLE_LIMIT)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_name(nodeid: str) -> str:
    """``tests/properties/test_x.py::test_y[param]`` -> ``properties/test_x.py::test_y`` (the group path and the
    test: all parametrizations of a check are one check)."""
    return re.sub(r"\[.*\]$", "", nodeid.removeprefix("tests/"))


def _params_example(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return ""
    text = ", ".join(f"{name}={_short(value)}" for name, value in callspec.params.items())
    return _clip(text, EXAMPLE_LIMIT)


def _short(value: Any) -> str:
    if type(value).__name__ == "DataFrame":
        return f"<DataFrame {value.shape[0]}x{value.shape[1]}>"
    return _clip(" ".join(repr(value).split()), 80)


def finding_for(item: pytest.Item, exc: BaseException, report_text: str) -> Finding:
    """The Finding of a failed check: its cause from the whole chain's text, its summary from the top."""
    chain = list(_chain(exc))
    text = "\n".join(f"{type(e).__name__}: {e}" for e in chain)
    cause, fix, rewritten = classify(text)
    summary = rewritten or describe(chain[0] if chain else exc)
    fixtures = set(getattr(item, "fixturenames", ()))
    example = falsifying_example("\n".join(_notes(exc)) + "\n" + report_text, fixtures) or _params_example(item)
    return Finding(check_name(item.nodeid), cause, _clip(summary, SUMMARY_LIMIT), example, fix, "error")


def record(finding: Finding) -> None:
    """Keep ``finding`` unless the same check already has one for the same cause (parametrizations)."""
    if not any(f.check == finding.check and f.cause == finding.cause for f in _FINDINGS):
        _FINDINGS.append(finding)


def also(summary: str, example: str = "") -> None:
    """Record one more root cause of the running check, which is about to fail with several (the e2e run whose
    tasks failed for different reasons): classified like a failure, so each cause gets its own finding."""
    cause, fix, rewritten = classify(summary)
    record(
        Finding(
            _CURRENT["check"] or "unknown",
            cause,
            _clip(rewritten or first_line(summary), SUMMARY_LIMIT),
            _clip(example, EXAMPLE_LIMIT),
            fix,
            "error",
        )
    )


def note(cause: str, summary: str, fix: str = "", example: str = "") -> None:
    """Record a warning-level finding from the running check (which may still pass), e.g. Airflow's warning
    about an outdated serializer. ``fix`` defaults to the table's fix for ``cause``."""
    record(
        Finding(
            _CURRENT["check"] or "unknown",
            cause,
            _clip(summary, SUMMARY_LIMIT),
            _clip(example, EXAMPLE_LIMIT),
            fix or _FIX_BY_CAUSE.get(cause, ""),
            "warning",
        )
    )


def findings() -> list[Finding]:
    return list(_FINDINGS)


def write(path: str, backend: str) -> None:
    with open(path, "w", encoding="utf-8") as out:
        json.dump({"backend": backend, "findings": [asdict(f) for f in _FINDINGS]}, out, indent=2)
        out.write("\n")


# ---- the plugin's hooks (conftest registers this module) -----------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _CURRENT["check"] = check_name(item.nodeid)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Result[pytest.TestReport], None]:
    outcome = yield
    report = outcome.get_result()
    if report.when not in ("setup", "call") or not report.failed or hasattr(report, "wasxfail"):
        return
    if call.excinfo is None:
        return
    try:
        record(finding_for(item, call.excinfo.value, report.longreprtext))
    except Exception:  # a diagnosis must never break the run: keep the failure's first line at least
        record(Finding(check_name(item.nodeid), "unclassified", describe(call.excinfo.value), "", "", "error"))


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get(FILE_VARIABLE)
    if path:
        write(path, _SESSION["backend"])
