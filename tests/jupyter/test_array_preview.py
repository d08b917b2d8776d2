"""The array preview widget and array cells of the table widget, Python side: state, the
frame and statistics commands (binary buffers), the static fallback, the formatters."""

from __future__ import annotations

import base64

import numpy as np
import pytest

import dj_jupyter as dj

pytest.importorskip("anywidget")
pytest.importorskip("IPython")

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

from dj_jupyter.jupyter.formatters import WIDGET_MIME  # noqa: E402
from dj_jupyter.jupyter.preview import ArrayPreview  # noqa: E402
from dj_jupyter.jupyter.table_widget import TableWidget  # noqa: E402
from tests.unit.test_array_display import read_png  # noqa: E402


def command(widget, monkeypatch, name: str, msg: dict) -> tuple[dict, list]:
    """Send an anywidget command as the browser does; the answer and its buffers."""
    sent: list = []
    monkeypatch.setattr(widget.comm, "send",
                        lambda data=None, buffers=None, **kw: sent.append((data, buffers)))
    widget._handle_custom_msg({"kind": "anywidget-command", "id": "c1", "name": name,
                               "msg": msg}, [])
    replies = [(d["content"], b) for d, b in sent if d and d.get("method") == "custom"]
    assert len(replies) == 1 and replies[0][0]["id"] == "c1"
    return replies[0][0]["response"], replies[0][1] or []


def test_state_frames_and_stats_through_commands(monkeypatch):
    stack = np.random.default_rng(3).random((4, 30, 50)).astype(np.float32)
    widget = dj.preview(stack)
    assert isinstance(widget, ArrayPreview)
    state = widget.get_state()
    assert state["meta"]["shape"] == [4, 30, 50] and state["meta"]["dtype"] == "float32"
    assert state["axes"] == [1, 2] and state["at"] == [0, 0, 0] and len(state["lut"]) == 768
    assert "4 × 30 × 50 float32" in state["title"]
    answer, buffers = command(widget, monkeypatch, "_frame", {"axes": [0, 2], "at": [0, 7, 0]})
    got = np.frombuffer(bytes(buffers[0]), np.float32).reshape(answer["height"],
                                                               answer["width"])
    np.testing.assert_array_equal(got, stack[:, 7, :])
    answer, _ = command(widget, monkeypatch, "_frame", {"axes": [1, 2], "at": [9, 0, 0]})
    assert "outside axis 0" in answer["error"]
    report, _ = command(widget, monkeypatch, "_stats_step", {})
    assert report["done"] and report["count"] == stack.size
    assert report["max"] == float(stack.max())


def test_mime_bundle_has_the_widget_a_png_and_text():
    data, _ = dj.preview(np.outer(np.arange(20.0), np.ones(30)))._repr_mimebundle_()
    assert WIDGET_MIME in data and data["text/plain"].startswith("ndarray 20 × 30 float64")
    image = read_png(base64.b64decode(data["image/png"]))
    assert image.shape[:2] == (80, 120) and (image[0] != image[-1]).any()  # a gradient


def test_preview_refuses_what_is_not_an_array():
    with pytest.raises(dj.DataJointError, match="cannot preview a dict"):
        dj.preview({"a": 1})


@pytest.fixture
def shell():
    ip = InteractiveShell.instance()
    ip.run_line_magic("unload_ext", "dj_jupyter")
    yield ip
    ip.run_line_magic("unload_ext", "dj_jupyter")


def test_formatters_show_arrays_as_previews(shell):
    shell.run_line_magic("load_ext", "dj_jupyter")
    data, _ = shell.display_formatter.format(np.arange(100.0))
    assert WIDGET_MIME in data and "image/png" in data
    data, _ = shell.display_formatter.format(np.arange(3))
    assert WIDGET_MIME not in data  # small arrays keep numpy's text
    xr = pytest.importorskip("xarray")
    data, _ = shell.display_formatter.format(xr.DataArray(np.zeros((5, 6)), dims=("y", "x")))
    assert WIDGET_MIME in data
    shell.run_line_magic("unload_ext", "dj_jupyter")
    data, _ = shell.display_formatter.format(np.arange(100.0))
    assert WIDGET_MIME not in data


