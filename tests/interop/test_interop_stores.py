"""Objects in stores, both ways: DataJoint 2.3.5 and dj_jupyter share one folder store.

One table, declared by one library; each library inserts the same values into its own row.
Then both rows are compared as stored (the JSON metadata in the row, the objects in the store:
the same keys, the same content-addressed paths — one object for both rows — and schema-addressed
paths that differ only in the key and the random token), and each library reads the other's
row back equal.

DataJoint 2.3.5 cannot insert ``<blob@store>`` or ``<attach@store>`` on MariaDB (its insert
passes the stored JSON to the driver as a dict: "dict can not be used as parameter") and cannot
resolve the default store of ``<codec@>`` ("Storage '' is requested but not configured"), so
DataJoint writes those only where it can; it reads them everywhere.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest

import dj_jupyter as dj
from tests import servers

pytestmark = pytest.mark.slow

ATTACHED = b"attached\x00bytes\xff"
HASHED = b"raw hash-addressed bytes"
OBJECT = b"an object of the row"
ARRAY = np.arange(12, dtype=np.float32).reshape(3, 4)
FILEPATH = "incoming/recording.bin"
FILE_CONTENT = b"a file placed in the store by hand"

# attribute -> type, as both libraries write it (the store named explicitly: see above)
COLUMNS = {"h": "<hash@main>", "a": "<attach@main>", "n": "<npy@main>", "o": "<object@main>",
           "f": "<filepath@main>", "b": "<blob@main>"}
DATAJOINT_CANNOT_WRITE = {"mysql": {"a", "b"}, "postgresql": set()}


@pytest.fixture
def store(tmp_path: Path):
    folder = tmp_path / "store"
    (folder / "incoming").mkdir(parents=True)
    (folder / FILEPATH).write_bytes(FILE_CONTENT)
    spec = {"default": "main", "filepath_default": "main",
            "main": {"protocol": "file", "location": str(folder)}}
    with dj.config.override(stores=spec, download_path=str(tmp_path / "ours")):
        yield folder


def _attachment(tmp_path: Path) -> Path:
    path = tmp_path / "attach" / "notes.dat"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(ATTACHED)
    return path


def _values(columns: set[str], attachment: Path) -> dict:
    every = {"h": HASHED, "a": str(attachment), "n": ARRAY, "o": OBJECT, "f": FILEPATH,
             "b": ARRAY}
    return {name: every[name] for name in columns}


# DataJoint's side: insert a row, read rows back as JSON-able values
_DATAJOINT_SETUP = """
import base64, json
from pathlib import Path
import numpy as np
dj.config.stores = {"default": "main", "filepath_default": "main",
                    "main": {"protocol": "file", "location": ARGS["store"]}}
dj.config["download_path"] = ARGS["download"]
schema = dj.Schema(ARGS["schema"])

def readable(name, value):
    if value is None:
        return None
    if name == "h":
        return base64.b64encode(value).decode()
    if name == "a":
        return base64.b64encode(Path(value).read_bytes()).decode()
    if name in ("n", "b"):
        array = np.asarray(value)
        return {"dtype": str(array.dtype), "shape": list(array.shape), "data": array.tolist()}
    return base64.b64encode(value.read()).decode()
"""


def _declare_and_insert_in_datajoint(datajoint, store: Path, schema_name: str, columns: dict,
                                     writes: set[str], attachment: Path, row: int) -> None:
    definition = "id: int32\n---\n" + "".join(f"{n}=null: {t}\n" for n, t in columns.items())
    datajoint.run(_DATAJOINT_SETUP + """
@schema
class ImagingSession(dj.Manual):
    definition = ARGS["definition"]

values = {"h": base64.b64decode(ARGS["hashed"]), "a": ARGS["attachment"],
          "n": np.asarray(ARGS["array"], dtype="float32"), "o": base64.b64decode(ARGS["object"]),
          "f": ARGS["filepath"], "b": np.asarray(ARGS["array"], dtype="float32")}
if ARGS["row"] is not None:
    ImagingSession.insert1(dict(id=ARGS["row"], **{n: values[n] for n in ARGS["writes"]}))
""", store=str(store), download=str(store.parent / "theirs"), schema=schema_name,
        definition=definition, hashed=base64.b64encode(HASHED).decode(),
        attachment=str(attachment), array=ARRAY.tolist(),
        object=base64.b64encode(OBJECT).decode(), filepath=FILEPATH, row=row,
        writes=sorted(writes))


def _read_in_datajoint(datajoint, store: Path, schema_name: str, row: int,
                       names: list[str]) -> dict:
    return datajoint.run(_DATAJOINT_SETUP + """
