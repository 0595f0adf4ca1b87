"""The report side of the matrix: JUnit XML -> groups -> table cells, entry JSON, findings grouped by root cause."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import pytest

from tools.matrix import findings, junit, table, timings
from tools.matrix.junit import Group
from tools.matrix.results import EntryResult, read_all

BACKEND = "naive_xcom.NaiveXCom"
TYPE_ERROR = "every push raises TypeError: serialize_value() got an unexpected keyword argument 'key'"

_XML = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
  <testcase classname="tests.properties.test_x" name="test_pass"/>
  <testcase classname="tests.properties.test_x" name="test_na">
    <skipped type="pytest.skip" message="n/a: applies to xcom_s3 only: a.B is not xcom_s3.S3XComBackend"/>
  </testcase>
  <testcase classname="tests.properties.test_x" name="test_unreached">
    <skipped type="pytest.skip" message="not reached: every push raised TypeError"/>
  </testcase>
  <testcase classname="tests.properties.test_x" name="test_skip">
    <skipped type="pytest.skip" message="needs PostgreSQL"/>
  </testcase>
  <testcase classname="tests.properties.test_x" name="test_xfail">
    <skipped type="pytest.xfail" message="known bug"/>
  </testcase>
  <testcase classname="tests.properties.test_x.TestFrames" name="test_old_hypothesis">
    <failure message={old_message}>long report</failure>
  </testcase>
  <testcase classname="tests.properties.test_x" name="test_new_hypothesis">
    <failure message="AssertionError: boom">backend = &lt;class 'a.B'&gt;, threshold = 0

>   @given(x=st.integers())
_ _ _ _
x = 10

E       AssertionError: boom
E       Failing test case: test_new_hypothesis(
E           backend=a.B,
E           threshold=0,
E           x=10,
E           ctx=Context(
E               key='k',
E               task_id='t',
E           ),
E       )

test_x.py:6: AssertionError</failure>
  </testcase>
  <testcase classname="tests.properties.test_x" name="test_many">
    <failure message="ExceptionGroup: Hypothesis found 2 distinct failures.">  | ExceptionGroup: Hypothesis found 2
  | distinct failures. (2 sub-exceptions)
  +-+---------------- 1 ----------------
    | Traceback (most recent call last):
    |   File "test_x.py", line 14, in test_many
    |     raise TypeError("small")
    | TypeError: small
    | Falsifying example: test_many(
    |     x=-11,
    | )
    +---------------- 2 ----------------
    | ValueError: big
    +------------------------------------</failure>
  </testcase>
  <testcase classname="tests.e2e.test_y" name="test_plain">
    <error message="TypeError: serialize_value() got an unexpected keyword argument 'key'&#10;second line">tb</error>
  </testcase>
</testsuite></testsuites>
"""
#: hypothesis < 6.131 (the 2.x venvs): the shrunk example in the message pytest keeps, a DataFrame spread over lines.
_OLD_MESSAGE = """AssertionError: frames change on the way back: column 'c' category -> object
assert 10 < 10
Falsifying example: test_old_hypothesis(
    self=<test_x.TestFrames object at 0x7f>,
    frame=
           c
        0  a
    ,
    s='',  # or any other generated value
)"""


#: The tests' source: the example keeps only what ``@given`` generates (hypothesis also prints the fixtures).
_SOURCE = """
class TestFrames:
    @given(frame=frames(), s=st.text())
    def test_old_hypothesis(self, frame, s): ...

@settings(max_examples=5)
@hypothesis.given(st.integers(), contexts())
def test_new_hypothesis(backend, threshold, x, ctx): ...
"""


@pytest.fixture
def groups(tmp_path: Path) -> dict[str, Group]:
    for name, source in (("properties/test_x.py", _SOURCE), ("e2e/test_y.py", "")):
        (tmp_path / "tests" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "tests" / name).write_text(source)
    (tmp_path / "junit.xml").write_text(_XML.replace("{old_message}", quoteattr(_OLD_MESSAGE)))
    return {g.name: g for g in junit.read(tmp_path / "junit.xml", tmp_path)}


