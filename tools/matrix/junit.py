"""Read pytest's JUnit XML into check groups: one group per test file (``properties/test_roundtrip.py``).

A skip is one of three things, told apart by its message (the vocabulary tests/conftest.py writes):
``n/a: <why>`` (the check cannot apply to the selected backend), ``not reached: <why>`` (its precondition
failed, so what it checks never ran: never a pass) or any other reason (an ordinary skip).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

#: Failures kept per group in the JSON report (the XML has them all).
_KEEP = 5
#: Skip-message prefixes (tests/conftest.py writes them).
NA, NOT_REACHED = "n/a: ", "not reached: "
#: How hypothesis introduces the shrunk example: "Falsifying example:" (6.129 in the 2.x venvs), "Failing test
#: case:" (6.170 in the 3.x venvs), "Falsifying explicit example:" for an @example.
_EXAMPLE = re.compile(r"(Falsifying (explicit )?example|Failing test case): ")
#: Longest condensed example kept (a DataFrame's repr can run for pages).
_EXAMPLE_CHARS = 160


@dataclasses.dataclass
class Group:
    name: str
    passed: int = 0
    failed: int = 0
    #: Of ``failed``, those pytest reported as errors (a fixture or collection broke, not an assertion).
    errors: int = 0
    skipped: int = 0
    skip_reasons: list[str] = dataclasses.field(default_factory=list)
    failures: list[str] = dataclasses.field(default_factory=list)
    na: int = 0
    na_reasons: list[str] = dataclasses.field(default_factory=list)
    not_reached: int = 0
    not_reached_reasons: list[str] = dataclasses.field(default_factory=list)
    #: The sum of its testcases' JUnit ``time`` (setup + call + teardown, so a module fixture's cost lands in the
    #: first test using it); pytest's collection and session start-up are in no group.
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped + self.na + self.not_reached

    @property
    def status(self) -> str:
        """``fail``, else ``not reached`` (never a pass), else ``n/a`` if all n/a, ``skip`` if none passed, ``pass``."""
        if self.failed:
            return "fail"
        if self.not_reached:
            return "not reached"
        if self.passed:
            return "pass"
        if self.na and not self.skipped:
            return "n/a"
        if self.skipped or self.na:
            return "skip"
        return "pass"

    def as_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "status": self.status}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Group:
        """Older reports lack the n/a, not-reached and seconds fields: they default to none."""
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})


def _test_file(classname: str, name: str, root: Path) -> Path | None:
    """``tests.properties.test_frames.TestX`` -> ``tests/properties/test_frames.py``, via the files on disk."""
    dotted = classname or name  # collection errors carry the module in ``name`` and no classname
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        candidate = Path(*parts[:cut]).with_suffix(".py")
        if (root / candidate).is_file():
            return candidate
    return None


@functools.lru_cache(maxsize=64)
def _given_arguments(path: Path) -> dict[str, frozenset[str]]:
    """Per test function in ``path``: the arguments its ``@given`` generates (hypothesis prints the fixtures too).

    Keywords name them; positional strategies fill the rightmost parameters, as hypothesis maps them.
    """
    try:
        tree = ast.parse(path.read_text())
    except (OSError, SyntaxError, ValueError):
        return {}
    found: dict[str, frozenset[str]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for decorator in node.decorator_list:
            if not isinstance(decorator, ast.Call):
                continue
            func = decorator.func
            if (func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")) != "given":
                continue
            names = {k.arg for k in decorator.keywords if k.arg}
            if decorator.args:
                names.update(a.arg for a in node.args.args[-len(decorator.args) :])
            found[node.name] = frozenset(names)
    return found


def shrunk_example(text: str, generated: frozenset[str] | None = None) -> str:
    """The first example hypothesis printed in ``text``, on one line: ``x=10, s=''``; ``""`` if none.

    The report spreads the call over lines, each behind pytest's ``E   `` or an exception group's ``  | ``.
    Hypothesis also prints the test's fixtures and parameters, which never vary: with ``generated`` (the names
    ``@given`` fills) only those are kept.
    """
    lines = text.splitlines()
    for i, line in enumerate(lines):
        found = _EXAMPLE.search(line)
        if not found:
            continue
        prefix, call = line[: found.start()], line[found.end() :].strip()
        if call.endswith(")") and "(" in call:  # all on one line: test(x=1)
            return _condense([call[call.index("(") + 1 : -1]], generated)
        args = []
        for more in lines[i + 1 : i + 200]:
            if not more.startswith(prefix.rstrip()):
                break
            arg = more[len(prefix) :] if more.startswith(prefix) else ""
            if arg.strip() == ")":
                break
            args.append(arg)
        return _condense(args, generated)
    return ""


def _join(before: str, piece: str) -> str:
    """A value's next line: ``XComContext(key='k', task_id='t')`` stays one call; a DataFrame's rows are joined
    with `` | `` as tests/findings.py joins them."""
    if piece == ",":
        return before + piece
    if before.endswith(("(", "[", "{", "=")):
        return before + piece
    if piece[0] in ")]}":
        return before.rstrip(",") + piece
    return before + (" " if before.endswith(",") else " | ") + piece


def _condense(args: list[str], generated: frozenset[str] | None = None) -> str:
    """Argument lines -> ``n=2, frame=c d | 0 a 0``: one line; comments, ``self`` and what is not ``generated``
    dropped.

    An argument starts at the call's indentation with ``name=``; deeper lines continue its value.
    """
    lines = [re.sub(r"\s{2}#.*$", "", arg).rstrip() for arg in args if arg.strip()]
    base = min((len(line) - len(line.lstrip()) for line in lines), default=0)
    parts: list[str] = []
    for line in lines:
        body = " ".join(line.split())
        starts = len(line) - len(line.lstrip()) == base and re.match(r"\w+=", body)
        if parts and (not starts or parts[-1].endswith("=")):
            parts[-1] = _join(parts[-1], body)
        else:
            parts.append(body)
    named = [(p.partition("=")[0], p.rstrip(",")) for p in parts]
    kept = [p for name, p in named if name != "self" and (generated is None or name in generated)]
    text = ", ".join(kept)
    return text if len(text) <= _EXAMPLE_CHARS else text[: _EXAMPLE_CHARS - 1] + "…"


def _first_line(message: str, text: str) -> str:
    """The message's first line; for "Hypothesis found N distinct failures", the first of them instead."""
    first = (message.splitlines() or [""])[0].strip()
    multiple = re.search(r"Hypothesis found (\d+) distinct failures", first)
    if multiple:
        # The group's text: "  +-+---- 1 ----" then "    | Traceback ...", frames, "    | TypeError: small".
        lines = text.splitlines()
        start = next((i for i, line in enumerate(lines) if re.search(r"\+-+ 1 -+", line)), len(lines))
        for line in lines[start + 1 :]:
            inner = line.split("| ", 1)[1] if "| " in line else ""
            if inner and not inner[0].isspace() and not inner.startswith("Traceback"):
                first = f"{inner.strip()} (1 of {multiple.group(1)} distinct failures)"
                break
    return first.removeprefix("AssertionError: ")[:200]


