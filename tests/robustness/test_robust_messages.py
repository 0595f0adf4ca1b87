"""The whole message of each error a task sees: every setting that could be wrong, by the name it is set with, and
the next step, in full. (test_robust_integrity and test_robust_config check that each error names the key and the
first setting; a sentence cut or a setting misnamed in the rest went unnoticed.)
"""

from __future__ import annotations

from typing import Any

import airflow_io
import pytest
from rb_support import context, json_value, key_of, push
from s3_server import free_port

pytestmark = pytest.mark.usefixtures("fast_backoff")


def test_a_missing_object_names_both_settings_that_could_point_elsewhere(backend: Any, xcom_s3_env: Any) -> None:
    from xcom_s3.errors import ObjectMissingError

    stored, ref = push(backend, json_value(7), 7)
    xcom_s3_env.client.delete_object(Bucket=xcom_s3_env.endpoint.bucket, Key=key_of(ref))
    with pytest.raises(ObjectMissingError) as raised:
        airflow_io.load(backend, stored)
    assert str(raised.value).endswith(
        "a bucket lifecycle rule expired it, or AIRFLOW__XCOM_S3__BUCKET / AIRFLOW__XCOM_S3__ENDPOINT_URL point at "
        "another store than the one that wrote it."
    )


def test_giving_up_names_the_endpoint_and_the_settings_that_bound_the_retries(backend: Any, xcom_s3_env: Any) -> None:
    from xcom_s3.errors import StorageError

    for name, value in {"endpoint_url": f"http://127.0.0.1:{free_port()}", "max_attempts": 2}.items():
        xcom_s3_env.set(name, value)
    with pytest.raises(StorageError) as raised:
        airflow_io.store(backend, json_value(8), context(8))
    message = str(raised.value)
    assert " gave up after 2 attempts in " in message
    assert message.endswith(
        "Check that the endpoint is reachable and healthy from this worker (AIRFLOW__XCOM_S3__ENDPOINT_URL); "
        "AIRFLOW__XCOM_S3__MAX_ATTEMPTS, AIRFLOW__XCOM_S3__CONNECT_TIMEOUT and AIRFLOW__XCOM_S3__READ_TIMEOUT bound "
        "the retries."
    )


def test_a_damaged_object_says_to_rerun_its_task(backend: Any, xcom_s3_env: Any) -> None:
    from xcom_s3.errors import IntegrityError

    stored, ref = push(backend, json_value(9), 9)
    key = key_of(ref)
    data = bytearray(xcom_s3_env.get(key))
    data[len(data) // 2] ^= 0x01
    xcom_s3_env.client.put_object(Bucket=xcom_s3_env.endpoint.bucket, Key=key, Body=bytes(data))
    with pytest.raises(IntegrityError) as raised:
        airflow_io.load(backend, stored)
    assert str(raised.value).endswith(
        "The object was changed or damaged after it was written; re-run the task that produced it."
    )
