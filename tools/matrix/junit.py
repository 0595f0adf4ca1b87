"""Read pytest's JUnit XML into check groups: one group per test file (``properties/test_roundtrip.py``)."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

#: Failures kept per group in the JSON report (the XML has them all).
_KEEP = 5


@dataclasses.dataclass
class Group:
    name: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    skip_reasons: list[str] = dataclasses.field(default_factory=list)
    failures: list[str] = dataclasses.field(default_factory=list)

    @property
    def status(self) -> str:
        """``fail`` if anything failed, ``skip`` if everything skipped, else ``pass``."""
        if self.failed:
            return "fail"
        if self.skipped and not self.passed:
            return "skip"
        return "pass"

    def as_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "status": self.status}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Group:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})


def _group_name(classname: str, name: str, root: Path) -> str:
    """``tests.properties.test_frames.TestX`` -> ``properties/test_frames.py``, via the files on disk."""
    dotted = classname or name  # collection errors carry the module in ``name`` and no classname
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        candidate = Path(*parts[:cut]).with_suffix(".py")
        if (root / candidate).is_file():
            path = candidate.as_posix()
            return path.removeprefix("tests/")
    return dotted


def read(xml_path: Path, root: Path) -> list[Group]:
    """Groups in file order; an unreadable or missing file yields no groups (the caller reports why)."""
    try:
        tree = ET.parse(xml_path)
    except (OSError, ET.ParseError):
        return []
    groups: dict[str, Group] = {}
    for case in tree.iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        key = _group_name(classname, name, root)
        group = groups.setdefault(key, Group(key))
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        skipped = case.find("skipped")
        if problem is not None:
            group.failed += 1
            if len(group.failures) < _KEEP:
                message = (problem.get("message") or problem.tag).splitlines()[0][:200]
                group.failures.append(f"{name}: {message}")
        elif skipped is not None:
            group.skipped += 1
            kind = "xfail: " if skipped.get("type") == "pytest.xfail" else ""
            reason = kind + (skipped.get("message") or "no reason given").strip()[:200]
            if reason not in group.skip_reasons:
                group.skip_reasons.append(reason)
        else:
            group.passed += 1
    return list(groups.values())
