"""``ObjectRef.verify()`` as in DataJoint 2.x: the stored object against its row's metadata."""

from __future__ import annotations

import pytest

import dj_jupyter as dj

from . import test_storage as _shared

s3_endpoint, store = _shared.s3_endpoint, _shared.store  # the fixtures of test_storage.py


@pytest.fixture
def Obj(schema):  # noqa: N802 - a table class
    @schema
    class Obj(dj.Manual):
        definition = """
        id: int32
        ---
        thing: <object@>
        """

    return Obj


def test_verify_a_file_then_find_it_changed_or_gone(Obj, store, tmp_path):
    source = tmp_path / "trace.dat"
    source.write_bytes(b"0123456789")
    Obj.insert1({"id": 1, "thing": source})
    ref = Obj.fetch1("thing")
    assert ref.verify() is True
    store.fs.pipe_file(store.full_path(ref.path), b"012")  # cut short behind its back
    with pytest.raises(dj.IntegrityError, match="expected 10, found 3"):
        ref.verify()
    store.remove(ref.path)
    with pytest.raises(dj.IntegrityError, match="missing"):
        ref.verify()


def test_verify_a_folder_counts_its_files(Obj, store, tmp_path):
    root = tmp_path / "run.zarr"
    (root / "a").mkdir(parents=True)
    (root / "a" / "x.bin").write_bytes(b"xx")
    (root / "y.txt").write_bytes(b"yyy")
    Obj.insert1({"id": 2, "thing": root})
    ref = Obj.fetch1("thing")
    assert ref.verify() is True
    store.remove(ref.path.rstrip("/") + "/y.txt")
    with pytest.raises(dj.IntegrityError, match="holds 1 files, expected 2"):
        ref.verify()
