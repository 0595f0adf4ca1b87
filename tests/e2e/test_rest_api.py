"""What the release's own REST API shows for the XComs Airflow reads without the backend (docs/xcom-direct-reads.md).

The links DAG (dags/xcom_s3_links_dag.py) runs twice in the e2e scenario's process: with every value offloaded
(THRESHOLD=0) and at the scenario's threshold (1024); then the release's real app answers requests in the reader
process (e2e_rest_reads.py: 2.x's Flask webserver app, 3.x's FastAPI core app, each with its own test client).

- Operator extra links (``.../taskInstances/linked/links``, 2.x ``/api/v1``, 3.x ``/api/v2``; rows 1-3, 7): the
  operator's 2 KB ``https://`` URL at both thresholds, and from a webserver without the bucket setting.
- Dag results through the dag-run wait endpoint (3.1+, experimental; row 4): the stored row as it is, so a value
  below the threshold comes back as itself and an offloaded one as our reference.
- ``.../xcomEntries/return_value?deserialize=true`` (issue 19): 2.4-2.11 and 3.0 run the backend in the webserver /
  API server, so the value with the bucket setting and a JSON error naming it without; 3.1+ never run the backend
  there and show the stored row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from e2e_db import MARKER
from e2e_fixtures import (
    BUCKET_VAR,
    OFFLOAD_ALL,
    SCENARIO_SETTINGS,
    ApiRun,
    Reads,
    Scenario,
    api_runs,
    api_stage,
    require_stage,
)

pytestmark = [pytest.mark.e2e]

LINKS_TASK, RESULT_TASK = "linked", "result"
#: What ``result`` returns (dags/xcom_s3_links_dag.py).
RESULT = {"status": "ok", "rows": 3}
#: The links' names and XCom keys (dags/xcom_s3_links.py; ``_link_<class name>``, 3.x's default key).
LINK_KEYS = {"Report": "_link_ReportLink", "Pushed": "_link_PushedLink"}
#: Both runs, by name in the test ids.
RUNS = pytest.mark.parametrize("run", [OFFLOAD_ALL, SCENARIO_SETTINGS], ids=lambda run: run.name)


def link_url(run_id: str) -> str:
    """The operator's URL as dags/xcom_s3_links.py renders it (URL_TEMPLATE: Jinja's ``urlencode`` of the run id)."""
    return f"https://reports.example.com/xcom-s3/{quote(run_id)}?pad={'x' * 2048}"


@dataclass
class RunAnswers:
    """What the REST API answered about one run of the links DAG, and the run's XCom rows as the DB holds them."""

    run: ApiRun
    run_id: str
    version: tuple[int, int]
    #: request name (e2e_rest_reads.read_run) -> {"status", "type", "json" | "lines" | "text"}
    answers: dict[str, Any]
    #: (task_id, key) -> the row's decoded JSON
    rows: dict[tuple[str, str], Any]

    def answer(self, request: str) -> dict[str, Any]:
        return dict(self.answers[request])


@dataclass
class RestReads:
    """The reader's REST answers for the session's scenario, handed out per run (RestReads.of)."""

    scenario: Scenario
    reads: Reads

    @property
    def version(self) -> tuple[int, int]:
        return self.scenario.home.version[:2]

    def of(self, run: ApiRun, answers_key: str | None = None) -> RunAnswers:
        """``run``'s answers (``answers_key``: another set the reader made for it, e.g. "without"); n/a for
        THRESHOLD=0 with another backend; a failure when the run or the reader did not get that far."""
        if run not in api_runs(self.scenario.ours):
            pytest.skip(
                f"n/a: {run.name} is xcom_s3's setting; another backend runs the links DAG once, with its own "
                f"settings (the {SCENARIO_SETTINGS.name} case)"
            )
        require_stage(self.scenario, api_stage(run))
        rest, step = self.reads.rest, self.reads.step
        key = answers_key or run.name
        if key not in rest:
            why = rest.get("error") or f"no answers for {key!r}"
            pytest.fail(f"the REST reads failed ({why}; exit {step.returncode}, {step.log}):\n{step.tail()}", False)
        run_id = self.reads.run_ids[run.name]
        rows = {(r.task_id, r.key): r.decoded for r in self.scenario.home.db.xcom_rows(run_id)}
        return RunAnswers(run, run_id, self.version, rest[key], rows)


