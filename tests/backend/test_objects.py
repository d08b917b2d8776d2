"""``<object@>`` and ``<filepath@>`` through real databases, on a local-folder and an S3 store."""

from __future__ import annotations

import pytest

import dj_jupyter as dj
from dj_jupyter.errors import DataTypeError
from dj_jupyter.objects import stores as storage
from dj_jupyter.objects.codecs.objects import ObjectRef

from . import test_storage as _shared

SECRET_KEY, objects = _shared.SECRET_KEY, _shared.objects
s3_endpoint, store = _shared.s3_endpoint, _shared.store  # the fixtures of test_storage.py


@pytest.fixture
def tables(schema):
    @schema
    class Obj(dj.Manual):
        definition = """
        id: int32
        ---
        thing = null: <object@>
        """

    @schema
    class Fp(dj.Manual):
        definition = """
        id: int32
        ---
        file: <filepath@main>
        """

    return Obj, Fp


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "session.zarr"
    (root / "a" / "b").mkdir(parents=True)
    (root / ".zattrs").write_bytes(b"{}")
    (root / "a" / "one.bin").write_bytes(b"\x01" * 10)
    (root / "a" / "b" / "two.txt").write_bytes(b"two")
    return root


def test_bytes_file_and_ext_bytes_round_trip(tables, store, schema, tmp_path):
    Obj, _ = tables
    source = tmp_path / "trace.dat"
    source.write_bytes(b"\x00file content")
    Obj.insert([{"id": 1, "thing": b"raw bytes"}, {"id": 2, "thing": str(source)},
                {"id": 3, "thing": (".json", b'{"a": 1}')}, {"id": 4, "thing": source}])
    one, two, three, four = [(Obj & {"id": i}).fetch1("thing") for i in range(1, 5)]
    assert all(isinstance(r, ObjectRef) for r in (one, two, three, four))
    assert one.read() == b"raw bytes" and (one.size, one.ext, one.is_dir) == (9, "", False)
    assert two.read() == b"\x00file content" and two.ext == ".dat" and two.size == 13
    assert four.read() == b"\x00file content" and four.path != two.path
    assert three.ext == ".json" and three.open().read() == b'{"a": 1}'
    assert three.path.startswith(f"_schema/{schema.database}/obj/id=3/thing_")
    assert three.path.endswith(".json") and three.exists()
    assert two.download(tmp_path / "out.dat").read_bytes() == b"\x00file content"
    assert objects(store) == {r.path for r in (one, two, three, four)}
    assert SECRET_KEY not in repr(one) and "ObjectRef" in repr(one)


def test_folder_round_trip_and_download(tables, store, folder, tmp_path):
    Obj, _ = tables
    Obj.insert1({"id": 1, "thing": folder})
    ref = Obj.fetch1("thing")
    assert ref.is_dir and ref.ext == ".zarr"
    assert (ref.size, ref.item_count) == (15, 3)
    assert ref.walk() == [".zattrs", "a/b/two.txt", "a/one.bin"]
    assert ref.listdir() == [".zattrs", "a"] and ref.listdir("a") == ["b", "one.bin"]
    assert ref.open("a/b/two.txt").read() == b"two"
    with pytest.raises(dj.DataJointError, match="folder"):
        ref.read()
    assert ref.fsmap["a/one.bin"] == b"\x01" * 10
    target = ref.download(tmp_path / "copy")
    assert target == tmp_path / "copy"
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()) \
        == [".zattrs", "a/b/two.txt", "a/one.bin"]
    assert (target / "a" / "b" / "two.txt").read_bytes() == b"two"
    assert ref.exists()


def test_object_ref_reads_nothing_until_asked(tables, store, folder, monkeypatch):
    Obj, _ = tables
    Obj.insert([{"id": 1, "thing": b"x" * 100}, {"id": 2, "thing": folder}])
    calls: list[str] = []
    original = storage.Store.fs

    def counting(self):
        calls.append(self.name)
        return original.fget(self)

    monkeypatch.setattr(storage.Store, "fs", property(counting))
    refs = Obj.to_arrays("thing")
    for ref in refs:
        (ref.path, ref.store, ref.size, ref.ext, ref.is_dir, ref.item_count, repr(ref))
    assert calls == []
    assert refs[0].read() == b"x" * 100
    assert calls


