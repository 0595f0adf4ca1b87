"""(2) A time zone comes back as the very tzinfo its frame had, from whichever library, or the push is refused.

pandas keeps the tzinfo object of a tz-aware column: a task that compares ``ts.tz`` or calls its library's methods
sees the difference between ``zoneinfo.ZoneInfo('Europe/Paris')``, pytz's zone, dateutil's file and Airflow's own
pendulum zones. The layout names each zone the way its library does so that another process rebuilds it;
a zone it cannot name is refused before anything is uploaded. Ours only: another backend keeps what it keeps.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from airflow_io import round_trip, store
from dateutil import tz as dateutil_tz
from xcom_compat import XComContext
from xcom_s3.errors import UnsupportedFrameError
from xcom_s3.frame_layout import LAYOUT_KEY

from properties.stored import object_key, reference

pytestmark = pytest.mark.ours_only

CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)


def zones() -> dict[str, Any]:
    """Time zones of every library a task may hand pandas, by a readable id."""
    found: dict[str, Any] = {
        "zoneinfo": __import__("zoneinfo").ZoneInfo("Asia/Kolkata"),
        "timezone-offset": dt.timezone(dt.timedelta(hours=-3, minutes=-30)),
        "timezone-named": dt.timezone(dt.timedelta(hours=1), "CET"),
        "dateutil-file": dateutil_tz.gettz("Europe/Paris"),
        "dateutil-utc": dateutil_tz.tzutc(),
        "dateutil-offset": dateutil_tz.tzoffset(None, 5400),
        "dateutil-offset-named": dateutil_tz.tzoffset("EST", -18000),  # a name Arrow keeps and readers know
        "dateutil-local": dateutil_tz.tzlocal(),  # no name: refused
    }
    try:
        import pytz
    except ImportError:  # pandas 3 dropped pytz: not installed on its entries
        pass
    else:
        found["pytz"] = pytz.timezone("America/New_York")
        found["pytz-offset"] = pytz.FixedOffset(90)
    try:
        import pendulum
    except ImportError:
        pass
    else:  # Airflow's own: pendulum 3 subclasses zoneinfo.ZoneInfo, pendulum 2 does not
        found["pendulum"] = pendulum.timezone("Europe/Paris")
        found["pendulum-utc"] = pendulum.timezone("UTC")  # pendulum 2: a fixed offset named UTC
        found["pendulum-offset"] = pendulum.tz.fixed_timezone(5400)
    return found


def _frame(zone: Any) -> pd.DataFrame:
    moments = pd.Series(pd.date_range("2024-03-30 22:00", periods=4, freq="h", tz="UTC")).dt.tz_convert(zone)
    return pd.DataFrame({"at": moments, "n": range(4), "kind": pd.Categorical(moments[[0, 1, 0, 1]])})


@pytest.mark.parametrize("zone", list(zones().values()), ids=list(zones()))
def test_a_time_zone_comes_back_as_the_same_tzinfo_or_is_refused(backend, xcom_s3_env, zone):
    """The column, and a categorical of its instants, come back with the same instants and a tzinfo of the same
    class and the same zone; or the push is refused naming the column and asking for a zone by name, and nothing
    reaches S3."""
    frame = _frame(zone)
    xcom_s3_env.set("threshold", 0)
    try:
        back = round_trip(backend, frame, CTX)
    except UnsupportedFrameError as exc:
        assert str(exc).startswith("DataFrame column 'at' (dtype datetime64"), str(exc)
        assert "Convert it to a zone by name, e.g. df['at'] = df['at'].dt.tz_convert('Europe/Paris')" in str(exc)
        assert xcom_s3_env.keys() == [], "a refused frame wrote to S3"
        return
    for got in (back["at"].dt.tz, back["kind"].cat.categories.tz):
        assert type(got) is type(zone) and repr(got) == repr(zone), f"{zone!r} came back as {got!r}"
    assert back["at"].tolist() == frame["at"].tolist()
    assert back["kind"].tolist() == frame["kind"].tolist()


@pytest.mark.parametrize("zone", ["dateutil-offset", "dateutil-file", "dateutil-utc"])
def test_dateutil_zones_come_back_as_themselves(backend, xcom_s3_env, zone):
    """dateutil's fixed offsets, zone files and UTC are kept (the layout names each as dateutil does)."""
    frame = _frame(zones()[zone])
    xcom_s3_env.set("threshold", 0)
    back = round_trip(backend, frame, CTX)
    assert repr(back["at"].dt.tz) == repr(frame["at"].dt.tz)
    assert back["at"].tolist() == frame["at"].tolist()


