"""Each Arrow type Parquet cannot keep gets its own remedy, whole, and the code it gives makes a type Parquet keeps.

Most of these types are refused only on old pyarrow (float16 before 15, fixed-size lists with missing entries on
14, the view types where the writer lacks them), so the catalogue tests reach their remedies only there: this pins
the text of each on every pyarrow that can build the type.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest

pytestmark = pytest.mark.ours_only


def _view(name: str) -> Callable[[], Any]:
    def build() -> Any:
        if not hasattr(pa, name):
            pytest.skip(f"pyarrow {pa.__version__} has no {name}")
        return getattr(pa, name)(pa.int64()) if "list" in name else getattr(pa, name)()

    return build


PLAIN_LIST = (
    "Make it a plain list before returning the table: pa.array(table['c'].to_pylist(), "
    "pa.list_(table['c'].type.value_type))"
)

#: (the type, its missing-value column's first value, the remedy in full, the type the remedy's code makes)
CASES = {
    "fixed-size list": (lambda: pa.list_(pa.int64(), 2), [1, 2], PLAIN_LIST, pa.list_(pa.int64())),
    "list view": (_view("list_view"), [1, 2], PLAIN_LIST, pa.list_(pa.int64())),
    "large list view": (_view("large_list_view"), [1, 2], PLAIN_LIST, pa.list_(pa.int64())),
    "list": (
        lambda: pa.list_(pa.int64()),
        [1],
        "Rebuild it before returning the table: pa.array(table['c'].to_pylist(), table['c'].type)",
        pa.list_(pa.int64()),
    ),
    "large list": (
        lambda: pa.large_list(pa.int64()),
        [1],
        "Rebuild it before returning the table: pa.array(table['c'].to_pylist(), table['c'].type)",
        pa.large_list(pa.int64()),
    ),
    "string view": (
        _view("string_view"),
        "x",
        "Make it plain string before returning the table: pa.array(table['c'].to_pylist(), pa.string())",
        pa.string(),
    ),
    "binary view": (
        _view("binary_view"),
        b"x",
        "Make it plain binary before returning the table: pa.array(table['c'].to_pylist(), pa.binary())",
        pa.binary(),
    ),
    "float16": (
        pa.float16,
        None,
        "Widen it before returning the table: pa.array(table['c'].to_pylist(), pa.float32())",
        pa.float32(),
    ),
    "dictionary": (
        lambda: pa.dictionary(pa.int32(), pa.int64()),
        None,
        "Decode it before returning the table: table['c'].cast(table['c'].type.value_type)",
        pa.int64(),
    ),
    "struct of no fields": (
        lambda: pa.struct([]),
        {},
        "Drop it (a struct of no fields holds no values) before returning the table: table.drop_columns(['c'])",
        None,
    ),
    "month_day_nano": (
        pa.month_day_nano_interval,
        pa.MonthDayNano([1, 2, 3]),
        "Store its parts as a struct of ints before returning the table: pa.array([v and {'months': v.months, "
        "'days': v.days, 'nanoseconds': v.nanoseconds} for v in table['c'].to_pylist()])",
        pa.struct([("months", pa.int64()), ("days", pa.int64()), ("nanoseconds", pa.int64())]),
    ),
    "any other": (
        pa.null,
        None,
        "Cast it to a type Parquet keeps before returning the table, e.g. table['c'].cast(pa.string())",
        pa.string(),
    ),
}


def _unordered(kind: Any) -> Any:
    return sorted((f.name, str(f.type)) for f in kind) if pa.types.is_struct(kind) else kind


@pytest.mark.parametrize("case", CASES)
def test_each_kind_gets_its_remedy_in_full_and_its_code_makes_a_type_parquet_keeps(case):
    from xcom_s3.arrow_tables import _remedy

    build, value, remedy, made_type = CASES[case]
    kind = build()
    assert _remedy(pa.field("c", kind)) == remedy
    table = pa.table({"c": pa.array([value, None], kind)})
    code = re.search(r"before returning the table(?::|, e\.g\.) (.+)$", remedy)
    assert code, remedy
    made = eval(code.group(1), {"table": table, "pa": pa})
    if made_type is None:
        assert made.column_names == []
    else:
        assert _unordered(made.type) == _unordered(made_type)  # older pyarrow sorts a dict's keys
        assert made.to_pylist()[1] is None


def test_a_union_gets_a_redesign_not_code():
    from xcom_s3.arrow_tables import _remedy

    union = pa.dense_union([pa.field("0", pa.int64()), pa.field("1", pa.string())])
    assert _remedy(pa.field("c", union)) == (
        "Store the union's alternatives as a struct of nullable fields (one per type) instead"
    )
