"""Killer-first order for mutation runs (tools/mutmut_killers.py): a mutant's tests start with those that killed
its function's other mutants, and a run notes the test that killed it. Stdlib and pytest only."""

from __future__ import annotations

from types import SimpleNamespace

from tools import mutmut_killers

MUTANT = "xcom_s3.frame_rebuild.x__finish_frame__mutmut_5"
SIBLING = "xcom_s3.frame_rebuild.x__finish_frame__mutmut_12"
TESTS = ["tests/a.py::fast", "tests/b.py::medium", "tests/c.py::slow", "tests/d.py::slowest"]


def _report(nodeid: str, failed: bool) -> SimpleNamespace:
    return SimpleNamespace(nodeid=nodeid, failed=failed)


def test_without_a_killer_on_record_the_order_is_mutmuts(tmp_path):
    assert mutmut_killers.ordered(tmp_path, MUTANT, TESTS) == TESTS


def test_a_run_notes_only_its_first_failure_under_the_function(tmp_path):
    recorder = mutmut_killers.Recorder(tmp_path, MUTANT)
    for nodeid, failed in [("tests/a.py::fast", False), ("tests/c.py::slow", True), ("tests/d.py::slowest", True)]:
        recorder.pytest_runtest_logreport(_report(nodeid, failed))
    assert (tmp_path / "xcom_s3.frame_rebuild.x__finish_frame").read_text() == "tests/c.py::slow\n"


def test_siblings_killers_come_first_in_mutmuts_order_then_the_rest(tmp_path):
    for killer in ["tests/d.py::slowest", "tests/c.py::slow", "tests/d.py::slowest", "tests/gone.py::renamed"]:
        mutmut_killers.Recorder(tmp_path, SIBLING).pytest_runtest_logreport(_report(killer, True))
    assert mutmut_killers.ordered(tmp_path, MUTANT, TESTS) == [
        "tests/c.py::slow",
        "tests/d.py::slowest",
        "tests/a.py::fast",
        "tests/b.py::medium",
    ]
    assert mutmut_killers.ordered(tmp_path, "xcom_s3.gc.x__delete__mutmut_1", TESTS) == TESTS
