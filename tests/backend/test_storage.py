"""Object stores through real databases: store codecs, transactional objects, delete and GC.

Every test runs on each database backend, against a local-folder store and an S3 store
served by moto on loopback.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import numpy as np
import pytest

import dj_jupyter as dj
from dj_jupyter.errors import ConfigError, DataTypeError, DuplicateError
from dj_jupyter.objects import stores as storage
from dj_jupyter.objects.codecs.stored import NpyRef, content_hash

ACCESS_KEY = "AKIDTESTINGONLY"
SECRET_KEY = "s3cr3t-VALUE-that-must-never-show"
BUCKET = "dj-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    pytest.importorskip("s3fs")
    server_module = pytest.importorskip("moto.server")
    port = _free_port()
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    import boto3

    boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY,
                 aws_secret_access_key=SECRET_KEY,
                 region_name="us-east-1").create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


@pytest.fixture(params=["file", "s3"])
def store(request, tmp_path) -> Iterator[storage.Store]:
    """The default store of the test (a fresh folder, or a fresh prefix in the bucket)."""
    if request.param == "file":
        spec = {"protocol": "file", "location": str(tmp_path / "objects")}
    else:
        spec = {"protocol": "s3", "endpoint": request.getfixturevalue("s3_endpoint"),
                "bucket": BUCKET, "location": f"run-{uuid.uuid4().hex[:10]}",
                "access_key": ACCESS_KEY, "secret_key": SECRET_KEY}
    with dj.config.override({"stores": {"default": "main", "main": spec},
                             "download_path": str(tmp_path / "downloads")}):
        yield storage.get_store()


def objects(store: storage.Store, prefix: str = "") -> set[str]:
    return {item.path for item in store.list(prefix)}


@pytest.fixture
def tables(schema):
    @schema
    class Rec(dj.Manual):
        definition = """
        id: int32
        ---
        blob = null: <blob@>
        raw = null: <hash@>
        att = null: <attach@>
        arr = null: <npy@>
        """

    @schema
    class Child(dj.Manual):
        definition = """
        -> Rec
        k: int16
        ---
        arr: <npy@main>
        """

    return Rec, Child


def test_round_trip_every_codec(tables, store, schema, tmp_path):
    Rec, _ = tables
    source = tmp_path / "notes.txt"
    source.write_bytes(b"hello\x00world")
    array = np.arange(24, dtype="float32").reshape(4, 6)
    Rec.insert1({"id": 1, "blob": {"a": [1, 2.5]}, "raw": b"\x00raw", "att": str(source),
                 "arr": array})
    Rec.insert1({"id": 2})
    row = (Rec & {"id": 1}).fetch1()
    assert row["blob"] == {"a": [1, 2.5]}
    assert row["raw"] == b"\x00raw"
    assert open(row["att"], "rb").read() == b"hello\x00world"
    assert row["att"].startswith(str(tmp_path / "downloads"))
    assert isinstance(row["arr"], NpyRef)
    np.testing.assert_array_equal(np.asarray(row["arr"]), array)
    assert (Rec & {"id": 2}).fetch1()["arr"] is None
    stored = objects(store)
    digest = content_hash(b"\x00raw")
    assert f"_hash/{schema.database}/{digest}" in stored and len(digest) == 26
    npy = [p for p in stored if p.startswith("_schema/")]
    assert len(npy) == 1 and npy[0].startswith(f"_schema/{schema.database}/rec/id=1/arr_")
    assert npy[0].endswith(".npy")


def test_same_content_is_stored_once(tables, store, schema):
    Rec, _ = tables
    Rec.insert([{"id": i, "raw": b"same bytes", "blob": np.ones(3)} for i in range(4)])
    hashed = objects(store, "_hash")
    assert len(hashed) == 2  # one for the raw bytes, one for the blob
    assert all(r == b"same bytes" for r in Rec.to_arrays("raw"))


def test_npy_ref_is_lazy_and_slices_read_part(tables, store, monkeypatch):
    Rec, _ = tables
    array = np.arange(10_000, dtype="int64").reshape(1000, 10)
    Rec.insert1({"id": 1, "arr": array})
    reads: list[int] = []
    original = storage.Store.get_bytes

    def counting(self, path, start=None, end=None):
        data = original(self, path, start, end)
        reads.append(len(data))
        return data

    monkeypatch.setattr(storage.Store, "get_bytes", counting)
    ref = (Rec & {"id": 1}).fetch1("arr")
    assert (ref.shape, ref.dtype, ref.ndim, ref.nbytes, len(ref)) == (
        (1000, 10), np.dtype("int64"), 2, 80_000, 1000)
    assert reads == [] and not ref.is_loaded
    refs = Rec.to_arrays("arr")  # an object array of NpyRefs, none of them read
    assert isinstance(refs[0], NpyRef) and not refs[0].is_loaded and reads == []
    np.testing.assert_array_equal(ref[10:20], array[10:20])
    np.testing.assert_array_equal(ref[5], array[5])
    np.testing.assert_array_equal(ref[-3, 2:4], array[-3, 2:4])
    np.testing.assert_array_equal(ref[50:10:-7], array[50:10:-7])
    assert sum(reads) < 80_000 // 4  # headers and the needed rows only
    np.testing.assert_array_equal(ref.load(), array)
    count = len(reads)
    np.testing.assert_array_equal(np.asarray(ref), array)
    assert len(reads) == count  # loaded once


def test_invalid_third_row_leaves_no_object(tables, store):
    Rec, _ = tables
    rows = [{"id": i, "arr": np.arange(i + 1), "raw": bytes([i]) * 5} for i in range(5)]
    rows[2]["arr"] = np.array([{"x": 1}], dtype=object)
    with pytest.raises(DataTypeError):
        Rec.insert(rows)
    assert len(Rec) == 0
    assert objects(store) == set()


def test_duplicate_key_leaves_no_new_object(tables, store, schema):
    Rec, _ = tables
    Rec.insert1({"id": 1, "arr": np.zeros(3), "raw": b"first"})
    before = objects(store)
    with pytest.raises(DuplicateError):
        Rec.insert([{"id": 2, "arr": np.ones(3), "raw": b"second"},
                    {"id": 1, "arr": np.ones(4), "raw": b"first"}])
    # the <npy@> objects the failed rows owned are gone; the content-addressed object they
    # wrote stays (another session may share it) until gc finds it unreferenced
    second = f"_hash/{schema.database}/{content_hash(b'second')}"
    assert objects(store) == before | {second}
    assert len(Rec) == 1
    assert (Rec & {"id": 1}).fetch1("raw") == b"first"
    assert schema.gc(dry_run=False, grace_seconds=0)["removed"] == [("main", second)]
    assert objects(store) == before


def test_store_failing_on_third_write_leaves_nothing(tables, store, monkeypatch):
    Rec, _ = tables
    original = storage.Store.put_npy
    calls = []

    def flaky(self, path, data):
        calls.append(path)
        if len(calls) == 3:
            original(self, path, data[:1])  # a partial object, then the failure
            raise OSError("disk full")
        return original(self, path, data)

    monkeypatch.setattr(storage.Store, "put_npy", flaky)
    with pytest.raises(OSError):
        Rec.insert([{"id": i, "arr": np.arange(i + 2)} for i in range(5)])
    assert len(Rec) == 0
    assert objects(store) == set()


def test_rolled_back_transaction_removes_its_objects(tables, store, conn, schema):
    Rec, _ = tables
    with pytest.raises(RuntimeError), conn.transaction:
        Rec.insert1({"id": 1, "arr": np.arange(3), "raw": b"in a transaction"})
        assert len(objects(store)) == 2
        raise RuntimeError("make failed")
    shared = f"_hash/{schema.database}/{content_hash(b'in a transaction')}"
    assert len(Rec) == 0 and objects(store) == {shared}  # shared objects are left to gc
    assert schema.gc(dry_run=False, grace_seconds=0)["removed"] == [("main", shared)]
    with conn.transaction:
        Rec.insert1({"id": 1, "arr": np.arange(3)})
    assert len(objects(store)) == 1


def test_delete_removes_objects_of_every_deleted_row(tables, store, schema):
    Rec, Child = tables
    Rec.insert([{"id": i, "arr": np.full(3, i), "raw": b"shared"} for i in range(3)])
    Child.insert([{"id": i, "k": k, "arr": np.full(2, 10 * i + k)}
                  for i in range(3) for k in range(2)])
    assert len(objects(store, "_schema")) == 9
    (Rec & "id < 2").delete()
    left = objects(store, "_schema")
    assert len(left) == 3 and all("id=2" in p for p in left)
    np.testing.assert_array_equal((Child & {"id": 2, "k": 1}).fetch1("arr").load(), [21, 21])
    assert len(objects(store, "_hash")) == 1  # hash-addressed objects are left to gc
    Rec.delete()
    assert objects(store, "_schema") == set()
    assert schema.gc(dry_run=False, grace_seconds=0)["removed"] == [
        ("main", f"_hash/{schema.database}/{content_hash(b'shared')}")]


def test_gc_removes_only_unreferenced_old_objects(tables, store, schema):
    Rec, _ = tables
    Rec.insert([{"id": 1, "arr": np.arange(5), "raw": b"kept", "blob": [1, 2]}])
    referenced = objects(store)
    orphans = {f"_hash/{schema.database}/{content_hash(b'orphan')}",
               f"_schema/{schema.database}/rec/id=9/arr_orphan.npy"}
    for path in orphans:
        store.put_bytes(path, b"orphan")
    store.put_bytes("_hash/another_schema/xyz", b"not ours")
    with dj.config.override({"stores.gc_grace_seconds": 3600}):
        report = schema.gc(dry_run=False)
    assert report["removed"] == [] and report["too_young"] == 2
    report = schema.gc(dry_run=True, grace_seconds=0)
    assert {p for _, p in report["unreferenced"]} == orphans
    assert objects(store) == referenced | orphans | {"_hash/another_schema/xyz"}
    with dj.config.override({"stores.gc_grace_seconds": 0}):
        report = schema.gc(dry_run=False)
    assert {p for _, p in report["removed"]} == orphans
    assert objects(store) == referenced | {"_hash/another_schema/xyz"}
    row = Rec.fetch1()
    assert row["raw"] == b"kept" and row["blob"] == [1, 2]


def test_default_local_store_without_configuration(schema, tmp_path, backend):
    if backend != "sqlite":
        pytest.skip("the implicit store sits next to the SQLite file")
    with dj.config.override({"database.path": str(tmp_path / "pipe.db"), "stores": {}}):
        @schema
        class Plain(dj.Manual):
            definition = """
            id: int32
            ---
            value: <blob@>
            """

        Plain.insert1({"id": 1, "value": np.eye(2)})
        np.testing.assert_array_equal(Plain.fetch1("value"), np.eye(2))
        assert storage.get_store().name == storage.IMPLICIT_STORE
        assert any((tmp_path / "datajoint_store" / "_hash").rglob("*"))


def test_secrets_never_shown(tmp_path):
    spec = {"protocol": "s3", "endpoint": "http://127.0.0.1:1", "bucket": "b",
            "location": "x", "access_key": ACCESS_KEY, "secret_key": SECRET_KEY}
    with dj.config.override({"stores": {"default": "lab", "lab": spec}}):
        assert SECRET_KEY not in repr(dj.config) and ACCESS_KEY not in repr(dj.config)
        assert "***" in repr(dj.config)
        assert SECRET_KEY not in repr(storage.get_store("lab"))
        with pytest.raises(ConfigError) as missing:
            storage.get_store("nope")
        assert SECRET_KEY not in str(missing.value)
        dj.config.save(tmp_path / "datajoint.json")
        assert SECRET_KEY not in (tmp_path / "datajoint.json").read_text()
    with pytest.raises(ConfigError) as bad:
        dj.config["stores"] = {"lab": {**spec, "secret": SECRET_KEY, "regoin": "eu"}}
    message = str(bad.value)
    assert SECRET_KEY not in message and "regoin" in message and "known keys" in message
    with pytest.raises(ConfigError, match="bucket"):
        dj.config["stores"] = {"lab": {"protocol": "s3", "location": "x"}}
