"""Keyset paging of table displays (``display/seek.py``), on every backend: whatever path a
reader takes through the pages (next, previous, last, a jump to any page), each page is
exactly the rows at its place in the result's order, with composite and string keys, in
either direction, under restrictions; the pages of a walk are disjoint and cover the result."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dj_jupyter as dj
from dj_jupyter.display.page import Page, cell_value, page_of
from dj_jupyter.display.seek import keyset_order

PROBES = ["ab", "b", "ba", "c", "zz"]  # string keys whose order is the same in every collation


@pytest.fixture
def reading(schema):
    @schema
    class Reading(dj.Manual):
        definition = """
        probe: varchar(8)
        t: int32
        ---
        value: float64
        """

    Reading.insert([{"probe": p, "t": t, "value": float((t * 7 + i) % 5)}
                    for i, p in enumerate(PROBES) for t in range(9)])
    return Reading


def _expected(query, page: Page) -> list[tuple[str, str]]:
    """The rows at the page's place, read with a plain ORDER BY over the whole result."""
    everything = query.to_dicts(order_by=_order(page.order_by, page.descending))
    return [(r["probe"], str(r["t"])) for r in everything[page.offset:page.offset + page.limit]]


def _shown(page: Page) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in page.rows]


MOVES = st.lists(st.one_of(st.sampled_from(["next", "previous", "last", "first"]),
                           st.integers(0, 12)), max_size=8)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(1, 7), threshold=st.integers(0, 8), descending=st.booleans(),
       order_by=st.sampled_from([None, "probe", "t", "value"]), moves=MOVES)
def test_every_page_of_any_walk_is_exactly_its_rows(reading, limit, threshold, descending,
                                                    order_by, moves):
    query = reading & f"t >= {threshold}"
    page = page_of(query, limit=limit, order_by=order_by, descending=descending)
    assert _shown(page) == _expected(query, page)
    total = page.total
    assert total == len(PROBES) * (9 - threshold)
    for move in moves:
        last = (total - 1) // limit * limit
        if isinstance(move, int):
            offset = min(move * limit, last)
        else:
            offset = {"next": min(page.offset + limit, last), "last": last, "first": 0,
                      "previous": max(page.offset - limit, 0)}[move]
        page = page_of(query, offset=offset, limit=limit, order_by=order_by,
                       descending=descending, near=page, known_total=page.total)
        assert page.offset == offset and page.total == total
        assert _shown(page) == _expected(query, page)
        keyed = keyset_order(query.heading, _order(order_by, descending))
        assert (page.cursor is not None) == (keyed is not None)


def _order(order_by, descending) -> list[str]:
    if order_by is None:
        return ["probe DESC", "t DESC"] if descending else ["probe", "t"]
    first = f"{order_by} DESC" if descending else order_by
    return [first, *(k for k in ("probe", "t") if k != order_by)]


@pytest.mark.parametrize("descending", [False, True])
def test_a_walk_to_the_end_covers_the_result_once_in_order(reading, descending):
    query = reading & "t >= 2"
    page = page_of(query, limit=4, descending=descending)
    seen = _shown(page)
    while page.more:
        page = page_of(query, offset=page.offset + 4, limit=4, descending=descending,
                       near=page, known_total=page.total)
        assert page.cursor is not None  # paged by keyset, not OFFSET
        seen += _shown(page)
    everything = [(r["probe"], str(r["t"])) for r in query.to_dicts(order_by="KEY")]
    assert seen == (everything[::-1] if descending else everything)
    assert len(set(seen)) == len(seen) == len(query)


def test_walking_back_from_the_last_page_meets_the_first(reading):
    page = page_of(reading, limit=5)
    page = page_of(reading, offset=(page.total - 1) // 5 * 5, limit=5, near=page,
                   known_total=page.total)
    seen = _shown(page)
    while page.offset:
        page = page_of(reading, offset=page.offset - 5, limit=5, near=page,
                       known_total=page.total)
        seen = _shown(page) + seen
    assert seen == [(r["probe"], str(r["t"])) for r in reading.to_dicts(order_by="KEY")]


def test_a_cell_value_is_read_at_the_page_cursor(reading):
    page = page_of(reading, limit=4)
    page = page_of(reading, offset=8, limit=4, near=page, known_total=page.total)
    expected = reading.to_dicts(order_by="KEY")[9]
    assert cell_value(reading, page, 1, "value") == expected["value"]
    assert cell_value(reading, page, 1, "probe") == expected["probe"]
