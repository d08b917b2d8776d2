"""``<blob>`` between DataJoint 2.3.5 and dj_jupyter: the same bytes, and each reads the other.

Every value kind of ``blob_values.catalog`` is packed by both libraries (bytes compared), read
by each from the other's bytes, and stored in ``<blob>`` and ``<blob@>`` columns on MariaDB and
PostgreSQL by one library and fetched by the other.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import dj_jupyter as dj
from dj_jupyter.objects.codecs import blob, mympack
from dj_jupyter.objects.codecs.mym import MatCell, MatStruct

from .blob_values import catalog, difference

CATALOG = catalog(MatCell, MatStruct)

PACK_EVERY_VALUE = """
    import blob_values
    from datajoint import blob
    result = {}
    for name, (value, expected) in blob_values.catalog(blob.MatCell, blob.MatStruct).items():
        result[name] = {"packed": blob.pack(value).hex(),
                        "plain": blob.pack(value, compress=False).hex()}
"""

UNPACK_OURS = """
    import blob_values
    from datajoint import blob
    entries = blob_values.catalog(blob.MatCell, blob.MatStruct)
    result = {}
    for name, data in ARGS["blobs"].items():
        try:
            result[name] = blob_values.difference(blob.unpack(bytes.fromhex(data)),
                                                  entries[name][1])
        except Exception as exc:
            result[name] = f"DataJoint failed: {type(exc).__name__}: {exc}"
"""

DECLARE = """
    import blob_values
    from datajoint import blob
    use_store(ARGS["store"])
    schema = dj.Schema(ARGS["schema"])

    @schema
    class Values(dj.Manual):
        definition = '''
        id: int32
        ---
        name: varchar(64)          # the catalogue's name (MariaDB keys ignore case)
        inline = null: <blob>
        stored = null: <blob@main>
        '''

    entries = blob_values.catalog(blob.MatCell, blob.MatStruct)
"""

DATAJOINT_WRITES = DECLARE + """
    Values.insert([{"id": i, "name": name, **{column: value for column in ARGS["columns"]}}
                   for i, (name, (value, expected)) in enumerate(entries.items())])
    result = len(Values())
"""

DATAJOINT_READS = DECLARE + """
    result = {}
    for row in Values.to_dicts():
        expected = entries[row["name"]][1]
        for column in ("inline", "stored"):
            result[f"{row['name']} ({column})"] = blob_values.difference(row[column], expected)
"""


@pytest.fixture(scope="module")
def packed_by_datajoint(datajoint_offline) -> dict[str, dict[str, str]]:
    """Per catalogue name: DataJoint's ``pack`` of the value, compressed and plain (hex)."""
    return datajoint_offline.run(PACK_EVERY_VALUE)


def _mismatches(found: dict[str, str | None]) -> dict[str, str]:
    return {name: problem for name, problem in found.items() if problem}


def test_the_bytes_are_datajoints(packed_by_datajoint):
    theirs = packed_by_datajoint
    assert set(theirs) == set(CATALOG)
    differ = {}
    for name, (value, _) in CATALOG.items():
        packed, plain = bytes.fromhex(theirs[name]["packed"]), bytes.fromhex(theirs[name]["plain"])
        if mympack.pack(value, compress=False) != plain:
            differ[name] = "uncompressed bytes differ"
        ours = blob.encode(value)
        # the one deliberate difference: a blob that zlib shrinks by less than 10 % is kept
        # uncompressed (DataJoint compresses it anyway)
        if ours != packed and not (ours == plain and len(packed) > 0.9 * len(plain)):
            differ[name] = f"{ours[:12]!r}... instead of {packed[:12]!r}..."
    assert not differ
    compressed = [name for name in CATALOG if theirs[name]["packed"].startswith(b"ZL123".hex())]
    assert len(compressed) >= 3  # compression is compared too, not only plain blobs


def test_dj_jupyter_reads_what_datajoint_packs(packed_by_datajoint):
    theirs = packed_by_datajoint
    found = {}
    for name, (_, expected) in CATALOG.items():
        for form in ("packed", "plain"):
            found[f"{name} ({form})"] = difference(
                blob.decode(bytes.fromhex(theirs[name][form])), expected)
    assert not _mismatches(found)


def test_datajoint_reads_what_dj_jupyter_encodes(datajoint_offline):
    ours = {name: blob.encode(value).hex() for name, (value, _) in CATALOG.items()}
    found = datajoint_offline.run(UNPACK_OURS, blobs=ours)
    assert set(found) == set(CATALOG)
    assert not _mismatches(found)


@pytest.fixture
def store(tmp_path: Path):
    location = tmp_path / "store"
    location.mkdir()
    spec = {"protocol": "file", "location": str(location)}
    with dj.config.override({"stores": {"default": "main", "main": spec}}):
        yield location


def _declare(schema: dj.Schema) -> type:
    @schema
    class Values(dj.Manual):
        definition = """
        id: int32
        ---
        name: varchar(64)          # the catalogue's name (MariaDB keys ignore case)
        inline = null: <blob>
        stored = null: <blob@main>
        """

    return Values


def test_datajoint_writes_every_kind_dj_jupyter_fetches_it(datajoint, conn, schema_name, store,
                                                           backend):
    # DataJoint 2.3.5 cannot insert a <blob@> on MariaDB: it hands PyMySQL the object's
    # metadata as a dict, which PyMySQL (>= 1.1.1) refuses ("dict can not be used as parameter")
    columns = ["inline", "stored"] if backend == "postgresql" else ["inline"]
    written = datajoint.run(DATAJOINT_WRITES, schema=schema_name, store=str(store),
                            columns=columns)
    assert written == len(CATALOG)
    values = dj.virtual_schema(schema_name, connection=conn).Values
    found = {}
    for row in values.to_dicts():
        expected = CATALOG[row["name"]][1]
        for column in columns:
            found[f"{row['name']} ({column})"] = difference(row[column], expected)
    assert len(found) == len(columns) * len(CATALOG)
    assert not _mismatches(found)


def test_dj_jupyter_writes_every_kind_datajoint_fetches_it(datajoint, conn, schema_name, store):
    values = _declare(dj.Schema(schema_name, connection=conn))
    values.insert([{"id": i, "name": name, "inline": value, "stored": value}
                   for i, (name, (value, _)) in enumerate(CATALOG.items())])
    found = datajoint.run(DATAJOINT_READS, schema=schema_name, store=str(store))
    assert len(found) == 2 * len(CATALOG)
    assert not _mismatches(found)
