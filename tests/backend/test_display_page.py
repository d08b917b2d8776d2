"""``page_of``: the one place displays fetch rows (paging, sorting, badges), on every backend."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import dj_jupyter as dj
from dj_jupyter.display.page import page_of
from dj_jupyter.display.preview import take_preview
from dj_jupyter.errors import DataJointError, RestrictionError
from dj_jupyter.objects import stores as storage

NAMES = ["ann", "bob", "cy", "dee", "eve", "fay", "gus", "hal", "ida", "jo", "kit"]


@pytest.fixture
def lab(schema):
    @schema
    class Subject(dj.Manual):
        definition = """
        subject_id: int32          # who
        ---
        name: varchar(16)          # first name
        weight: float64
        payload = null: <blob>     # raw recording
        meta = null: json
        """

    @schema
    class Session(dj.Manual):
        definition = """
        -> Subject
        session: int16
        ---
        rating: int32
        """

    # weights repeat (ties) so that sorting by weight needs the key to be stable
    Subject.insert([{"subject_id": i, "name": NAMES[i], "weight": float(i % 3),
                     "payload": np.arange(i), "meta": {"i": i}} for i in range(len(NAMES))])
    Session.insert([{"subject_id": i, "session": s, "rating": (i * 7 + s) % 5}
                    for i in range(len(NAMES)) for s in range(3)])
    return Subject, Session


def _ids(page) -> list[str]:
    return [row[0] for row in page.rows]


def test_pages_partition_the_result(lab):
    Subject, _ = lab
    pages = [page_of(Subject, offset=o, limit=4) for o in (0, 4, 8)]
    assert [len(p.rows) for p in pages] == [4, 4, 3]
    assert sum((_ids(p) for p in pages), []) == [str(i) for i in range(11)]
    assert {p.total for p in pages} == {11}
    assert [p.more for p in pages] == [True, True, False]


def test_heading_facts_and_badges(lab):
    Subject, _ = lab
    page = page_of(Subject, limit=2)
    assert page.names == ["subject_id", "name", "weight", "payload", "meta"]
    assert page.key == ["subject_id"]
    assert page.types["subject_id"] == "int32" and page.types["payload"] == "<blob>"
    assert page.comments["name"] == "first name" and page.comments["weight"] == ""
    assert page.badges == {"payload": "<blob>", "meta": "json"}
    assert page.rows[1] == ["1", "bob", "1.0", "<blob>", "json"]
    as_dict = page.to_dict()
    assert as_dict["rows"] == page.rows and as_dict["total"] == 11 and as_dict["offset"] == 0


@pytest.mark.parametrize("descending", [False, True])
def test_sorting_with_ties_broken_by_the_key(lab, descending):
    Subject, _ = lab
    pages = [page_of(Subject, offset=o, limit=3, order_by="weight", descending=descending)
             for o in range(0, 11, 3)]
    rows = [row for p in pages for row in p.rows]
    expected = sorted(range(11), key=lambda i: (-(i % 3) if descending else i % 3, i))
    assert [r[0] for r in rows] == [str(i) for i in expected]
    by_name = page_of(Subject, limit=3, order_by="name", descending=True)
    assert [r[1] for r in by_name.rows] == ["kit", "jo", "ida"]
    assert by_name.order_by == "name" and by_name.descending


def test_nulls_sort_first_ascending_on_every_backend(schema):
    @schema
    class Reading(dj.Manual):
        definition = """
        reading: int32
        ---
        level = null: int32
        """

    Reading.insert([{"reading": i, "level": v} for i, v in enumerate([3, None, 1, None, 2])])
    ascending = page_of(Reading, order_by="level", limit=3)
    assert _ids(ascending) == ["1", "3", "2"] and ascending.names == ["reading", "level"]
    assert _ids(page_of(Reading, order_by="level", offset=3, limit=3)) == ["4", "0"]
    descending = page_of(Reading, order_by="level", descending=True, limit=5)
    assert [r[1] for r in descending.rows] == ["3", "2", "1", "NULL", "NULL"]
    assert _ids(descending) == ["0", "4", "2", "1", "3"] and descending.total == 5


def test_descending_key_without_a_sort_column(lab):
    Subject, _ = lab
    assert _ids(page_of(Subject, limit=3, descending=True)) == ["10", "9", "8"]


def test_restricted_and_joined_queries(lab):
    Subject, Session = lab
    restricted = Subject & "weight > 0"
    page = page_of(restricted, limit=5)
    assert page.total == 7 and _ids(page) == ["1", "2", "4", "5", "7"]
    joined = (Subject * Session) & {"session": 2}
    page = page_of(joined, offset=8, limit=5, order_by="rating")
    assert page.total == 11 and len(page.rows) == 3
    assert page.key == ["subject_id", "session"]
    everything = [r for o in (0, 5, 10) for r in page_of(joined, offset=o, limit=5).rows]
    assert sorted(int(r[0]) for r in everything) == list(range(11))
    empty = page_of(Subject & {"subject_id": 99})
    assert (empty.rows, empty.total, empty.more) == ([], 0, False)


def test_offset_past_the_end_shows_the_last_page(lab):
    Subject, _ = lab
    page = page_of(Subject, offset=40, limit=4)
    assert page.offset == 8 and _ids(page) == ["8", "9", "10"]


def test_badge_columns_are_not_selected(lab, conn, monkeypatch):
    Subject, _ = lab
    statements: list[str] = []
    run = conn.run

    def recording_run(statement, *args, **kwargs):
        statements.append(str(statement))
        return run(statement, *args, **kwargs)

    monkeypatch.setattr(conn, "run", recording_run)
    page_of(Subject, offset=4, limit=4, order_by="name")
    selects = [s for s in statements if "name" in s]
    # the blob's byte length is asked for (its array cell), never the blob itself
    values = [s.replace("length(t1.payload)", "").replace("LENGTH(t1.payload)", "")
              for s in selects]
    assert selects and not any("payload" in s.replace("dj_len_payload", "") or "meta" in s
                               for s in values)
    assert any("dj_len_payload" in s for s in selects)


def test_bad_requests_are_refused(lab):
    Subject, _ = lab
    with pytest.raises(RestrictionError, match="not fetched"):
        page_of(Subject, order_by="payload")
    with pytest.raises(RestrictionError, match="no such column"):
        page_of(Subject, order_by="height")
    for bad in ({"offset": -1}, {"limit": 0}, {"limit": 2.5}):
        with pytest.raises(DataJointError):
            page_of(Subject, **bad)


def test_preview_is_the_first_page(lab):
    Subject, _ = lab
    with dj.config.override({"display.limit": 4}):
        preview = take_preview(Subject)
    assert _ids(preview) == ["0", "1", "2", "3"] and preview.total == 11 and preview.more


def test_store_columns_page_with_the_store_gone(schema, tmp_path):
    location = tmp_path / "objects"
    spec = {"protocol": "file", "location": str(location)}
    with dj.config.override({"stores": {"default": "main", "main": spec}}):
        @schema
        class Scan(dj.Manual):
            definition = """
            scan: int32
            ---
            image: <npy@>
            extra = null: <blob@>
            """

        Scan.insert([{"scan": i, "image": np.full((2, 2), i), "extra": [i]} for i in range(6)])
        shutil.rmtree(location)
        location.write_text("not a folder")  # any read of the store now fails
        with pytest.raises(Exception):  # noqa: B017 - the store really is unreadable
            storage.get_store().get_bytes("anything")
        page = page_of(Scan, offset=2, limit=3, order_by="scan", descending=True)
    assert page.rows == [[str(i), "<npy@>", "<blob@>"] for i in (3, 2, 1)]
    assert page.badges == {"image": "<npy@>", "extra": "<blob@>"} and page.total == 6