@pytest.fixture(scope="module")
def rest(e2e_scenario: Scenario, e2e_reads: Reads) -> RestReads:
    """The answers e2e_reads got (one reader process per session, shared with test_orm_reads.py)."""
    return RestReads(e2e_scenario, e2e_reads)


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


def _links(answer: dict[str, Any]) -> Any:
    """The links in a links answer: 2.x answers ``{name: url}``, 3.x ``{"extra_links": {name: url}, ...}``."""
    body = answer.get("json")
    if answer["status"] != 200 or not isinstance(body, dict):
        return answer
    return body.get("extra_links", body)


def _expected_links(got: RunAnswers) -> dict[str, str]:
    """Report everywhere; Pushed (its row left as the operator pushed it) from 3.1 (dags/xcom_s3_links.py)."""
    names = ["Report", "Pushed"] if got.version >= (3, 1) else ["Report"]
    return {name: link_url(got.run_id) for name in names}


def _check_links(got: RunAnswers, links: Any, where: str) -> None:
    expected = _expected_links(got)
    if links == expected:
        return
    wrong = [name for name in expected if not isinstance(links, dict) or links.get(name) != expected[name]]
    stored = {name: got.rows.get((LINKS_TASK, LINK_KEYS[name])) for name in wrong}
    shown = {name: links.get(name) if isinstance(links, dict) else links for name in wrong}
    raise AssertionError(
        "; ".join(
            f"the operator extra link XCom {LINK_KEYS[name]!r} is stored as {_short(stored[name])}: {where} the "
            f"link {name!r} reads {_short(shown[name])}, not the operator's URL {_short(expected[name], 60)}"
            for name in wrong
        )
        + f" (the UI renders the same). Whole answer: {_short(links, 400)}"
    )


@RUNS
def test_links_are_the_operator_urls(rest: RestReads, run: ApiRun) -> None:
    """Any backend: the links endpoint gives each link's URL. 2.x: the webserver calls the link's ``get_link``,
    which reads the ``_link_`` XCom through ``XCom.get_value`` (2.6-2.8 decode it with ``BaseXCom``); 3.x: the
    API server reads the row ``finalize`` wrote (Report) or the operator pushed itself (Pushed, 3.1+)."""
    got = rest.of(run)
    _check_links(got, _links(got.answer("links")), "through the REST API")


@pytest.mark.ours_only  # the setting removed is xcom_s3's
def test_links_need_no_bucket_setting_on_the_webserver(rest: RestReads) -> None:
    """``_link_*`` keys stay inline at THRESHOLD=0, so a webserver / API server without the bucket setting (and
    credentials) still renders the links: 2.x's ``get_link`` runs the backend there, which then needs no S3."""
    got = rest.of(OFFLOAD_ALL, "without")
    _check_links(got, _links(got.answer("links")), f"with {BUCKET_VAR} removed from the webserver,")


def _wait_lines(got: RunAnswers, request: str) -> list[Any]:
    if got.version < (3, 1):
        pytest.skip(
            "n/a: the dag-run wait endpoint (GET /api/v2/dags/{dag_id}/dagRuns/{run_id}/wait) came in Airflow 3.1"
        )
    answer = got.answer(request)
    lines = answer.get("lines") or ([answer["json"]] if "json" in answer else [])
    assert answer["status"] == 200 and lines, f"{request}: {_short(answer, 400)}"
    assert lines[-1].get("state") == "success", f"{request}: the run is not shown finished: {_short(lines, 400)}"
    return lines


@RUNS
def test_wait_endpoint_returns_the_stored_row(rest: RestReads, run: ApiRun) -> None:
    """Any backend (docs row 4): ``?result=result`` gives the ``return_value`` row as the DB holds it, whatever the
    backend stored there; without ``result``, 3.3+ gives the tasks marked as dag results (``result`` is the dag
    function's return value), 3.1/3.2 no results."""
    got = rest.of(run)
    stored = got.rows[(RESULT_TASK, "return_value")]
    last = _wait_lines(got, "wait_result")[-1]
    assert last.get("results") == {RESULT_TASK: stored}, f"?result={RESULT_TASK}: {_short(last, 400)}"
    marked = _wait_lines(got, "wait_marked")[-1]
    if got.version >= (3, 3):
        assert marked.get("results") == {RESULT_TASK: stored}, f"the dag's marked result: {_short(marked, 400)}"
    else:
        assert "results" not in marked, f"3.1/3.2 mark no dag results: {_short(marked, 400)}"


