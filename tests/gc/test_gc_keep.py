"""What gc keeps, decided from the stored values alone (``gc.Keep``, no S3 and no DB): every key any stored text
mentions, wherever in the text and however often, escapes included; and nothing at all, with a message counting
each unknown format, when values carry the marker in a format this gc does not read. Also what gc reports when S3
declines deletes, and the batches it deletes in.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from xcom_s3 import gc
from xcom_s3.settings import Settings

SETTINGS = Settings(bucket="b", prefix="xcom")
#: Key tails as the backend writes them (<dag>/<run>/<task>/<map_index>/<key>.<ext>).
TAILS = st.lists(st.sampled_from(["d", "r", "t", "-1", "0", "k.json", "k.json.zst", "x%2Fy"]), min_size=1, max_size=5)
FILLER = st.text(alphabet="ab {}:,\"' ", max_size=8)


def _why(stored: list[Any], key: str) -> str | None:
    return gc.Keep.read(stored, SETTINGS).why(key)


@given(tails=st.lists(TAILS.map("/".join), min_size=1, max_size=4), fillers=st.lists(FILLER, min_size=5, max_size=5))
def test_every_key_a_text_mentions_is_kept_wherever_it_stands(tails: list[str], fillers: list[str]) -> None:
    """The first mention may open the text; later ones are each found, not only the last."""
    text = "".join(f"xcom/{tail}{fillers[i % 5]}" for i, tail in enumerate(tails))
    keep = gc.Keep.read([text], SETTINGS)
    for tail in tails:
        assert keep.why(f"xcom/{tail}") == "mentioned", (text, tail)
    assert keep.why("xcom/never/mentioned.json") is None


def test_a_key_hidden_by_json_escapes_is_kept() -> None:
    """A 3.x JSON column may spell ``/`` as ``\\/`` (or any character as ``\\uXXXX``): the decoded strings count."""
    column = json.dumps({"note": "see xcom/d/r/t/-1/k.json"}).replace("/", "\\/")
    assert "xcom/d/r" not in column
    assert _why([column], "xcom/d/r/t/-1/k.json") == "mentioned"


def test_a_plain_text_is_read_as_written() -> None:
    assert _why(['"xcom/d/r/t/-1/k.json"'], "xcom/d/r/t/-1/k.json") == "mentioned"
    assert _why([b'{"v": "xcom/d/r/t/0/k.json"}'], "xcom/d/r/t/0/k.json") == "mentioned"


def test_unknown_formats_stop_gc_counting_each() -> None:
    def ours(version: int, kind: str) -> str:
        return json.dumps({"__xcom_s3__": version, "kind": kind, "uri": "s3://b/xcom/d/r/t/-1/k.json"})

    stored = [ours(2, "ref"), ours(2, "ref"), ours(1, "zip"), ours(3, "ref"), ours(4, "ref"), ours(1, "ref")]
    keep = gc.Keep.read(stored, SETTINGS)
    with pytest.raises(gc.UnknownFormatError) as refused:
        keep.refuse_unknown()
    message = str(refused.value)
    assert message.startswith("5 XCom values in the metadata DB carry the __xcom_s3__ marker in a format ")
    shown = "1 with __xcom_s3__=1 kind='zip'; 2 with __xcom_s3__=2 kind='ref'; 1 with __xcom_s3__=3 kind='ref'"
    assert f"({shown}; it reads format 1, kinds 'ref' and 'escaped')" in message
    assert "__xcom_s3__=4" not in message
    gc.Keep.read([ours(1, "ref"), ours(1, "escaped")], SETTINGS).refuse_unknown()


@pytest.mark.parametrize(
    ("codes", "advice"),
    [
        (["SlowDown", "InternalError"], "Run gc again to retry them."),
        (["AccessDenied"], "Grant the credentials gc runs with s3:DeleteObject on arn:aws:s3:::b/xcom/*"),
    ],
)
def test_declined_deletes_are_counted_with_their_codes_and_advice(codes: list[str], advice: str) -> None:
    report = gc.GcReport(orphans=["xcom/a", "xcom/b", "xcom/c"])
    report.failed = [gc.DeleteFailure(f"xcom/{i}", code, "no") for i, code in enumerate(codes)]
    message = gc.failure_message(report, SETTINGS)
    assert message.startswith(
        f"S3 declined to delete {len(codes)} of 3 orphaned objects in bucket 'b' ({', '.join(sorted(codes))}); "
        f"they are still there. {advice}"
    )


@pytest.mark.parametrize(("text", "problem"), [("-1d", "'-1d' is negative"), ("soon", "'soon' is not an age")])
def test_a_bad_age_says_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError) as refused:
        gc.parse_age(text)
    assert str(refused.value).startswith(problem)
