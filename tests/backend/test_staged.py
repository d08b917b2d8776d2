"""``Table.staged_insert1``: objects written in place, then one row; all or nothing."""

from __future__ import annotations

import numpy as np
import pytest

import dj_jupyter as dj
from dj_jupyter.errors import DuplicateError, MissingAttributeError, UnknownAttributeError
from dj_jupyter.objects.codecs.objects import ObjectRef

from . import test_storage as _shared

objects = _shared.objects
s3_endpoint, store = _shared.s3_endpoint, _shared.store  # the fixtures of test_storage.py


@pytest.fixture
def Rec(schema):
    @schema
    class Rec(dj.Manual):
        definition = """
        subject: varchar(16)
        session: int32
        ---
        raw = null: <object@>
        folder = null: <object@main>
        traces = null: <zarr@>
        note = "": varchar(40)
        """

    return Rec


def test_file_and_folder_written_in_place(Rec, store, schema):
    with Rec.staged_insert1 as staged:
        staged.rec["subject"] = "m1"
        staged.rec["session"] = 3
        with staged.open("raw", ".bin") as out:
            out.write(b"\x00" * 1000)
            out.write(b"tail")
        mapper = staged.store("folder", ".d")
        mapper["a.txt"] = b"first"
        mapper["sub/b.txt"] = b"second!"
        staged.rec["note"] = "staged"
    row = Rec.fetch1()
    assert row["note"] == "staged"
    raw, folder = row["raw"], row["folder"]
    assert isinstance(raw, ObjectRef) and not raw.is_dir
    assert (raw.size, raw.ext) == (1004, ".bin") and raw.read().endswith(b"tail")
    assert raw.path.startswith(f"_schema/{schema.database}/rec/subject=m1/session=3/raw_")
    assert folder.is_dir and (folder.size, folder.item_count, folder.ext) == (12, 2, ".d")
    assert folder.walk() == ["a.txt", "sub/b.txt"]
    assert folder.open("sub/b.txt").read() == b"second!"
    assert row["traces"] is None
    Rec.delete()
    assert objects(store) == set()


def test_zarr_written_in_place(Rec, store):
    xr = pytest.importorskip("xarray")
    pytest.importorskip("zarr")
    dataset = xr.Dataset({"v": (("t", "c"), np.arange(12.0).reshape(4, 3))},
                         coords={"t": [0.0, 0.5, 1.0, 1.5]}, attrs={"rate": 2})
    unnamed = xr.DataArray(np.arange(5, dtype="int16"), dims="x")
    with Rec.staged_insert1 as staged:
        staged.rec.update(subject="m1", session=1)
        dataset.to_zarr(staged.store("traces"), consolidated=False)
    with Rec.staged_insert1 as staged:
        staged.rec.update(subject="m1", session=2)
        unnamed.to_zarr(staged.store("traces"), consolidated=False)
    first = (Rec & {"session": 1}).fetch1("traces")
    xr.testing.assert_identical(first.load(), dataset)
    second = (Rec & {"session": 2}).fetch1("traces")
    assert isinstance(second, xr.DataArray)
    np.testing.assert_array_equal(second.values, unnamed.values)
    assert all(".zarr/" in p for p in objects(store))


def test_exception_in_block_leaves_no_object_and_no_row(Rec, store):
    with pytest.raises(RuntimeError, match="acquisition failed"):
        with Rec.staged_insert1 as staged:
            staged.rec.update(subject="m1", session=1)
            with staged.open("raw") as out:
                out.write(b"partial")
            staged.store("folder")["x.bin"] = b"1"
            assert len(objects(store)) == 2
            raise RuntimeError("acquisition failed")
    assert len(Rec) == 0 and objects(store) == set()


def test_failed_insert_and_rollback_remove_the_objects(Rec, store, conn):
    Rec.insert1({"subject": "m1", "session": 1})
    with pytest.raises(DuplicateError):
        with Rec.staged_insert1 as staged:
            staged.rec.update(subject="m1", session=1)
            staged.store("folder")["x.bin"] = b"1"
    assert objects(store) == set()
    with pytest.raises(RuntimeError), conn.transaction:
        with Rec.staged_insert1 as staged:
            staged.rec.update(subject="m1", session=2)
            with staged.open("raw") as out:
                out.write(b"in a transaction")
        assert len(Rec) == 2 and len(objects(store)) == 1
        raise RuntimeError("make failed after the staged insert")
    assert len(Rec) == 1 and objects(store) == set()


def test_misuse_is_refused_before_anything_is_written(Rec, store):
    with pytest.raises(MissingAttributeError, match="'session'"):
        with Rec.staged_insert1 as staged:
            staged.rec["subject"] = "m1"
            staged.store("folder")
    with pytest.raises(dj.DataJointError, match="not an <object@> or <zarr@>"):
        with Rec.staged_insert1 as staged:
            staged.rec.update(subject="m1", session=1)
            staged.open("note")
    with pytest.raises(UnknownAttributeError, match="nope"):
        with Rec.staged_insert1 as staged:
            staged.rec.update(subject="m1", session=1)
            staged.open("nope")
    with pytest.raises(dj.DataJointError, match="nothing was written"):
        with Rec.staged_insert1 as staged:
            staged.rec.update(subject="m1", session=1)
            staged.store("folder")
    with pytest.raises(dj.DataJointError, match="staged.store"):
        with Rec.staged_insert1 as staged:
            staged.rec.update(subject="m1", session=1)
            staged.open("traces")
    assert len(Rec) == 0 and objects(store) == set()
