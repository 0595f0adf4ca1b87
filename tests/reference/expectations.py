"""THE table of what each reference backend is expected to fail, on which releases, and why.

Read by ``test_reference_backends.py``. A check not listed for a backend must pass wherever the backend exists;
a listed one must fail exactly where ``fails`` says, with a message matching ``match``. No Airflow import here:
the facts come from the installed distributions' metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from airflow_release import Version, airflow_version, installed_version


@dataclass(frozen=True)
class Env:
    """What the expectations depend on: the installed Airflow, pandas major and common-io provider."""

    airflow: Version
    pandas_major: int
    common_io: Version | None

    def __str__(self) -> str:
        io = ".".join(map(str, self.common_io)) if self.common_io else "none"
        return f"Airflow {'.'.join(map(str, self.airflow))}, pandas {self.pandas_major}, common-io {io}"


def installed() -> Env:
    pandas = installed_version("pandas")
    assert pandas is not None
    return Env(airflow_version(), pandas[0], installed_version("apache-airflow-providers-common-io"))


ENV = installed()

#: The any-backend checks a reference run applies (what each asserts is in properties/checks.py).
CHECKS = {
    "round_trip": "values come back as the default backend returns them, types included",
    "rejects": "what the default backend rejects is rejected at push",
    "lookalikes": "s3:// strings and marker dicts come back as themselves",
    "own_reference": "what the DB holds for an offloaded value, pushed as a value, comes back as itself",
    "frames": "a DataFrame comes back identical",
    "purge": "purge deletes the row's own objects and nothing else",
    "repeat_push": "a second push to the same XCom without a purge leaves no orphan",
    "offloads": "a value far above the threshold leaves a small DB row",
}


@dataclass(frozen=True)
class Expected:
    backend: str
    check: str
    fails: Callable[[Env], bool]
    where: str
    why: str
    #: A regex the failure (``ExceptionType: message``) must match: the failure is the one explained by ``why``.
    match: str
    #: The root cause tests/findings.py must give that failure: the diagnosis a user of another backend gets.
    cause: str


def everywhere(env: Env) -> bool:
    return True


def pandas3_up_to_3_2(env: Env) -> bool:
    return env.pandas_major >= 3 and env.airflow < (3, 3, 0)


def no_frame_serializer(env: Env) -> bool:
    """Airflow's serde learned DataFrames in 2.6, and pandas 3's ``pandas.DataFrame`` name only in 3.3."""
    return env.airflow < (2, 6, 0) or pandas3_up_to_3_2(env)


def pandas2_from_2_6(env: Env) -> bool:
    """Where Airflow's serializer handles pandas 2 frames (2.6+)."""
    return env.pandas_major == 2 and env.airflow >= (2, 6, 0)


def pandas3_from_3_3(env: Env) -> bool:
    return env.pandas_major >= 3 and env.airflow >= (3, 3, 0)


def airflow3(env: Env) -> bool:
    return env.airflow >= (3, 0, 0)


def common_io_backend_exists(env: Env) -> bool:
    """common-io's XComObjectStorageBackend works from Airflow 2.9 (the locks install the provider from there; 2.8
    ships one whose XCom backend refuses to load). Elsewhere the reference checks of common-io are n/a."""
    return env.airflow >= (2, 9, 0)


def common_io_json_loads_on_2x(env: Env) -> bool:
    return env.airflow < (3, 0, 0) and env.common_io is not None and env.common_io >= (1, 6, 0)


#: pandas 3 reads an object column back as its str dtype (checks.assert_frames_identical names the column).
_STR_COLUMN = r"frames change on the way back: column 'o' object -> (str|string)"
_EMPTY_CATEGORICAL = r"frames change on the way back: column 'c' categories \['a', 'b'\] -> \[\]"
_NOT_SERIALIZABLE = r"TypeError: (Object of type DataFrame is not JSON serializable|cannot serialize object of type)"