def failure_line(name: str, message: str, text: str, generated: frozenset[str] | None = None) -> str:
    """``test: first line of the message — e.g. <shrunk example>`` (the example only when hypothesis gave one)."""
    line = f"{name}: {_first_line(message, text)}"
    example = shrunk_example(message, generated) or shrunk_example(text, generated)
    return f"{line} — e.g. {example}" if example else line


def _skip_kind(skipped: ET.Element) -> tuple[str, str]:
    """(``na`` | ``not_reached`` | ``skip``, reason without its prefix); xfails stay skips, marked ``xfail: ``."""
    message = (skipped.get("message") or "no reason given").strip().removeprefix("Skipped: ")
    if skipped.get("type") == "pytest.xfail":
        return "skip", f"xfail: {message}"[:200]
    if message.startswith(NA):
        return "na", message.removeprefix(NA).strip()[:200]
    if message.startswith(NOT_REACHED):
        return "not_reached", message.removeprefix(NOT_REACHED).strip()[:200]
    return "skip", message[:200]


def _note(reasons: list[str], reason: str) -> None:
    if reason not in reasons:
        reasons.append(reason)


def read(xml_path: Path, root: Path) -> list[Group]:
    """Groups in file order; an unreadable or missing file yields no groups (the caller reports why)."""
    try:
        tree = ET.parse(xml_path)
    except (OSError, ET.ParseError):
        return []
    groups: dict[str, Group] = {}
    for case in tree.iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        source = _test_file(classname, name, root)
        key = source.as_posix().removeprefix("tests/") if source else (classname or name)
        group = groups.setdefault(key, Group(key))
        group.seconds += _case_seconds(case)
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
            group.errors += problem is not None
        skipped = case.find("skipped")
        if problem is not None:
            group.failed += 1
            if len(group.failures) < _KEEP:
                generated = _given_arguments(root / source).get(name.split("[")[0]) if source else None
                message = problem.get("message") or problem.tag
                group.failures.append(failure_line(name, message, problem.text or "", generated))
        elif skipped is not None:
            kind, reason = _skip_kind(skipped)
            if kind == "na":
                group.na += 1
                _note(group.na_reasons, reason)
            elif kind == "not_reached":
                group.not_reached += 1
                _note(group.not_reached_reasons, reason)
            else:
                group.skipped += 1
                _note(group.skip_reasons, reason)
        else:
            group.passed += 1
    for group in groups.values():
        group.seconds = round(group.seconds, 3)  # JUnit gives milliseconds; no float noise in the JSON
    return list(groups.values())


def _case_seconds(case: ET.Element) -> float:
    """A testcase's ``time`` attribute; 0 when absent or unreadable (a hand-made or truncated report)."""
    try:
        seconds = float(case.get("time") or 0)
    except ValueError:
        return 0.0
    return seconds if math.isfinite(seconds) and seconds > 0 else 0.0
