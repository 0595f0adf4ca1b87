"""An S3 XCom backend for Airflow 2.3 through 3.x: ``AIRFLOW__CORE__XCOM_BACKEND=xcom_s3.S3XComBackend``.

Importing this package is cheap: no Airflow, no client, no network, no pandas/pyarrow/boto3. ``S3XComBackend`` is
loaded on first access, which is how Airflow's resolver reaches it while its own XCom module is still importing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xcom_s3.backend import S3XComBackend

__all__ = ["S3XComBackend"]


def __getattr__(name: str) -> Any:
    if name == "S3XComBackend":
        from xcom_s3.backend import S3XComBackend

        return S3XComBackend
    raise AttributeError(f"module 'xcom_s3' has no attribute {name!r}")
