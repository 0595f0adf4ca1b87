"""One exception type per kind of failure; every message names what to fix."""

from __future__ import annotations


class XComS3Error(Exception):
    """Base of every error the S3 XCom backend raises."""


class ConfigError(XComS3Error):
    """A setting is missing or invalid: an ``[xcom_s3]`` one (the message names its ``AIRFLOW__XCOM_S3__*``
    variable), or the AWS settings boto3 reads (the message names those)."""


class StorageError(XComS3Error):
    """S3 could not be reached or refused the request; the message names the endpoint, bucket and key."""


class ObjectMissingError(StorageError):
    """A reference points at an object that is not there (purged, expired by a lifecycle rule, wrong bucket)."""


class IntegrityError(XComS3Error):
    """The stored object is not what its reference records (size, checksum, or bytes that do not decode as its
    format): never return wrong data."""


class ForeignReferenceError(XComS3Error):
    """A reference points outside the configured bucket and prefix, so it is refused before anything is read."""


class UnsupportedFrameError(XComS3Error, ValueError):
    """A DataFrame that Parquet cannot hold exactly; the message names the column and the reason."""
