"""An S3 XCom backend for Airflow 2.3 through 3.x: ``AIRFLOW__CORE__XCOM_BACKEND=xcom_s3.S3XComBackend``.

Importing this package is cheap: no client, no network, no pandas/pyarrow/boto3 until a value needs them.
"""

from xcom_s3.backend import S3XComBackend

__all__ = ["S3XComBackend"]
