"""A ``<blob>`` row that MATLAB's 32-bit mym wrote (straight into the table, as MATLAB does)
fetches as the struct it holds, on every backend, with ``dj.blob.use_32bit_dims`` off or on."""

from __future__ import annotations

import numpy as np
import pytest

import dj_jupyter as dj
from dj_jupyter.objects.codecs.mym import MatStruct
from tests.mym32 import Struct, mym_blob


@pytest.mark.parametrize("switch", [False, True], ids=["switch-off", "switch-on"])
def test_a_32bit_matlab_row_fetches_as_its_struct(schema, monkeypatch, switch):
    @schema
    class Trial(dj.Manual):
        definition = """
        id: int32
        ---
        data: <blob>
        """

    monkeypatch.setattr(dj.blob, "use_32bit_dims", switch)
    hits = np.array([[np.nan, 1.0, 1.0, 0.0, 1.0, 0.0, np.nan]])
    written = Struct(hits=hits, sides="llllrrl", tasks="ddddddd", stage="Stage 10")
    schema.connection.query(f"INSERT INTO {Trial.full_table_name} (id, data) VALUES (%s, %s)",
                            (1, mym_blob(written, 4)))
    read = (Trial & {"id": 1}).fetch1("data")
    assert isinstance(read, MatStruct)
    assert read.dtype.names == tuple(written)
    np.testing.assert_array_equal(read[0, 0]["hits"], hits)
    for name in ("sides", "tasks", "stage"):
        assert read[0, 0][name].tolist() == [written[name]]