EXPECTED: tuple[Expected, ...] = (
    # ---- Airflow's default backend --------------------------------------------------------------------------
    Expected(
        "default", "offloads", everywhere, "every release",
        "no offloading: the whole value goes into the metadata DB row",
        r"the metadata DB row holds \d+ bytes: the value was not offloaded",
        "not-offloaded",
    ),
    Expected(
        "default", "frames", no_frame_serializer, "Airflow < 2.6, and pandas 3 on Airflow <= 3.2",
        "Airflow's serializer has no DataFrame support before 2.6, and registers pandas 3's class name "
        "(pandas.DataFrame) only from 3.3 (Task SDK 1.3): the push raises TypeError",
        _NOT_SERIALIZABLE,
        "frames-not-serializable",
    ),
    Expected(
        "default", "frames", pandas3_from_3_3, "pandas 3 on Airflow >= 3.3",
        "Airflow's serializer reads its Parquet back with pyarrow's defaults: an object-dtype string column comes "
        "back as pandas 3's str dtype",
        _STR_COLUMN,
        "frame-dtype-changes",
    ),
    Expected(
        "default", "frames", pandas2_from_2_6, "pandas 2 on Airflow >= 2.6",
        "Airflow's serializer drops the categories of an empty categorical column (a frame with rows keeps them)",
        _EMPTY_CATEGORICAL,
        "frame-dtype-changes",
    ),
    # ---- common-io's XComObjectStorageBackend ---------------------------------------------------------------
    Expected(
        "common-io", "round_trip", common_io_json_loads_on_2x, "Airflow 2 with common-io >= 1.6 (2.11 here)",
        "deserialize_value json.loads() every decoded value on Airflow 2, so the string '123' comes back as the "
        "int 123 ('true' as True, 'null' as None)",
        r"\$: type int != str",
        "value-type-changes",
    ),
    Expected(
        "common-io", "rejects", airflow3, "Airflow 3",
        "values at or above the threshold are written with json.dumps (NaN/Infinity allowed) and only the path "
        "reaches the DB, so a value the default refuses (inf, NaN) is accepted when large",
        r"the default backend rejects this value .*Out of range float.*this backend returned",
        "accepts-what-the-default-rejects",
    ),
    Expected(
        "common-io", "own_reference", everywhere, "every release it exists on",
        "an offloaded value's DB row is a bare path string, so a user value equal to such a path (below the "
        "threshold) is read back as that object's contents",
        r"got .* back instead of the pushed value 'file://",
        "user-value-read-as-reference",
    ),
    Expected(
        "common-io", "frames", pandas3_up_to_3_2, "pandas 3 on Airflow <= 3.2",
        "frames go through Airflow's serializer (XComEncoder), which has no pandas 3 DataFrame before 3.3",
        _NOT_SERIALIZABLE,
        "frames-not-serializable",
    ),
    Expected(
        "common-io", "frames", pandas3_from_3_3, "pandas 3 on Airflow >= 3.3",
        "frames go through Airflow's serializer: an object-dtype string column comes back as pandas 3's str dtype",
        _STR_COLUMN,
        "frame-dtype-changes",
    ),
    Expected(
        "common-io", "frames", pandas2_from_2_6, "pandas 2, wherever it exists",
        "frames go through Airflow's serializer, which drops the categories of an empty categorical column",
        _EMPTY_CATEGORICAL,
        "frame-dtype-changes",
    ),
    Expected(
        "common-io", "repeat_push", everywhere, "every release it exists on",
        "a uuid in every object path: a push that Airflow does not purge first (3.0.x mapped tasks, a retried "
        "push) leaves the previous object behind",
        r"the second push left 2 objects where the first left 1: orphaned",
        "orphaned-objects",
    ),
)  # fmt: skip


def expectation(backend: str, check: str, env: Env = ENV) -> Expected | None:
    """The expected failure of ``check`` for ``backend`` on ``env``, or None where it must pass."""
    assert check in CHECKS, check
    for row in EXPECTED:
        if row.backend == backend and row.check == check and row.fails(env):
            return row
    return None
