"""The README's least-privilege IAM policy and lifecycle rule, read from README.md itself, so the tests check what
users copy and the two cannot drift.

The section ``### Least-privilege IAM policy`` holds JSON blocks: the one with a ``Statement`` is the policy, the one
with ``Rules`` the bucket lifecycle configuration. The bucket and prefix the tests use are the policy's own (its
object statement's ``Resource``, ``arn:aws:s3:::<bucket>/<prefix>/*``), so a renamed example bucket moves with it.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### Least-privilege IAM policy"
_BLOCK = re.compile(r"^```json\n(.*?)^```", re.S | re.M)
_OBJECTS = re.compile(r"^arn:aws:s3:::([^/*]+)/(.+)/\*$")


class ReadmeChanged(AssertionError):
    """README.md no longer has what these tests read from it; the message says what is missing."""


@dataclass(frozen=True)
class ReadmePolicy:
    """The policy as the README prints it, and what the tests derive from it."""

    text: str
    document: dict[str, Any]
    lifecycle: dict[str, Any]
    bucket: str
    prefix: str

    def actions(self) -> list[str]:
        """Every action the policy allows, in the order the README lists them."""
        found: list[str] = []
        for statement in self.document["Statement"]:
            found += [a for a in _listed(statement["Action"]) if a not in found]
        return found

    def without(self, action: str) -> dict[str, Any]:
        """The policy with ``action`` removed from every statement (a statement left with no action is dropped)."""
        document = copy.deepcopy(self.document)
        kept = []
        for statement in document["Statement"]:
            actions = [a for a in _listed(statement["Action"]) if a != action]
            if actions:
                statement["Action"] = actions
                kept.append(statement)
        document["Statement"] = kept
        return document


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def section(readme: Path = README) -> str:
    """The text of the README's IAM section, up to the next heading of the same or a higher level."""
    text = readme.read_text(encoding="utf-8")
    start = text.find(f"\n{SECTION}\n")
    if start < 0:
        raise ReadmeChanged(f"{readme} has no section {SECTION!r}")
    body = text[start + len(SECTION) + 2 :]
    end = re.search(r"^#{1,3} ", body, re.M)
    return body[: end.start()] if end else body


def read(readme: Path = README) -> ReadmePolicy:
    """The policy, the lifecycle configuration, the bucket and the prefix, exactly as the README has them."""
    blocks = {}
    for raw in _BLOCK.findall(section(readme)):
        document = json.loads(raw)
        blocks["policy" if "Statement" in document else "lifecycle" if "Rules" in document else raw] = (raw, document)
    if "policy" not in blocks or "lifecycle" not in blocks:
        raise ReadmeChanged(f"{SECTION!r} in {readme} must hold a JSON policy (Statement) and lifecycle rules (Rules)")
    text, document = blocks["policy"]
    resources = [
        match.groups()
        for statement in document["Statement"]
        for resource in _listed(statement["Resource"])
        if (match := _OBJECTS.match(resource))
    ]
    if len(set(resources)) != 1:
        raise ReadmeChanged(f"the README policy should grant one arn:aws:s3:::<bucket>/<prefix>/*, found {resources}")
    bucket, prefix = resources[0]
    return ReadmePolicy(text=text, document=document, lifecycle=blocks["lifecycle"][1], bucket=bucket, prefix=prefix)