def test_skips_are_told_apart_by_their_prefix(groups: dict[str, Group]) -> None:
    group = groups["properties/test_x.py"]
    assert (group.passed, group.failed, group.skipped, group.na, group.not_reached) == (1, 3, 2, 1, 1)
    assert group.na_reasons == ["applies to xcom_s3 only: a.B is not xcom_s3.S3XComBackend"]
    assert group.not_reached_reasons == ["every push raised TypeError"]
    assert group.skip_reasons == ["needs PostgreSQL", "xfail: known bug"]


def test_failure_lines_keep_the_first_line_and_the_shrunk_example(groups: dict[str, Group]) -> None:
    assert groups["properties/test_x.py"].failures == [
        "test_old_hypothesis: frames change on the way back: column 'c' category -> object — e.g. frame=c | 0 a, s=''",
        "test_new_hypothesis: boom — e.g. x=10, ctx=Context(key='k', task_id='t')",
        "test_many: TypeError: small (1 of 2 distinct failures) — e.g. x=-11",
    ]
    assert groups["e2e/test_y.py"].failures == [
        "test_plain: TypeError: serialize_value() got an unexpected keyword argument 'key'"
    ]


def test_without_the_source_every_argument_of_the_example_stays() -> None:
    text = "Falsifying example: test_z(\n    backend=a.B,\n    x=1,\n)"
    assert junit.shrunk_example(text) == "backend=a.B, x=1"
    assert junit.shrunk_example(text, frozenset({"x"})) == "x=1"
    assert junit.shrunk_example("Falsifying example: test_z(x=1)") == "x=1"


def test_missing_xml_yields_no_groups(tmp_path: Path) -> None:
    assert junit.read(tmp_path / "absent.xml", tmp_path) == []


@pytest.mark.parametrize(
    ("counts", "status", "cell"),
    [
        ({"passed": 3, "failed": 1, "na": 2, "not_reached": 1}, "fail", "FAIL 1/7"),
        ({"passed": 3, "not_reached": 2, "not_reached_reasons": ["r"]}, "not reached", "not reached 2/5[1]"),
        ({"na": 4, "na_reasons": ["applies to xcom_s3 only"]}, "n/a", "n/a"),
        ({"na": 4, "na_reasons": ["odd reason"]}, "n/a", "n/a[1]"),
        ({"skipped": 2, "skip_reasons": ["r"]}, "skip", "skip[1]"),
        (
            {"skipped": 2, "skip_reasons": ["r"], "na": 1, "na_reasons": ["applies to xcom_s3 only"]},
            "skip",
            "skip[1], 1 n/a",
        ),
        ({"passed": 2, "na": 3, "na_reasons": ["applies to xcom_s3 only"]}, "pass", "pass, 3 n/a"),
        ({"passed": 2, "skipped": 1, "skip_reasons": ["r"]}, "pass", "pass, 1 skip[1]"),
        ({"passed": 2}, "pass", "pass"),
    ],
)
def test_status_and_cell(counts: dict[str, Any], status: str, cell: str) -> None:
    group = Group("g", **counts)
    assert group.status == status
    assert table._cell(group, table._Footnotes()) == cell


def test_groups_of_older_reports_still_load() -> None:
    old = {"name": "g", "passed": 1, "failed": 0, "skipped": 2, "skip_reasons": ["r"], "failures": [], "status": "pass"}
    group = Group.from_json(old)
    assert (group.na, group.not_reached, group.na_reasons, group.status, group.seconds) == (0, 0, [], "pass", 0.0)


def _entry(airflow: str, python: str = "3.12", pandas: int = 2) -> dict[str, Any]:
    entry_id = f"af{airflow}-py{python}-pd{pandas}"
    return {"id": entry_id, "airflow": airflow, "python": python, "pandas": pandas, "channel": "stable"}


def _finding(check: str, cause: str, summary: str, example: str = "", severity: str = "error") -> dict[str, str]:
    return {"check": check, "cause": cause, "summary": summary, "example": example, "fix": "", "severity": severity}


def _result(airflow: str, found: list[dict[str, str]], backend: str | None = BACKEND, **kw: Any) -> EntryResult:
    groups = [Group("properties/test_frames.py", passed=2, failed=1, na=3, na_reasons=["applies to xcom_s3 only"])]
    return EntryResult(
        run_id="r", entry=_entry(airflow, **kw), status="fail", backend=backend, findings=found, groups=groups
    )


