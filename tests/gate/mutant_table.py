"""Which mutant is wrong on which releases, and which focused checks must kill it (no Airflow import here).

``tools/gate_check.py`` reads this table in every matrix venv; ``tests/gate/mutants.py`` holds the classes.
A mutant is *wrong* on a release when a user running it there would lose or corrupt data; the gate asserts
the checks fail (killed) exactly there and pass (spared) everywhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Version = tuple[int, int, int]

KEYS = "tests/properties/test_keys.py::test_keys_are_deterministic_and_a_rerun_overwrites"
EQUIV = "tests/properties/test_equivalence.py::test_inline_values_are_stored_as_the_default_stores_them"
FRAMES = "tests/properties/test_frames.py::test_frames_round_trip_exactly"
LOOKALIKES = "tests/properties/test_lookalikes.py::test_lookalikes_come_back_as_themselves"
PURGE = "tests/properties/test_purge.py::test_purge_removes_exactly_the_referenced_object"
THRESHOLD = "tests/properties/test_threshold.py::test_threshold_splits_at_the_exact_byte"
SCHEDULER = "tests/properties/test_threshold.py::test_scheduler_keys_always_stay_inline"
FOREIGN = "tests/gate/test_contract.py::test_a_reference_outside_the_prefix_is_refused"
LOOPS = "tests/gate/test_known_regressions.py::test_3_4_loop_task_groups_need_store_value"
MAPPED = "tests/gate/test_known_regressions.py::test_3_0_mapped_purge_gap_is_harmless_because_keys_repeat"


def always(version: Version) -> bool:
    return True


def never(version: Version) -> bool:
    return False


def airflow2_with_context(version: Version) -> bool:
    """2.3-2.11: the resolver's ``_patch_outdated_serializer`` drops undeclared context kwargs."""
    return (2, 3, 0) <= version < (3, 0, 0)


def airflow2_with_context_or_34(version: Version) -> bool:
    """Also 3.4+: re-declaring serialize_value makes the backend legacy, which loop task groups refuse."""
    return airflow2_with_context(version) or airflow34(version)


def airflow3(version: Version) -> bool:
    return version >= (3, 0, 0)


def airflow34(version: Version) -> bool:
    return version >= (3, 4, 0)


@dataclass(frozen=True)
class Mutant:
    name: str  #: class name in tests/gate/mutants.py ("" for the control: our real backend)
    wrong_on: Callable[[Version], bool]
    wrong_on_text: str
    defect: str
    checks: tuple[str, ...]

    @property
    def path(self) -> str:
        return f"gate.mutants.{self.name}" if self.name else "xcom_s3.S3XComBackend"


MUTANTS: tuple[Mutant, ...] = (
    Mutant("", never, "never", "control: the real backend passes every check", ()),  # checks: union, filled below
    Mutant(
        "KwargsSerializer",
        airflow2_with_context_or_34,
        "2.3-2.11, 3.4+",
        "serialize_value(value, **kwargs): 2.3+ patches it, dropping the run context; legacy on 3.4",
        (KEYS, LOOPS),
    ),
    Mutant("BytesOn3x", airflow3, "3.0+", "serialize_value returns JSON bytes also on 3.x", (EQUIV,)),
    Mutant("CsvFrames", always, "all", "DataFrames offloaded as CSV (dtypes, index lost)", (FRAMES,)),
    Mutant("NoEscape", always, "all", "look-alike values are stored unescaped", (LOOKALIKES,)),
    Mutant("Purge2xOn3x", airflow3, "3.0+", "purge(xcom, session) staticmethod (the 2.x signature)", (PURGE,)),
    Mutant("UuidKeys", always, "all", "uuid object keys: every rerun orphans the previous object", (KEYS, MAPPED)),
    Mutant("ReadOutsidePrefix", always, "all", "load reads any key in the bucket (prefix not enforced)", (FOREIGN,)),
    Mutant("ThresholdOffByOne", always, "all", "offloads at size > THRESHOLD instead of >=", (THRESHOLD,)),
    Mutant("SchedulerKeysOffloaded", always, "all", "skipmixin_key/past_depends_met offloaded", (SCHEDULER,)),
    Mutant("LegacyHooksOn34", airflow34, "3.4+", "re-declares serialize_value: 3.4 loops refuse it", (LOOPS,)),
)


def checks_for(mutant: Mutant) -> tuple[str, ...]:
    """The control runs the union of every mutant's checks: each must pass on the real backend first."""
    if mutant.checks:
        return mutant.checks
    return tuple(dict.fromkeys(check for m in MUTANTS for check in m.checks))
