"""Reading shares equal strings only where the file says they repeat (frames._strings_repeat).

pyarrow's ``deduplicate_objects`` makes equal strings one Python object: it saves memory where values repeat and
costs time where they do not. The writer gives a dictionary page only to string columns whose values repeat
(``dictionary_columns``), so a dictionary page on a string or binary column (a categorical's aside) is the sign.
The frame read is the same either way; what this pins is the sign, on files written here with and without one.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.ours_only

TEXT_TYPES = [pa.string(), pa.large_string(), pa.binary(), pa.large_binary()]


def _metadata(table: pa.Table, dictionary: bool | list[str]) -> Any:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, use_dictionary=dictionary)
    return pq.read_metadata(pa.BufferReader(sink.getvalue()))


def _repeats(metadata: Any) -> bool:
    from xcom_s3.frames import _strings_repeat

    return bool(_strings_repeat(metadata))


@pytest.mark.parametrize("kind", TEXT_TYPES, ids=str)
def test_a_text_column_with_a_dictionary_page_says_its_values_repeat(kind):
    table = pa.table({"n": [1, 2, 3], "t": pa.array(["a", "a", "b"]).cast(kind)})
    assert _repeats(_metadata(table, ["t"]))
    assert not _repeats(_metadata(table, False))


def test_a_categorical_or_number_with_a_dictionary_page_is_no_sign():
    table = pa.table({"n": [1, 1, 2], "c": pa.array(["a", "a", "b"]).dictionary_encode(), "t": ["x", "y", "z"]})
    assert not _repeats(_metadata(table, ["n", "c"]))


def test_a_file_without_row_groups_has_nothing_to_share():
    sink = pa.BufferOutputStream()
    pq.ParquetWriter(sink, pa.schema([("t", pa.string())])).close()  # a writer given no rows writes no row group
    metadata = pq.read_metadata(pa.BufferReader(sink.getvalue()))
    assert metadata.num_row_groups == 0
    assert not _repeats(metadata)