def test_entry_result_round_trips_backend_and_findings(tmp_path: Path) -> None:
    result = _result("3.3.2", [_finding("a::b", "c", "s")])
    result.write(tmp_path)
    back = EntryResult.read(tmp_path / f"{result.id}.json")
    assert (back.backend, back.findings, back.groups[0].na) == (BACKEND, result.findings, 3)


def test_older_entry_reports_and_findings_json_next_to_them(tmp_path: Path) -> None:
    old = {"run_id": "r", "entry": _entry("2.10.5"), "status": "pass", "groups": []}
    (tmp_path / "af2.10.5-py3.12-pd2.json").write_text(json.dumps(old))
    (tmp_path / "findings.json").write_text(json.dumps({"root_causes": [], "entries": []}))
    (results,) = read_all(tmp_path, [])
    assert (results.backend, results.findings) == (None, [])


def test_read_entry_findings(tmp_path: Path) -> None:
    assert findings.read_entry_findings(tmp_path / "absent.json") == (None, [])
    (tmp_path / "bad.json").write_text("{not json")
    assert findings.read_entry_findings(tmp_path / "bad.json") == (None, [])
    data = {"backend": BACKEND, "findings": [{"check": "a::b", "summary": "s", "severity": "odd"}, "junk"]}
    (tmp_path / "f.json").write_text(json.dumps(data))
    backend, found = findings.read_entry_findings(tmp_path / "f.json")
    assert backend == BACKEND
    assert found == [{"check": "a::b", "cause": "s", "summary": "s", "example": "", "fix": "", "severity": "error"}]


def test_aggregate_groups_by_cause_across_entries() -> None:
    frames = "frames change on the way back: column 'c' category -> object"
    te = [
        _finding(f"properties/test_{i}.py::test_{i}", "push-rejects-keyword-context", TYPE_ERROR, "value=0")
        for i in range(10)
    ]
    results = [
        _result("2.10.5", [_finding("p/test_frames.py::t", "dtype", frames + " and more", "frame=long example")]),
        _result("3.0.6", [*te, _finding("p/test_frames.py::t", "dtype", frames, "frame=c")]),
        _result("3.3.2", [*te, _finding("p/test_w.py::w", "outdated", "Airflow warns", severity="warning")]),
    ]
    causes = findings.aggregate(results)
    assert [c.cause for c in causes] == ["push-rejects-keyword-context", "dtype", "outdated"]
    push, dtype, warned = causes
    assert (push.affects, len(push.checks), push.example) == ("every 3.x entry", 10, "value=0")
    assert (dtype.affects, dtype.summary, dtype.variants, dtype.example) == (
        "Airflow 2.10.5, 3.0.6",
        frames,
        True,
        "frame=c",
    )
    assert (warned.affects, warned.severity) == ("Airflow 3.3.2", "warning")
    assert push.line() == (
        f"- {TYPE_ERROR} — every 3.x entry — e.g. `value=0` "
        "(10 checks: test_0.py::test_0, test_1.py::test_1, test_2.py::test_2, ...)"
    )
    assert warned.line() == "- warning: Airflow warns — Airflow 3.3.2 (1 check: test_w.py::w)"


def test_affects_names_all_entries_a_whole_version_or_single_entries() -> None:
    ran = [_result("2.10.5", [], pandas=2), _result("2.10.5", [], pandas=3), _result("3.3.2", [])]
    assert findings.affects(ran, ran) == "all selected entries"
    assert findings.affects(ran[:2], ran) == "every 2.x entry"
    assert findings.affects([ran[0], ran[2]], ran) == "Airflow 3.3.2, af2.10.5-py3.12-pd2"


def test_render_and_write_reports(tmp_path: Path) -> None:
    ours = _result("2.10.5", [], backend=None)
    assert findings.render([ours]) == ""
    naive = [_result("3.3.2", [_finding("a.py::t", "c", "comes back as <DataFrame 3x2>")])]
    text = table.write_reports(naive, tmp_path, wall_seconds=12.0)
    assert text.startswith(f"## Compatibility matrix — backend {BACKEND}\n")
    assert f"### Findings for {BACKEND}" in text
    assert "- comes back as `<DataFrame 3x2>` — Airflow 3.3.2 (1 check: a.py::t)" in text
    assert "checks: 2 passed, 1 failed, 3 n/a for this backend;" in text
    assert "- applies to xcom_s3 only — properties/test_frames.py" in text
    assert (tmp_path / "matrix.md").read_text() == text
    assert text.endswith(
        "; GATE FAILED: af3.3.2-py3.12-pd2 (1 check group(s) failed: properties/test_frames.py)"
        " (seconds per phase and check group: timings.md)\n"
    )
    assert (tmp_path / "timings.md").read_text() == timings.render(naive)
    assert "### Findings for" in (tmp_path / "findings.md").read_text()
    saved = json.loads((tmp_path / "findings.json").read_text())
    assert [c["cause"] for c in saved["root_causes"]] == ["c"]


