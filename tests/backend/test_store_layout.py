"""Store layout keys (subfolding, partition_pattern, token_length, prefixes) and secret files."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest

import dj_jupyter as dj
from dj_jupyter.errors import ConfigError, DataTypeError
from dj_jupyter.objects import stores as storage
from dj_jupyter.objects.codecs.stored import content_hash

from . import test_storage as _shared

objects, s3_endpoint = _shared.objects, _shared.s3_endpoint
ACCESS_KEY, SECRET_KEY, BUCKET = _shared.ACCESS_KEY, _shared.SECRET_KEY, _shared.BUCKET


@pytest.fixture
def layout_store(tmp_path):
    """A local store with every layout key set."""
    spec = {"protocol": "file", "location": str(tmp_path / "objects"), "subfolding": [2, 3],
            "partition_pattern": "{subject}", "token_length": 30, "hash_prefix": "blobs/h",
            "schema_prefix": "rows", "filepath_prefix": "incoming"}
    with dj.config.override({"stores": {"default": "main", "main": spec}}):
        yield storage.get_store()


@pytest.fixture
def Sess(schema):
    @schema
    class Sess(dj.Manual):
        definition = """
        subject: varchar(8)
        session: int32
        ---
        arr = null: <npy@>
        blob = null: <blob@>
        file = null: <filepath@>
        """

    return Sess


def test_paths_follow_the_layout_keys(Sess, layout_store, schema):
    layout_store.put_bytes("incoming/s1.bin", b"raw")
    layout_store.put_bytes("elsewhere/s1.bin", b"raw")
    Sess.insert1({"subject": "m7", "session": 2, "arr": np.arange(3), "blob": [1, 2],
                  "file": "incoming/s1.bin"})
    row = Sess.fetch1()
    np.testing.assert_array_equal(row["arr"].load(), np.arange(3))
    assert row["blob"] == [1, 2] and row["file"].read() == b"raw"
    npy = row["arr"].path
    prefix = f"rows/subject=m7/{schema.database}/sess/session=2/arr_"
    assert npy.startswith(prefix) and npy.endswith(".npy")
    assert len(npy[len(prefix):-len(".npy")]) == 16  # token_length 30 is clamped to 16
    hashed = [p for p in objects(layout_store) if p.startswith("blobs/h/")]
    assert len(hashed) == 1
    digest = hashed[0].rsplit("/", 1)[1]
    assert len(digest) == 26 and hashed[0] == (
        f"blobs/h/{schema.database}/{digest[:2]}/{digest[2:5]}/{digest}")
    with pytest.raises(DataTypeError, match="filepath_prefix"):
        Sess.insert1({"subject": "m7", "session": 3, "file": "elsewhere/s1.bin"})
    for managed in ("rows/x.bin", "blobs/h/y"):
        layout_store.put_bytes(managed, b"no")
        with pytest.raises(DataTypeError, match="manages"):
            Sess.insert1({"subject": "m7", "session": 3, "file": managed})


def test_gc_understands_subfolding_and_partitions(Sess, layout_store, schema):
    Sess.insert([{"subject": s, "session": 1, "arr": np.ones(2), "blob": s}
                 for s in ("a", "b")])
    kept = objects(layout_store)
    database = schema.database
    orphans = {f"blobs/h/{database}/ab/cde/{content_hash(b'x')}",
               f"rows/subject=a/{database}/sess/session=9/arr_orphan.npy",
               f"rows/{database}/sess/session=9/arr_orphan.npy"}
    foreign = {"rows/subject=a/another_schema/sess/session=1/arr_x.npy",
               "blobs/h/another_schema/zz/zzz/zzzz"}
    for path in orphans | foreign:
        layout_store.put_bytes(path, b"x")
    report = schema.gc(dry_run=False, grace_seconds=0)
    assert {p for _, p in report["removed"]} == orphans
    assert objects(layout_store) == kept | foreign
    (Sess & {"subject": "a"}).delete()
    assert not any("subject=a" in p and database in p for p in objects(layout_store))
    assert (Sess & {"subject": "b"}).fetch1("blob") == "b"


def test_bad_layout_keys_are_refused_with_the_fix(tmp_path):
    base = {"protocol": "file", "location": str(tmp_path)}
    cases = [({"subfoldng": [2]}, "known keys: .*subfolding"),
             ({"subfolding": "2,2"}, "subfolding must be a list"),
             ({"subfolding": [2, 0]}, "subfolding must be a list"),
             ({"token_length": "long"}, "token_length must be an integer"),
             ({"partition_pattern": "subject-id"}, "partition_pattern names attributes"),
             ({"hash_prefix": "../up"}, "hash_prefix must be a relative folder"),
             ({"schema_prefix": "data", "hash_prefix": "data/hash"}, "overlap"),
             ({"filepath_prefix": "_schema/raw"}, "overlap"),
             ({"hash_prefix": "same", "schema_prefix": "same"}, "overlap")]
    for extra, message in cases:
        with pytest.raises(ConfigError, match=message):
            dj.config["stores"] = {"main": {**base, **extra}}
    with dj.config.override({"stores": {"main": {**base, "token_length": 2}}}):
        assert storage.get_store("main").layout.token_length == 4  # clamped, not refused


def test_store_secrets_from_files_are_used_and_never_shown(tmp_path, monkeypatch, s3_endpoint,
                                                           schema):
    (tmp_path / "datajoint.json").write_text(json.dumps({"safemode": False}))
    secrets = tmp_path / ".secrets"
    secrets.mkdir()
    (secrets / "stores.lab.access_key").write_text(ACCESS_KEY + "\n")
    (secrets / "stores.lab.secret_key").write_text(SECRET_KEY)
    (secrets / "stores.other.secret_key").write_text("not for lab")
    monkeypatch.setattr(dj.config, "source", tmp_path / "datajoint.json")
    spec = {"protocol": "s3", "endpoint": s3_endpoint, "bucket": BUCKET,
            "location": f"secret-{uuid.uuid4().hex[:8]}"}
    with dj.config.override({"stores": {"default": "lab", "lab": spec}}):
        @schema
        class Secretive(dj.Manual):
            definition = """
            id: int32
            ---
            arr: <npy@>
            """

        Secretive.insert1({"id": 1, "arr": np.arange(4)})  # authenticated by the files
        np.testing.assert_array_equal(Secretive.fetch1("arr").load(), np.arange(4))
        store = storage.get_store("lab")
        shown = [repr(dj.config), str(dj.config["stores"]), repr(store), str(store.layout),
                 repr(Secretive.fetch1("arr"))]
        assert not any(SECRET_KEY in text or ACCESS_KEY in text for text in shown)
        dj.config.save(tmp_path / "saved.json")
        assert SECRET_KEY not in (tmp_path / "saved.json").read_text()
        with pytest.raises(ConfigError) as error:
            storage.get_store("nope")
        assert SECRET_KEY not in str(error.value) and ACCESS_KEY not in str(error.value)
    monkeypatch.setattr(dj.config, "source", None)
    with dj.config.override({"stores": {"default": "lab", "lab": spec}}):
        assert "secret_key" not in storage.get_store("lab")._spec  # no file: no secret
