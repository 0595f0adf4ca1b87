"""An operator with extra links whose URLs live in XCom, and the plugin that registers the links (2.x).

Copied into the Airflow home's plugins folder (on ``sys.path`` in every Airflow process), so the links DAG imports
it and the 2.x webserver, which builds a serialized operator's links only from registered classes, finds them.

How each release renders the links (docs/xcom-direct-reads.md rows 1-3, 7):

- 2.x: the webserver calls the link's ``get_link``, which reads the ``_link_<name>`` XCom the operator pushed
  through the backend (``XCom.get_value`` -> ``get_one``; 2.6-2.8 decode it with ``BaseXCom``, not the backend).
- 3.x: the task runner's ``finalize`` calls ``get_link`` in the task and writes its result raw to the
  ``_link_<name>`` row; the API server reads that row without the backend (``XComOperatorLink``).
  ``PushedLink`` (3.1+) fails in ``finalize``, so its row stays what the operator pushed through the backend: the
  case of a provider operator that pushes its own link row (TriggerDagRunOperator, standard 1.15+).

The URL is longer than the e2e threshold (1024 bytes): a backend that offloads ``_link_`` keys breaks these links.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.plugins_manager import AirflowPlugin
from airflow_release import airflow_version

_V = airflow_version()

if _V >= (3, 0):
    from airflow.sdk import BaseOperator, BaseOperatorLink
    from airflow.sdk.execution_time.xcom import XCom
else:
    from airflow.models.baseoperator import BaseOperator
    from airflow.models.xcom import XCom

    try:  # 2.6+; older releases define it in baseoperator (later releases warn there)
        from airflow.models.baseoperatorlink import BaseOperatorLink
    except ImportError:
        from airflow.models.baseoperator import BaseOperatorLink  # type: ignore[attr-defined,no-redef]

if _V < (3, 0) or TYPE_CHECKING:  # mypy sees the class: without Airflow in the lint venv the alias would be Any

    class _Link(BaseOperatorLink):
        @property
        def xcom_key(self) -> str:
            """3.x's ``BaseOperatorLink.xcom_key`` default, which 2.x lacks."""
            return f"_link_{type(self).__name__}"

else:
    _Link = BaseOperatorLink


#: Longer than the e2e threshold: kept inline only because ``_link_*`` is an always-inline key.
PAD = "x" * 2048
#: The operator's URL: the run id rendered in, so each run's link is its own.
URL_TEMPLATE = "https://reports.example.com/xcom-s3/{{ run_id | urlencode }}?pad=" + PAD


class ReportLink(_Link):
    """A link read from the XCom the operator pushed (``_link_ReportLink``), through the resolved backend."""

    name = "Report"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return str(XCom.get_value(ti_key=ti_key, key=self.xcom_key))


class LinkNotComputedInTask(RuntimeError):
    """Raised by PushedLink in the task: its row must stay the operator's own push."""


class PushedLink(_Link):
    """3.1+ only: the API server renders it from the row the operator pushed; ``finalize`` cannot rewrite it."""

    name = "Pushed"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        raise LinkNotComputedInTask(f"{self.xcom_key} is pushed by the operator itself, as TriggerDagRunOperator does")


def extra_links() -> tuple[_Link, ...]:
    """3.0's ``finalize`` fails the task when a link's ``get_link`` raises (3.1 catches it): no PushedLink there;
    on 2.x it would only repeat ReportLink."""
    return (ReportLink(), PushedLink()) if _V >= (3, 1) else (ReportLink(),)


class LinkOperator(BaseOperator):
    """Pushes its URL under each link's ``_link_<name>`` key through the backend, as a provider operator does."""

    template_fields = ("url",)
    operator_extra_links = extra_links()

    def __init__(self, *, url: str, **kwargs: Any) -> None:
        kwargs.setdefault("do_xcom_push", False)
        super().__init__(**kwargs)
        self.url = url

    def execute(self, context: Any) -> None:
        for link in self.operator_extra_links:
            context["ti"].xcom_push(key=link.xcom_key, value=self.url)


class XComS3LinksPlugin(AirflowPlugin):
    """Registers the links: the 2.x webserver deserializes only registered link classes."""

    name = "xcom_s3_links"
    operator_extra_links = list(extra_links())