def test_markdown_safe() -> None:
    assert findings.markdown_safe("as <DataFrame 3x2>") == "as `<DataFrame 3x2>`"
    assert findings.markdown_safe("serialize_value(value, **kwargs)") == "serialize_value(value, `**kwargs)`"
    assert findings.markdown_safe("already `<x>`") == "already `<x>`"


#: Testcase times as pytest writes them (setup + call + teardown, in seconds); a missing or broken time counts 0.
_TIMED_XML = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" time="9.900">
  <testcase classname="tests.e2e.test_y" name="test_a" time="1.250"/>
  <testcase classname="tests.e2e.test_y" name="test_b" time="0.125"><failure message="boom">tb</failure></testcase>
  <testcase classname="tests.properties.test_x" name="test_c" time="0.100"/>
  <testcase classname="tests.properties.test_x" name="test_d" time="0.200">
    <skipped type="pytest.skip" message="n/a: runs xcom_s3"/>
  </testcase>
  <testcase classname="tests.properties.test_x" name="test_e"/>
  <testcase classname="tests.properties.test_x" name="test_f" time="garbage"/>
</testsuite></testsuites>
"""


def test_group_seconds_are_the_sum_of_their_testcase_times(tmp_path: Path) -> None:
    for name in ("properties/test_x.py", "e2e/test_y.py"):
        (tmp_path / "tests" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "tests" / name).write_text("")
    (tmp_path / "junit.xml").write_text(_TIMED_XML)
    groups = {g.name: g for g in junit.read(tmp_path / "junit.xml", tmp_path)}
    assert {name: g.seconds for name, g in groups.items()} == {"e2e/test_y.py": 1.375, "properties/test_x.py": 0.3}
    result = EntryResult(run_id="r", entry=_entry("3.3.2"), status="fail", groups=list(groups.values()))
    result.airflow_start_seconds, result.pytest_seconds, result.pytest_cpu_seconds = 1.5, 10.0, 7.25
    result.write(tmp_path)
    back = EntryResult.read(tmp_path / f"{result.id}.json")
    assert [g.seconds for g in back.groups] == [1.375, 0.3]
    assert (back.airflow_start_seconds, back.pytest_seconds, back.pytest_cpu_seconds) == (1.5, 10.0, 7.25)


def test_entry_reports_from_before_the_timings_load_without_them(tmp_path: Path) -> None:
    old = {"run_id": "r", "entry": _entry("2.10.5"), "status": "pass", "test_seconds": 6.0, "groups": []}
    (tmp_path / "af2.10.5-py3.12-pd2.json").write_text(json.dumps(old))
    (result,) = read_all(tmp_path, [])
    assert (result.airflow_start_seconds, result.pytest_seconds, result.pytest_cpu_seconds) == (None, None, None)


def _timed(airflow: str, status: str = "pass", **seconds: Any) -> EntryResult:
    result = EntryResult(run_id="r", entry=_entry(airflow), status=status)
    groups = seconds.pop("groups", {})
    result.groups = [Group(name, passed=1, seconds=s) for name, s in groups.items()]
    for field, value in seconds.items():
        setattr(result, field, value)
    return result


def _cells(text: str) -> dict[str, dict[str, str]]:
    """The timings table: entry -> column -> cell."""
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[1:]]
    return {row[0]: dict(zip(header[1:], row[1:], strict=True)) for row in rows}


def test_timings_per_entry_the_sum_and_where_the_time_goes() -> None:
    new = _timed(
        "3.3.2",
        install_seconds=2.0,
        airflow_start_seconds=1.5,
        pytest_seconds=10.0,
        test_seconds=11.5,
        pytest_cpu_seconds=7.3,
        groups={"properties/test_x.py": 3.0, "properties/test_y.py": 1.0, "e2e/test_e2e.py": 4.0},
    )
    # A report from before the split: test_seconds held the probe and pytest together.
    old = _timed(
        "2.10.5",
        install_seconds=1.0,
        test_seconds=6.0,
        groups={"properties/test_x.py": 1.0, "robustness/test_r.py": 2.5},
    )
    unloadable = _timed("3.0.6", "fail", install_seconds=0.5, airflow_start_seconds=3.0, test_seconds=3.0)
    unloadable.groups = [Group("backend import", failed=1)]
    skipped = _timed("2.3.4", "skip")
    text = timings.render([new, old, unloadable, skipped])
    cells = _cells(text)
    assert list(cells) == ["af3.3.2-py3.12-pd2", "af2.10.5-py3.12-pd2*", "af3.0.6-py3.12-pd2", "sum (3 entries)"]
    columns = ["install s", "Airflow start s", "pytest s", "pytest CPU s", "backend import s", "e2e s"]
    columns += ["properties s", "robustness s", "outside checks s"]
    assert list(cells["sum (3 entries)"]) == columns
    table_ = {entry: [row[c] for c in columns] for entry, row in cells.items()}
    assert table_["af3.3.2-py3.12-pd2"] == ["2.0", "1.5", "10.0", "7.3", "-", "4.0", "4.0", "-", "2.0"]
    assert table_["af2.10.5-py3.12-pd2*"] == ["1.0", "-", "6.0", "-", "-", "-", "1.0", "2.5", "2.5"]
    assert table_["af3.0.6-py3.12-pd2"] == ["0.5", "3.0", "-", "-", "0.0", "-", "-", "-", "-"]
    assert table_["sum (3 entries)"] == ["3.5", "4.5", "16.0", "7.3", "0.0", "4.0", "5.0", "2.5", "4.5"]
    assert "An entry marked * has a report from before the split" in text
    where = text[text.index("### Where the time goes") :].splitlines()
    assert where[0] == "### Where the time goes (top 4 test files, of 12 s in all checks)"
    assert where[2:] == [
        "- e2e/test_e2e.py — 4.0 s, 34.8% (on af3.3.2-py3.12-pd2: 4.0 s)",
        "- properties/test_x.py — 4.0 s, 34.8% (2 entries, most on af3.3.2-py3.12-pd2: 3.0 s)",
        "- robustness/test_r.py — 2.5 s, 21.7% (on af2.10.5-py3.12-pd2: 2.5 s)",
        "- properties/test_y.py — 1.0 s, 8.7% (on af3.3.2-py3.12-pd2: 1.0 s)",
    ]


def test_timings_leave_out_cpu_unless_measured_and_list_ten_files() -> None:
    files = {f"properties/test_{i:02}.py": float(i) for i in range(1, 13)}
    text = timings.render(
        [_timed("3.3.2", install_seconds=1.0, airflow_start_seconds=1.0, pytest_seconds=80.0, groups=files)]
    )
    assert "CPU" not in text
    assert _cells(text)["af3.3.2-py3.12-pd2"]["outside checks s"] == "2.0"
    listed = [line.split(" — ")[0] for line in text.splitlines() if line.startswith("- ")]
    assert listed == [f"- properties/test_{i:02}.py" for i in range(12, 2, -1)]
    assert timings.render([_timed("2.3.4", "skip")]).count("\n| ") == 2  # header and the sum row


def test_the_summary_line_says_why_an_entry_without_failed_checks_gates() -> None:
    """A log cut to its last lines (CI's) must still say why: an install that failed, pytest that crashed."""
    broken = EntryResult(
        run_id="r", entry=_entry("2.7.3"), status="install-failed", reason="uv pip sync: connection reset"
    )
    crashed = EntryResult(run_id="r", entry=_entry("3.3.2"), status="error", reason="pytest exit -9: crashed")
    line = table.summary([broken, crashed])
    assert line.startswith("0/2 stable entries green;")
    assert line.endswith(
        "GATE FAILED: af2.7.3-py3.12-pd2 (install-failed: uv pip sync: connection reset), "
        "af3.3.2-py3.12-pd2 (error: pytest exit -9: crashed)"
    )