def test_the_zone_of_airflows_own_dates_comes_back_as_pendulums(backend, xcom_s3_env):
    """A column of dates as Airflow hands them to a task (pendulum's, in UTC or a zone or an offset) comes back with
    pendulum's tzinfo, never as a plain ZoneInfo of the same name (pendulum 3's Timezone subclasses ZoneInfo and has
    its key). pendulum 2's named zones, which pyarrow cannot convert, are refused before anything is uploaded."""
    pendulum = pytest.importorskip("pendulum")
    import zoneinfo

    from pendulum.tz.timezone import FixedTimezone

    xcom_s3_env.set("threshold", 0)
    named = {"EST": FixedTimezone(-18000, name="EST"), "fixed UTC": FixedTimezone(0, name="UTC")}
    for i, zone in enumerate(["UTC", "Europe/Paris", 5400, *named]):
        if zone in named:  # a fixed offset with a name of its own (one Arrow keeps and readers know)
            tz = named[zone]
        else:
            tz = pendulum.tz.fixed_timezone(zone) if isinstance(zone, int) else pendulum.timezone(zone)
        dates = [pendulum.datetime(2024, 3, 31, hour, tz=tz) for hour in range(4)]
        frame = pd.DataFrame({"at": dates, "n": range(4)})
        ctx = XComContext(key=f"dates_{i}", task_id="t", dag_id="d", run_id="r", map_index=-1)
        refusal = None
        if zone == "Europe/Paris" and not isinstance(tz, zoneinfo.ZoneInfo):  # pendulum 2
            refusal = r"^DataFrame column 'at' \(dtype datetime64"
        elif zone in named and FixedTimezone(0) != FixedTimezone(0):  # pendulum 2 and 3.0: zones equal as objects
            refusal = "it would come back changed"
        if refusal is not None:
            with pytest.raises(UnsupportedFrameError, match=refusal):
                store(backend, frame, ctx)
            stored = xcom_s3_env.keys()
            assert not [key for key in stored if f"/dates_{i}." in key], "a refused frame wrote to S3"
            continue
        back = round_trip(backend, frame, ctx)
        got = back["at"].dt.tz
        assert type(got) is type(tz) and repr(got) == repr(tz), f"{tz!r} came back as {got!r}"
        assert back["at"].tolist() == dates


@pytest.mark.parametrize("library", ["dateutil", "pendulum"])
def test_a_fixed_offset_named_by_its_owner_is_refused_with_the_offset_to_use(backend, xcom_s3_env, library):
    """Arrow keeps a fixed offset's own name ('X') as the column's zone, and no reader can look that name up: the
    push is refused up front with the same offset, unnamed, as the fix (it once failed as a layout that "does not
    match its columns"), and the fix round-trips."""
    if library == "pendulum":
        zone = pytest.importorskip("pendulum.tz.timezone").FixedTimezone(-5400, name="X")
    else:
        zone = dateutil_tz.tzoffset("X", -5400)
    xcom_s3_env.set("threshold", 0)
    frame = _frame(zone).drop(columns="kind")
    with pytest.raises(UnsupportedFrameError) as refused:
        store(backend, frame, CTX)
    assert str(refused.value) == (
        f"DataFrame column 'at' (dtype {frame['at'].dtype}) cannot be stored as Parquet exactly: Arrow stores its "
        f"time zone {zone!r} under the name 'X', which names no zone a reader can find. Convert it to the same "
        "offset without a name, e.g. df['at'] = df['at'].dt.tz_convert(datetime.timezone(datetime.timedelta("
        "seconds=-5400)))."
    )
    assert xcom_s3_env.keys() == []
    frame["at"] = frame["at"].dt.tz_convert(dt.timezone(dt.timedelta(seconds=-5400)))
    back = round_trip(backend, frame, CTX)
    assert back["at"].tolist() == frame["at"].tolist() and repr(back["at"].dt.tz) == repr(frame["at"].dt.tz)


def test_a_dateutil_zone_file_is_named_by_its_zone_not_this_machines_path(backend, xcom_s3_env):
    """The object in S3 names a dateutil zone file by its IANA name ("Europe/Paris"), which dateutil finds on any
    machine (its own bundled database included), never by the path of this machine's zoneinfo directory."""
    zone = dateutil_tz.gettz("Europe/Paris")
    assert "zoneinfo/" in zone._filename, "this machine's dateutil reads the system zone files"
    xcom_s3_env.set("threshold", 0)
    ref = reference(store(backend, _frame(zone), CTX))
    assert ref is not None
    body = xcom_s3_env.client.get_object(
        Bucket=xcom_s3_env.endpoint.bucket, Key=object_key(ref, xcom_s3_env.endpoint.bucket)
    )
    layout = json.loads(pq.read_schema(pa.BufferReader(body["Body"].read())).metadata[LAYOUT_KEY])
    assert layout["columns"][0]["tz"] == {"dateutil": "Europe/Paris"}, layout["columns"][0]