def test_invalid_values_and_failed_insert_leave_no_object(tables, store, folder, tmp_path):
    Obj, _ = tables
    with pytest.raises(DataTypeError, match="nowhere"):
        Obj.insert1({"id": 1, "thing": str(tmp_path / "nowhere")})
    with pytest.raises(DataTypeError):
        Obj.insert1({"id": 1, "thing": 42})
    with pytest.raises(DataTypeError, match="extension"):
        Obj.insert1({"id": 1, "thing": ("../x", b"")})
    with pytest.raises(DataTypeError):
        Obj.insert([{"id": 1, "thing": folder}, {"id": 2, "thing": b"ok"},
                    {"id": 3, "thing": 3.5}])
    assert len(Obj) == 0 and objects(store) == set()
    with pytest.raises(dj.errors.DuplicateError):
        Obj.insert([{"id": 1, "thing": folder}, {"id": 1, "thing": folder}])
    assert len(Obj) == 0 and objects(store) == set()


def test_delete_removes_object_and_folder(tables, store, folder):
    Obj, _ = tables
    Obj.insert([{"id": 1, "thing": folder}, {"id": 2, "thing": b"file"}, {"id": 3}])
    assert len(objects(store)) == 4
    (Obj & {"id": 1}).delete()
    left = objects(store)
    assert len(left) == 1 and "id=2" in next(iter(left))
    Obj.delete()
    assert objects(store) == set()


def test_gc_keeps_referenced_objects_and_folders(tables, store, folder, schema):
    Obj, _ = tables
    Obj.insert([{"id": 1, "thing": folder}, {"id": 2, "thing": b"file"}])
    kept = objects(store)
    orphan = f"_schema/{schema.database}/obj/id=9/thing_orphan"
    store.put_bytes(orphan, b"x")
    store.put_bytes(orphan + "_dir/inner.bin", b"y")
    report = schema.gc(dry_run=False, grace_seconds=0)
    assert {p for _, p in report["removed"]} == {orphan, orphan + "_dir/inner.bin"}
    assert objects(store) == kept
    assert Obj.to_arrays("thing")[0].open("a/b/two.txt").read() == b"two"


def test_filepath(tables, store, schema, tmp_path):
    _, Fp = tables
    store.put_bytes("raw/session1/data.bin", b"recorded")
    store.put_bytes("raw/session2/x/part.bin", b"12345")
    with pytest.raises(DataTypeError, match="raw/missing.bin"):
        Fp.insert1({"id": 1, "file": "raw/missing.bin"})
    for managed in ("_hash/abc", "_schema/x/y", "../outside"):
        store.put_bytes("_hash/abc", b"no")
        with pytest.raises(DataTypeError):
            Fp.insert1({"id": 1, "file": managed})
    Fp.insert([{"id": 1, "file": "raw/session1/data.bin"}, {"id": 2, "file": "raw/session2"}])
    one, two = Fp.to_arrays("file")
    assert isinstance(one, ObjectRef)
    assert (one.path, one.store, one.size, one.is_dir, one.ext) == (
        "raw/session1/data.bin", "main", 8, False, ".bin")
    assert one.read() == b"recorded" and one.timestamp
    assert two.is_dir and two.size == 5 and two.walk() == ["x/part.bin"]
    assert two.download(tmp_path / "s2").joinpath("x", "part.bin").read_bytes() == b"12345"
    Fp.delete()
    assert {"raw/session1/data.bin", "raw/session2/x/part.bin"} <= objects(store)
    schema.gc(dry_run=False, grace_seconds=0)
    assert {"raw/session1/data.bin", "raw/session2/x/part.bin"} <= objects(store)
