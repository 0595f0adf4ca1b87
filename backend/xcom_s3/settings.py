"""The backend's settings, read through Airflow's config (section ``[xcom_s3]``, env ``AIRFLOW__XCOM_S3__*``)."""

from __future__ import annotations

from dataclasses import dataclass

from xcom_compat import config_value

from xcom_s3.errors import ConfigError

SECTION = "xcom_s3"

#: Values at or above this many serialized bytes go to S3 (64 KiB: MySQL's BLOB before Airflow 2.9).
DEFAULT_THRESHOLD = 65536
PARQUET_CODECS = ("zstd", "snappy", "gzip", "none")
SSE_MODES = ("AES256", "aws:kms")


def env_name(key: str) -> str:
    """The environment variable that sets ``[xcom_s3] key``."""
    return f"AIRFLOW__{SECTION.upper()}__{key.upper()}"


@dataclass(frozen=True)
class Settings:
    """Everything the backend needs to know, validated once per call so errors surface at first use."""

    bucket: str
    prefix: str = "xcom"
    endpoint_url: str | None = None
    region: str | None = None
    compression: str = "zstd"
    sse: str | None = None
    kms_key_id: str | None = None
    max_attempts: int = 5
    connect_timeout: float = 5.0
    read_timeout: float = 60.0

    @property
    def json_codec(self) -> str:
        """snappy has no framed stdlib/pyarrow stream codec for JSON; zstd serves it instead."""
        return "zstd" if self.compression == "snappy" else self.compression

    @classmethod
    def from_airflow(cls) -> Settings:
        bucket = config_value(SECTION, "bucket")
        if not bucket:
            raise ConfigError(
                f"No S3 bucket configured for XCom: set {env_name('bucket')} (or [{SECTION}] bucket in "
                "airflow.cfg) to the bucket that should hold offloaded XCom values."
            )
        compression = (config_value(SECTION, "compression") or "zstd").lower()
        if compression not in PARQUET_CODECS:
            raise ConfigError(
                f"{env_name('compression')}={compression!r} is not supported: use one of {', '.join(PARQUET_CODECS)}."
            )
        sse = config_value(SECTION, "sse")
        if sse is not None and sse not in SSE_MODES:
            raise ConfigError(f"{env_name('sse')}={sse!r} is not supported: use one of {', '.join(SSE_MODES)}.")
        kms_key_id = config_value(SECTION, "kms_key_id")
        if kms_key_id and sse != "aws:kms":
            raise ConfigError(f"{env_name('kms_key_id')} is set, so also set {env_name('sse')}=aws:kms.")
        prefix = (config_value(SECTION, "prefix") or "xcom").strip("/")
        if not prefix or ".." in prefix.split("/"):
            raise ConfigError(f"{env_name('prefix')}={prefix!r} must be a non-empty key prefix without '..'.")
        return cls(
            bucket=bucket,
            prefix=prefix,
            endpoint_url=config_value(SECTION, "endpoint_url"),
            region=config_value(SECTION, "region"),
            compression=compression,
            sse=sse,
            kms_key_id=kms_key_id,
            max_attempts=int(_number("max_attempts", 5, int, "a whole number of attempts", minimum=1)),
            connect_timeout=_number("connect_timeout", 5.0, float, "seconds"),
            read_timeout=_number("read_timeout", 60.0, float, "seconds"),
        )


def threshold() -> int:
    """Only the threshold, read apart from the rest so small values never need the bucket setting (2.x
    schedulers push XComs too)."""
    return int(_number("threshold", DEFAULT_THRESHOLD, int, "a whole number of bytes, 0 to offload all"))


def _number(key: str, default: float, kind: type[int] | type[float], meaning: str, minimum: float = 0) -> float:
    raw = config_value(SECTION, key)
    if raw is None:
        return default
    try:
        value: float = kind(raw)
    except ValueError:
        raise ConfigError(f"{env_name(key)}={raw!r} is not valid: expected {meaning}.") from None
    if value < minimum:
        raise ConfigError(f"{env_name(key)}={raw!r} is not valid: expected {meaning} (>= {minimum}).")
    return value
