"""portable_xcom: a team's S3 XCom backend on the vendored version shims (``xcom_compat``).

    AIRFLOW__CORE__XCOM_BACKEND=portable_xcom.PortableS3XComBackend

``xcom_compat.py`` and ``xcom_s3/`` are vendored (tools/vendor.py of xcom-s3-compat, ``--with-backend``): never
edit them here, re-run the tool. Of ``xcom_s3`` only the ``frames`` codec is used. Importing this package is
cheap (no Airflow, boto3 or pyarrow): the backend class loads on first access, which is how Airflow's resolver
reaches it while Airflow's own XCom module is still importing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from portable_xcom.backend import PortableS3XComBackend

__all__ = ["PortableS3XComBackend"]


def __getattr__(name: str) -> Any:
    if name == "PortableS3XComBackend":
        from portable_xcom.backend import PortableS3XComBackend

        return PortableS3XComBackend
    raise AttributeError(f"module 'portable_xcom' has no attribute {name!r}")
