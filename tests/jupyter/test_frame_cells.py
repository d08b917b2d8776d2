"""``to_pandas()`` frames in a notebook: array cells show as the table displays' badges
(shape, dtype, size, a sparkline for a small 1-D array), never numpy's truncated text; the
frame's data stay what was fetched, and any other DataFrame keeps pandas' own HTML."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dj_jupyter.query.fetch import CODECS_ATTR

pytest.importorskip("IPython")

TABLE = """%%dj_table Trace
trace_id: int32
---
label: varchar(16)
signal = null: <blob>
"""


@pytest.fixture
def frame(ip):
    ip.run_cell_magic("dj_table", TABLE.split("\n", 1)[0].split(" ", 1)[1],
                      TABLE.split("\n", 1)[1])
    trace = ip.user_ns["Trace"]
    trace.insert([{"trace_id": 1, "label": "<b>x</b>", "signal": np.arange(10.0)},
                  {"trace_id": 2, "label": "big", "signal": np.zeros((300, 400), np.float32)},
                  {"trace_id": 3, "label": "none", "signal": None}])
    return trace.to_pandas()


def _html(ip, value) -> str:
    data, _ = ip.display_formatter.format(value)
    return data["text/html"]


def test_array_cells_of_a_to_pandas_frame_show_as_badges(ip, frame):
    shown = _html(ip, frame)
    assert shown.count('class="dj-array-cell"') == 2
    assert "300×400 float32" in shown and "10 float64" in shown
    assert "468.8 KiB" in shown or "469" in shown  # the size of the 300×400 array
    assert "dj-spark" in shown or "<svg" in shown  # a sparkline for the small 1-D array
    assert "array(" not in shown and "[0. 1. 2." not in shown and "0.0, 1.0" not in shown
    assert "&lt;b&gt;x&lt;/b&gt;" in shown  # other text stays escaped
    assert "NULL" in shown or "None" in shown


def test_the_frame_code_gets_is_unchanged(ip, frame):
    _html(ip, frame)
    assert frame.attrs[CODECS_ATTR] == {"signal": "blob"}
    np.testing.assert_array_equal(frame.loc[1, "signal"], np.arange(10.0))
    assert frame.loc[2, "signal"].shape == (300, 400) and frame.loc[3, "signal"] is None
    assert list(frame.columns) == ["label", "signal"]


def test_other_frames_keep_pandas_html(ip):
    plain = pd.DataFrame({"a": [1, 2], "b": [np.arange(3), np.arange(4)]})
    assert _html(ip, plain) == plain._repr_html_()
