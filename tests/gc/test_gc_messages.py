"""What gc tells the operator when it stops before deleting anything, sentence for sentence: values in a format
this gc does not read (each shown cut to 120 characters, so one huge value cannot flood the message), and a
metadata DB it cannot read (with the DB's URL, its password hidden: the message lands in logs and tickets).
"""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from xcom_s3 import gc, xcom_table
from xcom_s3.settings import Settings

SETTINGS = Settings(bucket="b", prefix="xcom")


def test_a_value_in_an_unknown_format_is_named_in_a_whole_sentence() -> None:
    """A 200-character format version is shown as its first 120 characters of ``marker=version kind=kind``."""
    huge = {"__xcom_s3__": "9" * 200, "kind": "ref"}
    keep = gc.Keep.read([json.dumps(huge)], SETTINGS)
    with pytest.raises(gc.UnknownFormatError) as refused:
        keep.refuse_unknown()
    shown = "__xcom_s3__='" + "9" * 107
    assert len(shown) == 120
    assert str(refused.value) == (
        f"1 XCom values in the metadata DB carry the __xcom_s3__ marker in a format this gc does not read (1 with "
        f"{shown}; it reads format 1, kinds 'ref' and 'escaped'). It cannot tell which objects they reference, so it "
        "deletes nothing: run gc from the xcom-s3-compat version your workers run."
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def unreachable_db() -> Any:
    """A session on a PostgreSQL URL with a user and password where nothing listens: every read is refused."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    engine = create_engine(f"postgresql+psycopg2://gc:s3cret-pw@127.0.0.1:{_closed_port()}/airflow")
    session = Session(engine)
    yield session
    session.close()
    engine.dispose()


def test_an_unreadable_db_is_named_with_its_password_hidden(unreachable_db: Any) -> None:
    """The driver's first line, the URL without its password, the setting, and where to run gc."""
    with pytest.raises(gc.MetadataDBError) as unreadable:
        list(gc.stored_values(unreachable_db))
    message = str(unreadable.value)
    port = unreachable_db.get_bind().url.port
    assert message.startswith("Cannot read the XCom tables of Airflow's metadata DB: OperationalError: "), message
    assert message.endswith(
        f" (in postgresql+psycopg2://gc:***@127.0.0.1:{port}/airflow). They are read from the DB Airflow is "
        "configured with (AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, or [database] sql_alchemy_conn in airflow.cfg): run "
        "where `airflow db check` works, with the scheduler's configuration, on a DB that `airflow db migrate` has "
        "set up."
    ), message
    assert "s3cret-pw" not in message


@pytest.mark.parametrize(
    ("exc", "shown"),
    [
        (ValueError(), "ValueError"),
        (ValueError("  \n"), "ValueError"),
        (ValueError("no such table: xcom\n[SQL: SELECT value FROM xcom]"), "ValueError: no such table: xcom"),
    ],
)
def test_an_error_is_shown_as_its_type_and_first_line(exc: Exception, shown: str) -> None:
    """A driver's error without any text is still named (its type), never shown as nothing."""
    assert xcom_table.one_line(exc) == shown
