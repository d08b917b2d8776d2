"""DataJoint's query cache (issue 17): ``conn.set_query_cache(name)`` answers reads from
``dj.config["query_cache"]`` and refuses writes; ``set_query_cache()`` turns it off;
``purge_query_cache()`` forgets every result.

The law: while a name is on, every read gives what it gave when first read under that name,
whatever was written meanwhile; with the cache off, reads are live.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dj_jupyter as dj
from dj_jupyter.errors import DataJointError


@pytest.fixture
def Readings(schema):
    @schema
    class Readings(dj.Manual):
        definition = """
        reading: int32
        ---
        label: varchar(30)
        value = null: decimal(8,3)
        taken = null: datetime(6)
        ident = null: uuid
        extra = null: json
        raw = null: bytes
        """

    return Readings


@pytest.fixture
def cache_folder(tmp_path, conn):
    with dj.config.override(query_cache=str(tmp_path / "cache")):
        yield tmp_path / "cache"
    conn.set_query_cache()


ROW = {"reading": 1, "label": "a", "value": decimal.Decimal("2.500"),
       "taken": dt.datetime(2024, 5, 6, 7, 8, 9, 123456), "ident": uuid.UUID(int=7),
       "extra": {"k": [1, "x", None]}, "raw": b"\x00\xffbytes"}


def test_reads_come_from_the_cache_and_writes_are_refused(Readings, conn, cache_folder):
    Readings.insert1(ROW)
    conn.set_query_cache(query_cache="main")
    first = Readings.to_dicts()
    assert first == [ROW] and len(Readings) == 1
    with pytest.raises(DataJointError, match="Only SELECT queries are allowed"):
        Readings.insert1({"reading": 2, "label": "b"})
    with pytest.raises(DataJointError, match="Only SELECT queries are allowed"):
        Readings.insert([{"reading": i, "label": "bulk"} for i in range(10, 210)])  # COPY
    with pytest.raises(DataJointError, match="Only SELECT queries are allowed"):
        with conn.transaction:
            Readings.insert1({"reading": 3, "label": "c"})
    with pytest.raises(DataJointError, match="Only SELECT queries are allowed"):
        Readings.delete_quick()
    with pytest.raises(DataJointError, match="Only SELECT queries are allowed"):
        conn.query("DELETE FROM nothing")
    conn.set_query_cache()
    Readings.insert1({"reading": 2, "label": "b"})
    assert len(Readings.to_dicts()) == 2  # off: live
    conn.set_query_cache(query_cache="main")
    assert Readings.to_dicts() == first and len(Readings) == 1  # the saved results
    conn.set_query_cache(query_cache="fresh")
    assert len(Readings.to_dicts()) == 2  # a new name reads anew
    conn.purge_query_cache()
    assert not any(cache_folder.iterdir())
    conn.set_query_cache(query_cache="main")
    assert len(Readings.to_dicts()) == 2  # purged: read again


def test_the_cache_needs_a_folder(Readings, conn):
    conn.set_query_cache(query_cache="main")
    try:
        with pytest.raises(DataJointError, match=r"dj.config\['query_cache'\]"):
            Readings.to_dicts()
    finally:
        conn.set_query_cache()


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(labels=st.lists(st.text(st.characters(codec="utf-8", exclude_characters="\0"),
                               max_size=20), min_size=1, max_size=5),
       values=st.lists(st.none() | st.decimals(-9999, 9999, places=3), min_size=5, max_size=5))
def test_cached_reads_equal_live_reads(Readings, conn, cache_folder, labels, values):
    conn.set_query_cache()
    Readings.delete_quick()
    Readings.insert([{"reading": i, "label": text, "value": values[i], "extra": [i, text]}
                     for i, text in enumerate(labels)])
    live = (Readings.to_dicts(), Readings.to_pandas(), Readings.to_arrays("label", "value"))
    conn.set_query_cache(query_cache=f"run-{uuid.uuid4()}")
    for _ in range(2):  # saved on the first read, answered from the file on the second
        cached = (Readings.to_dicts(), Readings.to_pandas(), Readings.to_arrays("label", "value"))
        assert cached[0] == live[0] and cached[1].equals(live[1])
        assert all((a == b).all() for a, b in zip(cached[2], live[2]))
