"""PNG and JPEG files in a store as table cells, on every backend and store (local folder,
moto S3): the cell names the image's size in pixels (from the file's header) with a
thumbnail drawn from the file itself; a large file is read only as far as its header; a
page shown again reads nothing (cached); the cell's value opens in the preview."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

import dj_jupyter as dj
from dj_jupyter.display import images
from dj_jupyter.display.arrays import as_source, frame_payload
from dj_jupyter.display.page import cell_value, page_of
from dj_jupyter.query.fetch import raw_rows

from . import test_storage as _shared
from .readcount import bytes_read

Image = pytest.importorskip("PIL.Image")
s3_endpoint, store = _shared.s3_endpoint, _shared.store  # the fixtures of test_storage.py


def _encoded(array: np.ndarray, kind: str, **options) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, kind, **options)
    return out.getvalue()


@pytest.fixture
def photos(schema, store):
    @schema
    class Photo(dj.Manual):
        definition = """
        photo: int32
        ---
        file: <object@>
        """

    rng = np.random.default_rng(2)
    small = (np.add.outer(np.arange(30), np.arange(40)) * 3 % 256).astype(np.uint8)
    large = rng.integers(0, 256, size=(900, 1200, 3), dtype=np.uint8)  # noise: > 1 MiB
    big_jpeg = _encoded(large, "JPEG", quality=98)
    assert len(big_jpeg) > images.THUMB_SOURCE_BYTES
    Photo.insert([{"photo": 1, "file": (".png", _encoded(small, "PNG"))},
                  {"photo": 2, "file": (".jpg", big_jpeg)}])
    images._cached_cell.cache_clear()
    return Photo, small, len(big_jpeg)


def test_image_cells_show_size_and_thumbnail_with_bounded_reads(photos, store):
    Photo, small, big_size = photos
    with bytes_read(store) as first:
        page = page_of(Photo)
    png, jpeg = page.summaries["file"]
    assert png["text"] == "image 40×30 png" and png["previewable"]
    assert png["thumb"].startswith("data:image/png;base64,")
    assert jpeg["text"] == "image 1200×900 jpeg" and jpeg["thumb"] is None  # too large
    if store.protocol != "file":  # S3 counts the store alone: the header, not the file
        assert first.bytes <= images.HEADER_BYTES + 2 * len(_encoded(small, "PNG"))
    assert first.bytes < big_size / 4
    metas = _metas(Photo)
    hits = images._cached_cell.cache_info().hits
    with bytes_read(store) as again:
        for meta in metas:
            images.image_cell(meta)
    assert images._cached_cell.cache_info().hits == hits + 2  # cached per file version
    assert again.bytes < 1024  # neither file again (locally the count sees other reads)


def test_an_image_cell_opens_in_the_preview(photos):
    Photo, small, _ = photos
    page = page_of(Photo)
    source = as_source(cell_value(Photo, page, 0, "file"))
    assert source.shape == small.shape and source.dims == ["y", "x"]
    meta, data = frame_payload(source, [0, 1], [0, 0])
    frame = np.frombuffer(data, np.float32).reshape(meta["height"], meta["width"])
    np.testing.assert_array_equal(frame, small.astype(np.float32))


def test_headers_of_png_and_jpeg_give_width_and_height():
    rgb = np.zeros((17, 23, 3), np.uint8)
    assert images.image_header(_encoded(rgb, "PNG")[:64]) == (23, 17, "png")
    assert images.image_header(_encoded(rgb, "JPEG")) == (23, 17, "jpeg")
    assert images.image_header(b"not an image") is None


def _metas(table) -> list[dict]:
    return [json.loads(v) if isinstance(v, (str, bytes)) else dict(v)
            for (v,) in raw_rows(table, ["file"])]


def test_a_filepath_image_shows_as_an_image_cell(schema, store):
    @schema
    class Scan(dj.Manual):
        definition = """
        scan: int32
        ---
        file: <filepath@>
        """

    picture = np.full((12, 20), 200, np.uint8)
    store.put_bytes("raw/scan1/picture.png", _encoded(picture, "PNG"))
    Scan.insert1({"scan": 1, "file": "raw/scan1/picture.png"})
    images._cached_cell.cache_clear()
    page = page_of(Scan)
    (cell,) = page.summaries["file"]
    assert cell["text"] == "image 20×12 png" and cell["thumb"] and cell["previewable"]
    source = as_source(cell_value(Scan, page, 0, "file"))
    assert source.shape == (12, 20)


@pytest.fixture
def attachments(schema, store, tmp_path):
    @schema
    class Scan(dj.Manual):
        definition = """
        scan: int32
        ---
        file: <attach@>
        """

    rng = np.random.default_rng(5)
    small = (np.add.outer(np.arange(18), np.arange(26)) * 5 % 256).astype(np.uint8)
    large = rng.integers(0, 256, size=(900, 1200, 3), dtype=np.uint8)  # noise: > 1 MiB
    files = {"retina.png": _encoded(small, "PNG"), "field.jpg": _encoded(large, "JPEG",
                                                                        quality=98),
             "notes.txt": b"not a picture\n" * 1000}
    assert len(files["field.jpg"]) > images.THUMB_SOURCE_BYTES
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    Scan.insert([{"scan": i, "file": str(tmp_path / name)} for i, name in enumerate(files)])
    images._cached_attachment.cache_clear()
    return Scan, small, files


def test_attach_images_show_size_and_thumbnail_with_bounded_reads(attachments, store):
    Scan, small, files = attachments
    with bytes_read(store) as first:
        page = page_of(Scan)
    png, jpeg, text = page.summaries["file"]
    assert png["kind"] == "attach" and png["text"] == "image 26×18 png" and png["previewable"]
    assert png["thumb"].startswith("data:image/png;base64,") and png["name"] == "retina.png"
    assert jpeg["text"] == "image 1200×900 jpeg" and jpeg["thumb"] is None  # too large
    assert text["text"] == "file .txt" and not text["previewable"] and text["thumb"] is None
    if store.protocol != "file":  # S3 counts the store alone: names, headers, the small PNG
        assert first.bytes <= images.HEADER_BYTES + 3 * images.NAME_BYTES + \
            2 * len(files["retina.png"])
    assert first.bytes < len(files["field.jpg"]) / 4
    hits = images._cached_attachment.cache_info().hits
    page_of(Scan)
    assert images._cached_attachment.cache_info().hits == hits + 3  # by content: cached


def test_an_attach_image_opens_in_the_preview(attachments):
    Scan, small, _ = attachments
    page = page_of(Scan)
    raw = cell_value(Scan, page, 0, "file", raw=True)
    name, array = images.attachment_image(_meta_of(raw))
    assert name == "retina.png"
    np.testing.assert_array_equal(array, small)
    source = as_source(array)
    meta, data = frame_payload(source, [0, 1], [0, 0])
    frame = np.frombuffer(data, np.float32).reshape(meta["height"], meta["width"])
    np.testing.assert_array_equal(frame, small.astype(np.float32))


def _meta_of(value) -> dict:
    return json.loads(value) if isinstance(value, (str, bytes)) else dict(value)