@pytest.mark.parametrize("path", ["/srv/tz/Europe/Paris", "/opt/zoneinfo/tzdata/zoneinfo/Europe/Paris"])
def test_a_zone_file_arrow_names_by_its_path_is_refused_asking_for_a_zone_by_name(backend, xcom_s3_env, path):
    """A dateutil zone file read from a directory not named zoneinfo (or below two of them): Arrow names it by
    the path (or by what follows the first ``zoneinfo/``), which no reader finds. The push is refused naming the
    column, that name and the remedy, and nothing reaches S3; the remedy then round-trips."""
    with open(dateutil_tz.gettz("Europe/Paris")._filename, "rb") as file:
        zone = dateutil_tz.tzfile(file, filename=path)
    frame = _frame(zone)
    xcom_s3_env.set("threshold", 0)
    with pytest.raises(UnsupportedFrameError) as refused:
        store(backend, frame, CTX)
    arrow_name = path.split("zoneinfo/", 1)[-1]
    assert str(refused.value) == (
        f"DataFrame column 'at' (dtype {frame['at'].dtype}) cannot be stored as Parquet exactly: Arrow stores its "
        f"time zone {zone!r} under the name {arrow_name!r}, which names no zone a reader can find. Convert it to a "
        "zone by name, e.g. df['at'] = df['at'].dt.tz_convert('Europe/Paris')."
    )
    assert xcom_s3_env.keys() == []
    frame["at"] = frame["at"].dt.tz_convert("Europe/Paris")
    frame["kind"] = pd.Categorical(frame["at"][[0, 1, 0, 1]])
    back = round_trip(backend, frame, CTX)
    assert back["at"].tolist() == frame["at"].tolist() and repr(back["at"].dt.tz) == repr(frame["at"].dt.tz)


def test_a_pytz_zone_read_where_pytz_is_missing_is_what_pandas_3_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pandas 2 writer's pytz zones, read without pytz (pandas 3 dropped it), keep their instants under the zone
    pandas 3 builds from the same name; with pytz they stay pytz. tests/mixed's TRANSLATIONS accept exactly this
    change across entries; here it is checked in any venv."""
    import datetime as dt
    import importlib.util
    import sys
    import zoneinfo

    from xcom_s3.frame_layout import decode_tz

    monkeypatch.setitem(sys.modules, "pytz", None)  # import pytz now raises ImportError
    assert decode_tz({"pytz": "US/Eastern"}) == zoneinfo.ZoneInfo("US/Eastern")
    assert decode_tz({"pytz": "UTC"}) is dt.timezone.utc
    assert decode_tz({"pytz_offset": -300}) == dt.timezone(dt.timedelta(hours=-5))
    monkeypatch.undo()  # pytz as it was (the module itself, never a second copy of it)
    if importlib.util.find_spec("pytz") is not None:
        assert type(decode_tz({"pytz": "US/Eastern"})).__module__.startswith("pytz")


def test_a_categorical_of_instants_in_a_zone_without_a_name_is_refused_naming_its_categories(backend, xcom_s3_env):
    """The categories carry the zone: the refusal names the column, its categories with their dtype, and why
    (the zone has no name another process could rebuild it from); nothing reaches S3."""
    moments = pd.Series(pd.date_range("2024-03-30 22:00", periods=2, freq="h", tz="UTC"))
    frame = pd.DataFrame({"kind": pd.Categorical(moments.dt.tz_convert(dateutil_tz.tzlocal())[[0, 1, 0]])})
    xcom_s3_env.set("threshold", 0)
    with pytest.raises(UnsupportedFrameError) as refused:
        store(backend, frame, CTX)
    message = str(refused.value)
    categories = frame["kind"].cat.categories.dtype
    assert message.startswith(
        f"DataFrame column 'kind' (dtype category) cannot be stored as Parquet exactly: its categories (dtype "
        f"{categories}) cannot be kept (DataFrame column 'kind' categories (dtype {categories}) cannot be stored as "
        "Parquet exactly: its time zone tzlocal() has no name another process could rebuild it from."
    ), message
    assert xcom_s3_env.keys() == []
