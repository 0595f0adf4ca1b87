"""A DELIBERATELY NAIVE S3 XCom backend, written the way blog posts show it. Do not use it: see README.md.

It exists so the harness has a realistic "our own backend" to diagnose: every shortcut below is one a real team
copied from a tutorial, and each shows up as a line of the findings the matrix prints for it.

    AIRFLOW__CORE__XCOM_BACKEND=naive_xcom.NaiveS3XComBackend
    S3_XCOM_BUCKET_NAME=my-bucket        # plus an `aws_default` Airflow connection
"""

import functools
import json
import os
import tempfile
import uuid

import pandas as pd
from airflow.providers.amazon.aws.hooks.s3 import S3Hook

try:  # Airflow 3.x
    from airflow.sdk.bases.xcom import BaseXCom
except ImportError:  # Airflow 2.x
    from airflow.models.xcom import BaseXCom

__all__ = ["NaiveS3XComBackend"]


@functools.lru_cache(maxsize=1)
def _hook():
    """One S3Hook (and boto3 client) per process: the one shortcut here that is not a mistake."""
    return S3Hook(aws_conn_id="aws_default")


class NaiveS3XComBackend(BaseXCom):
    """DataFrames go to S3 as CSV, dicts and lists as JSON; everything else stays in the metadata DB."""

    PREFIX = "xcom_s3://"

    @staticmethod
    def serialize_value(value):
        if isinstance(value, (pd.DataFrame, dict, list)):
            hook = _hook()
            if isinstance(value, pd.DataFrame):
                filename = "data_" + str(uuid.uuid4()) + ".csv"
                value.to_csv(filename)
            else:
                filename = "data_" + str(uuid.uuid4()) + ".json"
                with open(filename, "w") as f:
                    json.dump(value, f)
            hook.load_file(
                filename=filename,
                key=filename,
                bucket_name=os.environ["S3_XCOM_BUCKET_NAME"],
                replace=True,
            )
            value = NaiveS3XComBackend.PREFIX + filename
        return BaseXCom.serialize_value(value)

    @staticmethod
    def deserialize_value(result):
        result = BaseXCom.deserialize_value(result)
        if isinstance(result, str) and result.startswith(NaiveS3XComBackend.PREFIX):
            hook = _hook()
            key = result.replace(NaiveS3XComBackend.PREFIX, "")
            filename = hook.download_file(
                key=key,
                bucket_name=os.environ["S3_XCOM_BUCKET_NAME"],
                local_path=tempfile.gettempdir(),
            )
            if key.endswith(".csv"):
                result = pd.read_csv(filename, index_col=0)
            else:
                with open(filename) as f:
                    result = json.load(f)
        return result
