"""Bytes parameters reach the database exactly, on every path that sends them.

MySQL sends large bytes values through prepared statements (the binary protocol,
``backends/mysql_binary.py``) and small ones, and statements returning rows, as SQL text;
PostgreSQL and SQLite bind bytes natively. Each test runs on all three backends, with
values on both sides of ``LONG_DATA_MIN`` where the size matters.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import numpy as np
import pytest
import sqlalchemy as sa

import dj_jupyter as dj
from dj_jupyter.backends.mysql.binary_protocol import LONG_DATA_MIN
from dj_jupyter.errors import DuplicateError

ALL_BYTES = bytes(range(256))
LARGE = ALL_BYTES * (LONG_DATA_MIN // 256 + 3)  # above the threshold, every byte value
SMALL = ALL_BYTES * 4


@pytest.fixture
def Raw(schema):
    @schema
    class Raw(dj.Manual):
        definition = """
        id: int32
        ---
        data = null: bytes
        """

    return Raw


@pytest.fixture
def Blob(schema):
    @schema
    class Blob(dj.Manual):
        definition = """
        id: int32
        ---
        value: <blob>
        """

    return Blob


def prepared_runs(conn) -> int:
    """MySQL: prepared statements this session has executed (0 elsewhere)."""
    if conn.dialect.name != "mysql":
        return 0
    rows, _, _ = conn.run("SHOW SESSION STATUS LIKE 'Com_stmt_execute'", fetch=True)
    return int(rows[0][1])


def stored(table, key: int):
    return (table & {"id": key}).fetch1("data")


def test_every_byte_value_round_trips_small_large_and_empty(Raw):
    values = {1: ALL_BYTES, 2: SMALL, 3: LARGE, 4: b"", 5: b"\x00", 6: LARGE[::-1], 7: None,
              8: b"'\\\"\x1a\r\n%s?%%"}
    Raw.insert([{"id": k, "data": v} for k, v in values.items()])
    assert {k: stored(Raw, k) for k in values} == values
    assert all(type(stored(Raw, k)) is bytes for k in values if values[k] is not None)


def test_single_row_insert_of_large_bytes(Raw):
    Raw.insert1({"id": 1, "data": LARGE})
    Raw.insert([{"id": 2, "data": bytearray(LARGE)}])
    assert stored(Raw, 1) == LARGE
    assert stored(Raw, 2) == LARGE


def test_multi_mib_bytes_round_trip(Raw):
    rng = np.random.default_rng(5)
    big = rng.integers(0, 256, 9 << 20, dtype=np.uint8).tobytes() + ALL_BYTES
    Raw.insert([{"id": 1, "data": big}, {"id": 2, "data": SMALL}])
    assert stored(Raw, 1) == big
    assert stored(Raw, 2) == SMALL


@pytest.mark.parametrize("dtype", ["<f8", "<f4", "<i2", ">i8", "<u1", "<c16", "?", "<M8[us]"])
def test_blob_arrays_round_trip(Blob, dtype):
    rng = np.random.default_rng(3)
    large = rng.integers(0, 100, 40_000).astype(dtype)  # >= LONG_DATA_MIN for every dtype
    if np.dtype(dtype).kind in "fc":
        large = rng.standard_normal(40_000).astype(dtype)  # incompressible: stays large
    small = large[:7].reshape(7, 1)
    Blob.insert([{"id": 1, "value": large}, {"id": 2, "value": small}])
    back = dict(zip(*Blob.to_arrays("id", "value")))
    for key, original in ((1, large), (2, small)):
        assert back[key].dtype == original.dtype
        assert back[key].shape == original.shape
        assert np.array_equal(back[key], original)


def test_restriction_on_large_and_small_bytes_matches(Raw):
    Raw.insert([{"id": 1, "data": LARGE}, {"id": 2, "data": SMALL}, {"id": 3, "data": b""}])
    assert (Raw & {"data": LARGE}).keys() == [{"id": 1}]
    assert (Raw & {"data": SMALL}).keys() == [{"id": 2}]
    assert (Raw & {"data": b""}).keys() == [{"id": 3}]
    assert len(Raw & {"data": LARGE[:-1]}) == 0
    (Raw & {"data": LARGE}).delete_quick()
    assert sorted(k["id"] for k in Raw.keys()) == [2, 3]


def test_restriction_on_uuid_key_matches_next_to_large_bytes(schema):
    @schema
    class Tagged(dj.Manual):
        definition = """
        tag: uuid
        ---
        data: bytes
        """

    tags = [uuid.UUID(int=0), uuid.UUID(int=(1 << 128) - 1), uuid.uuid4()]
    Tagged.insert([{"tag": t, "data": LARGE + bytes([i])} for i, t in enumerate(tags)])
    for i, tag in enumerate(tags):
        assert (Tagged & {"tag": tag}).fetch1("data") == LARGE + bytes([i])
    assert len(Tagged & {"tag": uuid.uuid4()}) == 0


@pytest.mark.fast_path
def test_large_bytes_next_to_values_of_every_kind(conn, schema):
    @schema
    class Mixed(dj.Manual):
        definition = """
        id: int64
        ---
        name: varchar(40)
        ratio: float64
        flag: bool
        amount: decimal(12, 4)
        when_: datetime(6)
        day: date
        note = null: varchar(10)
        data: bytes
        """

    row = {"id": -(1 << 62), "name": "naïve ☃ 'quoted' %s ?", "ratio": 0.1 + 0.2,
           "flag": True, "amount": decimal.Decimal("-12345678.0625"),
           "when_": dt.datetime(2024, 2, 29, 23, 59, 58, 123456), "day": dt.date(1999, 12, 31),
           "note": None, "data": LARGE}
    before = prepared_runs(conn)
    Mixed.insert1(row)
    assert (Mixed & {"id": row["id"]}).fetch1() == row
    if conn.dialect.name == "mysql":  # every kind of value went the binary way
        assert prepared_runs(conn) == before + 1


def test_update1_replaces_large_bytes(Raw, Blob):
    Raw.insert1({"id": 1, "data": SMALL})
    Raw.update1({"id": 1, "data": LARGE})
    assert stored(Raw, 1) == LARGE
    Raw.update1({"id": 1, "data": b""})
    assert stored(Raw, 1) == b""
    array = np.random.default_rng(1).standard_normal(20_000)
    Blob.insert1({"id": 1, "value": np.zeros(3)})
    Blob.update1({"id": 1, "value": array})
    assert np.array_equal((Blob & {"id": 1}).fetch1("value"), array)


def test_duplicate_large_row_fails_and_writes_nothing(Raw):
    Raw.insert1({"id": 1, "data": SMALL})
    with pytest.raises(DuplicateError):
        Raw.insert([{"id": 2, "data": LARGE}, {"id": 1, "data": LARGE}])
    assert [k["id"] for k in Raw.keys()] == [1]
    assert stored(Raw, 1) == SMALL
    Raw.insert([{"id": 1, "data": LARGE}, {"id": 2, "data": LARGE}], skip_duplicates=True)
    assert stored(Raw, 1) == SMALL and stored(Raw, 2) == LARGE
    Raw.insert([{"id": 1, "data": LARGE[1:]}], replace=True)
    assert stored(Raw, 1) == LARGE[1:]


def test_large_bytes_as_the_statement_that_commits(conn, Raw):
    """The last statement of a transaction (sent with its COMMIT where the driver can)."""
    sa_schema, address = conn.dialect.table_address(Raw.database, Raw.table_name)
    target = sa.Table(address, sa.MetaData(), sa.Column("id"), sa.Column("data"),
                      schema=sa_schema)
    prepared = conn.prepare(sa.insert(target).values(id=sa.bindparam("id"),
                                                     data=sa.bindparam("data")))
    with conn.transaction:
        Raw.insert1({"id": 1, "data": SMALL})
        conn.run_at_commit(prepared, {"id": 2, "data": LARGE})
    assert not conn.in_transaction
    assert stored(Raw, 1) == SMALL and stored(Raw, 2) == LARGE
    with pytest.raises(Exception):  # noqa: B017 - the driver's duplicate error, by backend
        with conn.transaction:
            Raw.insert1({"id": 3, "data": SMALL})
            conn.run_at_commit(prepared, {"id": 2, "data": LARGE})
    assert sorted(k["id"] for k in Raw.keys()) == [1, 2]


@pytest.mark.fast_path
def test_mysql_sends_only_large_bytes_through_prepared_statements(backend, conn, Raw):
    if backend != "mysql":
        pytest.skip("the binary protocol path is MySQL's")

    def executed() -> int:
        return prepared_runs(conn)

    before = executed()
    Raw.insert([{"id": k, "data": LARGE} for k in range(3)])
    assert executed() == before + 3
    Raw.update1({"id": 0, "data": LARGE[:-1]})
    assert executed() == before + 4
    Raw.insert([{"id": k, "data": SMALL} for k in range(3, 6)])
    assert len(Raw & {"data": LARGE}) == 2  # a query with rows: SQL text, as before
    assert executed() == before + 4
    assert stored(Raw, 0) == LARGE[:-1] and stored(Raw, 5) == SMALL


@pytest.mark.fast_path
def test_value_near_the_servers_packet_limit(Raw):
    """48 MiB: under MySQL's max_allowed_packet (64 MiB in the test servers), though as hex
    in SQL text it would be 96 MiB and refused."""
    big = ALL_BYTES * (48 << 12)
    Raw.insert1({"id": 1, "data": big})
    back = stored(Raw, 1)
    assert len(back) == len(big) and back == big


def test_large_blob_bodies_are_compressed_only_when_samples_say_it_pays():
    from dj_jupyter.objects.codecs import blobformat

    rng = np.random.default_rng(2)
    noise = rng.standard_normal(1 << 17)
    repeated = np.tile(rng.standard_normal(64), 1 << 11)
    half = np.concatenate([np.zeros(1 << 16), rng.standard_normal(1 << 16)])  # 1st sample
    for array, compressed in ((noise, False), (repeated, True), (half, True)):
        blob = blobformat.encode(array)
        assert blob[len(blobformat.MAGIC)] == int(compressed)
        assert np.array_equal(blobformat.decode(blob), array)
