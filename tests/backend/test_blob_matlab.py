"""``<blob>`` rows that MATLAB wrote (straight into the table, as MATLAB does), on every backend.

A 32-bit mym row fetches as the struct it holds with ``dj.blob.use_32bit_dims`` off or on; cells
and structs come back as ``dj.MatCell`` / ``dj.MatStruct``, and ``squeeze=True`` drops the
length-1 dimensions of the fetched array itself, as DataJoint does (not of what it holds)."""

from __future__ import annotations

import numpy as np
import pytest

import dj_jupyter as dj
from tests.mym32 import Struct, mym_blob


@pytest.fixture
def Trial(schema):
    @schema
    class Trial(dj.Manual):
        definition = """
        id: int32
        ---
        data: <blob>
        """

    return Trial


def _write_raw(Trial, row_id, data: bytes) -> None:
    Trial.connection.query(f"INSERT INTO {Trial.full_table_name} (id, data) VALUES (%s, %s)",
                           (row_id, data))


@pytest.mark.parametrize("switch", [False, True], ids=["switch-off", "switch-on"])
def test_a_32bit_matlab_row_fetches_as_its_struct(Trial, monkeypatch, switch):
    monkeypatch.setattr(dj.blob, "use_32bit_dims", switch)
    hits = np.array([[np.nan, 1.0, 1.0, 0.0, 1.0, 0.0, np.nan]])
    written = Struct(hits=hits, sides="llllrrl", tasks="ddddddd", stage="Stage 10")
    _write_raw(Trial, 1, mym_blob(written, 4))
    read = (Trial & {"id": 1}).fetch1("data")
    assert isinstance(read, dj.MatStruct)
    assert read.dtype.names == tuple(written)
    np.testing.assert_array_equal(read[0, 0]["hits"], hits)
    for name in ("sides", "tasks", "stage"):
        assert read[0, 0][name].tolist() == [written[name]]


def test_the_matlab_types_are_public_names():
    from dj_jupyter.objects.codecs import mym

    assert dj.MatCell is dj.blob.MatCell is mym.MatCell
    assert dj.MatStruct is dj.blob.MatStruct is mym.MatStruct


def test_squeeze_keeps_cells_and_structs_and_what_they_hold(Trial):
    _write_raw(Trial, 1, mym_blob(["string1", "string2"], 8))
    _write_raw(Trial, 2, mym_blob(Struct(a=np.array([[1.0]]), b=Struct(c=np.eye(3))), 8))
    cell = (Trial & {"id": 1}).fetch1("data", squeeze=True)
    assert isinstance(cell, dj.MatCell) and cell.shape == (2,)
    assert [item.tolist() for item in cell] == [["string1"], ["string2"]]  # held, unsqueezed
    assert (Trial & {"id": 1}).fetch1("data").shape == (1, 2)
    struct = (Trial & {"id": 2}).fetch1("data", squeeze=True)
    assert isinstance(struct, dj.MatStruct) and struct.shape == ()
    assert struct.dtype.names == ("a", "b")
    assert struct["a"].item().shape == (1, 1)
    inner = struct["b"].item()
    assert isinstance(inner, dj.MatStruct) and inner.shape == (1, 1)
    np.testing.assert_array_equal(inner[0, 0]["c"], np.eye(3))
    squeezed = Trial.to_dicts(order_by="id", squeeze=True)
    assert [type(row["data"]) for row in squeezed] == [dj.MatCell, dj.MatStruct]