@pytest.mark.ours_only  # our threshold and reference format
@RUNS
def test_wait_endpoint_shows_small_results_and_references_of_offloaded_ones(rest: RestReads, run: ApiRun) -> None:
    """Dag results follow THRESHOLD (docs "Dag results"): below it the value itself; offloaded, our reference."""
    got = rest.of(run)
    results = _wait_lines(got, "wait_result")[-1].get("results", {})
    shown = results.get(RESULT_TASK)
    if run == SCENARIO_SETTINGS:
        assert shown == RESULT, f"a small dag result below the threshold: {_short(shown)}"
        return
    scenario = rest.scenario
    assert isinstance(shown, dict) and shown.get(MARKER) == 1 and shown.get("kind") == "ref", _short(shown)
    assert shown.get("format") == "json" and shown.get("raw_size"), _short(shown)
    assert str(shown.get("uri", "")).startswith(f"s3://{scenario.bucket}/{scenario.prefix}/"), _short(shown)


def _deserialized(got: RunAnswers) -> dict[str, Any]:
    if got.version < (2, 4):
        pytest.skip("n/a: the REST API's xcomEntries deserialize parameter came in Airflow 2.4")
    return got.answer("deserialize")


def _backend_runs_in_the_api(got: RunAnswers) -> None:
    if got.version >= (3, 1):
        pytest.skip(
            "n/a: from Airflow 3.1 deserialize=true never runs the XCom backend in the API server (XComModel rows, "
            "serde / stringify): see test_deserialize_shows_the_stored_row_on_3_1_plus"
        )


@RUNS
def test_deserialize_runs_the_backend_in_the_webserver(rest: RestReads, run: ApiRun) -> None:
    """Any backend, 2.4-2.11 and 3.0: ``deserialize=true`` (with ``[api] enable_xcom_deserialize_support``, 2.7+)
    calls the resolved backend's ``deserialize_value`` in the webserver / API server, which has the backend's
    settings here: the value (2.x stringifies it by default)."""
    got = rest.of(run)
    answer = _deserialized(got)
    _backend_runs_in_the_api(got)
    expected = RESULT if got.version >= (3, 0) else str(RESULT)
    value = answer.get("json", {}).get("value") if answer["status"] == 200 else answer
    assert value == expected, f"deserialize=true gives {_short(value, 400)}, not the value {expected!r}"


@pytest.mark.ours_only  # our reference format
@RUNS
def test_deserialize_shows_the_stored_row_on_3_1_plus(rest: RestReads, run: ApiRun) -> None:
    """3.1+: ``deserialize=true`` decodes the row without the backend, so an offloaded value shows our reference
    (below the threshold: the value), and the API server needs no bucket setting for it."""
    got = rest.of(run)
    if got.version < (3, 1):
        pytest.skip("n/a: before Airflow 3.1 deserialize=true runs the backend: see test_deserialize_runs_the_backend")
    answer = _deserialized(got)
    stored = got.rows[(RESULT_TASK, "return_value")]
    assert answer["status"] == 200 and answer["json"].get("value") == stored, _short(answer, 400)
    assert (stored == RESULT) == (run == SCENARIO_SETTINGS), f"the stored row: {_short(stored)}"


@pytest.mark.ours_only  # the setting and the message are xcom_s3's
def test_deserialize_without_the_bucket_setting_is_a_json_error_naming_it(rest: RestReads) -> None:
    """Issue 19: a webserver / API server without the bucket setting answers ``deserialize=true`` of an offloaded
    value with a JSON error whose detail names the setting (2.x: connexion's problem document; 3.0: FastAPI's
    error body), never the HTML "Ooops!" page of a bare 500."""
    got = rest.of(OFFLOAD_ALL, "without")
    answer = _deserialized(got)
    _backend_runs_in_the_api(got)
    kind = "application/json" if got.version >= (3, 0) else "application/problem+json"
    detail = answer.get("json", {}).get("detail", "") if isinstance(answer.get("json"), dict) else ""
    assert answer["status"] == 500 and answer["type"] == kind and BUCKET_VAR in detail, (
        f"deserialize=true of an offloaded value with {BUCKET_VAR} removed from the webserver answers "
        f"{answer['status']} {answer['type']}: {_short(answer.get('json', answer.get('text')), 600)}; expected 500 "
        f"{kind} whose detail names {BUCKET_VAR}"
    )