module = dj.VirtualModule("m", ARGS["schema"])
found = (module.ImagingSession & {"id": ARGS["row"]}).fetch1()
result = {name: readable(name, found[name]) for name in ARGS["names"]}
""", store=str(store), download=str(store.parent / "theirs"), schema=schema_name, row=row,
        names=names)


def _stored_json(server, table, row: int, names: list[str]) -> dict:
    """The JSON in the row as stored, read with the bare driver (no codec in between)."""
    raw = servers.connect(server)
    try:
        cursor = raw.cursor()
        cursor.execute(f"SELECT {', '.join(names)} FROM {table.full_table_name} "
                       f"WHERE id = {int(row)}")
        found = cursor.fetchone()
    finally:
        raw.close()
    return {name: (json.loads(value) if isinstance(value, (str, bytes)) else value)
            for name, value in zip(names, found)}


def _assert_read(name: str, value, attachment_bytes: bytes) -> None:
    if name == "h":
        assert value == HASHED
    elif name == "a":
        assert Path(value).read_bytes() == attachment_bytes and Path(value).name == "notes.dat"
    elif name in ("n", "b"):
        array = np.asarray(value)
        assert array.dtype == ARRAY.dtype and np.array_equal(array, ARRAY)
    elif name == "o":
        assert value.read() == OBJECT
    else:
        assert value.read() == FILE_CONTENT and value.path == FILEPATH


def _assert_readable(name: str, value: dict) -> None:
    if name == "h":
        assert base64.b64decode(value) == HASHED
    elif name == "a":
        assert base64.b64decode(value) == ATTACHED
    elif name in ("n", "b"):
        assert value == {"dtype": "float32", "shape": [3, 4], "data": ARRAY.tolist()}
    elif name == "o":
        assert base64.b64decode(value) == OBJECT
    else:
        assert base64.b64decode(value) == FILE_CONTENT


def _same_metadata(name: str, theirs: dict, ours: dict) -> None:
    """Both rows describe their objects alike: the same keys and values, but for what belongs
    to the row (its key and random token in a schema-addressed path, the time it was written).
    Ours adds one key DataJoint ignores: ``<npy@>``'s data offset (where the array's bytes
    start, so that a frame is read with the header in one request)."""
    if name == "n":
        ours = dict(ours)
        assert ours.pop("data_offset") == 128  # the header np.save writes for ARRAY
    assert set(theirs) == set(ours), name
    for field in set(theirs) - {"path", "timestamp"}:
        assert theirs[field] == ours[field], (name, field)
    if name in ("h", "a", "b", "f"):  # content-addressed (or a given path): one object
        assert theirs["path"] == ours["path"], name
    else:
        pattern = re.compile(r"id=\d+/([a-z]+)_[A-Za-z0-9_-]{8}")  # the key, the token
        assert pattern.sub(r"id=_/\1_TOKEN", theirs["path"]) == \
            pattern.sub(r"id=_/\1_TOKEN", ours["path"]), name


@pytest.mark.parametrize("declared_by", ["datajoint", "dj_jupyter"])
def test_store_objects_cross_both_ways(datajoint, conn, server, schema_name, store, tmp_path,
                                       backend, declared_by):
    attachment = _attachment(tmp_path)
    theirs = set(COLUMNS) - DATAJOINT_CANNOT_WRITE[backend]
    if declared_by == "dj_jupyter":
        schema = dj.Schema(schema_name, connection=conn)
        definition = "id: int32\n---\n" + "".join(f"{n}=null: {t}\n"
                                                  for n, t in COLUMNS.items())
        schema(type("ImagingSession", (dj.Manual,), {"definition": definition}))
    _declare_and_insert_in_datajoint(datajoint, store, schema_name, COLUMNS, theirs,
                                     attachment, row=1)
    table = dj.virtual_schema(schema_name, connection=conn).ImagingSession
    table.insert1({"id": 2, **_values(set(COLUMNS), attachment)})

    # the rows as stored: alike, and content-addressed objects shared by both rows
    their_json = _stored_json(server, table, 1, sorted(theirs))
    our_json = _stored_json(server, table, 2, sorted(theirs))
    for name in sorted(theirs):
        _same_metadata(name, their_json[name], our_json[name])
    hashed = [p for p in store.rglob("*") if p.is_file() and "_hash" in p.parts]
    assert len(hashed) == len(set(COLUMNS) & {"h", "a", "b"})  # ours reused theirs

    # each reads the other's row
    ours_read = (table & {"id": 1}).fetch1()
    for name in sorted(theirs):
        _assert_read(name, ours_read[name], ATTACHED)
    if "n" in theirs:  # DataJoint's row has no data offset: a slice reads the header first
        np.testing.assert_array_equal((table & {"id": 1}).fetch1("n")[1:, ::2], ARRAY[1:, ::2])
        np.testing.assert_array_equal((table & {"id": 2}).fetch1("n")[1:, ::2], ARRAY[1:, ::2])
    their_read = _read_in_datajoint(datajoint, store, schema_name, 2, sorted(COLUMNS))
    for name in sorted(COLUMNS):
        _assert_readable(name, their_read[name])


def test_default_store_spelling_reads_in_datajoint(datajoint, conn, schema_name, store,
                                                    tmp_path):
    """``<codec@>`` (the default store) as dj_jupyter declares it: the row names the store,
    so DataJoint reads it although it cannot resolve ``@`` alone itself."""
    schema = dj.Schema(schema_name, connection=conn)
    definition = "id: int32\n---\n" + "".join(
        f"{n}=null: {t.replace('@main', '@')}\n" for n, t in COLUMNS.items() if n != "f")
    table = schema(type("ImagingSession", (dj.Manual,), {"definition": definition}))
    attachment = _attachment(tmp_path)
    table.insert1({"id": 2, **_values(set(COLUMNS) - {"f"}, attachment)})
    names = sorted(set(COLUMNS) - {"f"})
    read = _read_in_datajoint(datajoint, store, schema_name, 2, names)
    for name in names:
        _assert_readable(name, read[name])