@pytest.fixture
def scans(tmp_path):
    connection = dj.Connection(f"sqlite:///{tmp_path / 'lab.db'}")
    spec = {"protocol": "file", "location": str(tmp_path / "objects")}
    with dj.config.override({"stores": {"default": "main", "main": spec}}):
        schema = dj.Schema("scans", connection=connection)

        @schema
        class Scan(dj.Manual):
            definition = """
            scan: int32
            ---
            image = null: <npy@>
            """

        images = [np.full((40, 60), float(i)) + np.arange(60) for i in range(3)]
        Scan.insert([{"scan": i, "image": images[i]} for i in range(3)] + [{"scan": 3}])
        yield Scan, images
    connection.close()


def test_table_cell_opens_a_preview(scans, monkeypatch):
    Scan, images = scans
    widget = TableWidget(Scan())
    page = widget.get_state()["page"]
    assert [s["text"] if s else None for s in page["summaries"]["image"]] == \
        ["40×60 float64"] * 3 + [None]
    assert "mountPreview" in widget.preview_esm
    opening, _ = command(widget, monkeypatch, "_cell_open", {"row": 2, "column": "image"})
    assert opening["meta"]["shape"] == [40, 60] and opening["title"] == "image, row 3"
    answer, buffers = command(widget, monkeypatch, "_cell_frame", {"axes": [0, 1],
                                                                  "at": [0, 0]})
    got = np.frombuffer(bytes(buffers[0]), np.float32).reshape(40, 60)
    np.testing.assert_array_equal(got, images[2])
    answer, _ = command(widget, monkeypatch, "_cell_open", {"row": 3, "column": "image"})
    assert "NULL" in answer["error"]
    answer, _ = command(widget, monkeypatch, "_cell_open", {"row": 0, "column": "scan"})
    assert "no arrays" in answer["error"]


def test_an_attach_image_cell_opens_a_preview(tmp_path, monkeypatch):
    Image = pytest.importorskip("PIL.Image")
    picture = (np.add.outer(np.arange(20), np.arange(30)) * 4 % 256).astype(np.uint8)
    Image.fromarray(picture).save(tmp_path / "retina.png")
    (tmp_path / "notes.txt").write_text("not a picture")
    connection = dj.Connection(f"sqlite:///{tmp_path / 'lab.db'}")
    spec = {"protocol": "file", "location": str(tmp_path / "objects")}
    try:
        with dj.config.override({"stores": {"default": "main", "main": spec}}):
            schema = dj.Schema("attached", connection=connection)

            @schema
            class Scan(dj.Manual):
                definition = """
                scan: int32
                ---
                file: <attach@>
                """

            Scan.insert([{"scan": 0, "file": str(tmp_path / "retina.png")},
                         {"scan": 1, "file": str(tmp_path / "notes.txt")}])
            widget = TableWidget(Scan())
            image, text = widget.get_state()["page"]["summaries"]["file"]
            assert image["text"] == "image 30×20 png" and image["thumb"] and image["previewable"]
            assert text["text"] == "file .txt" and not text["previewable"]
            opening, _ = command(widget, monkeypatch, "_cell_open", {"row": 0, "column": "file"})
            assert opening["meta"]["shape"] == [20, 30]
            assert opening["title"] == "retina.png (file, row 1)"
            _, buffers = command(widget, monkeypatch, "_cell_frame", {"axes": [0, 1],
                                                                      "at": [0, 0]})
            got = np.frombuffer(bytes(buffers[0]), np.float32).reshape(20, 30)
            np.testing.assert_array_equal(got, picture.astype(np.float32))
    finally:
        connection.close()
