"""Position anchors and the background count of table displays (``display/seek.py``,
``display/pager.py``), on every backend: whatever sequence of jumps, next, previous, first and
last a reader makes, with rows inserted and deleted between the moves, each page is exactly
``ORDER BY ... LIMIT/OFFSET`` of the query as it is then; anchors are the rows at their
positions; the first page never waits for the row count."""

from __future__ import annotations

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dj_jupyter as dj
from dj_jupyter.display import page as page_module
from dj_jupyter.display.page import display_order, page_of
from dj_jupyter.display.pager import Pager
from dj_jupyter.display.seek import build_anchors, keyset_order

GROUPS = ["ab", "b", "ba", "c", "zz"]  # string keys whose order is the same in every collation


@pytest.fixture
def sample(schema):
    @schema
    class Sample(dj.Manual):
        definition = """
        grp: varchar(8)
        n: int32
        ---
        value: float64
        """

    Sample.insert([{"grp": g, "n": n, "value": float((n * 7 + i) % 5)}
                   for i, g in enumerate(GROUPS) for n in range(0, 16, 2)])
    return Sample


def _order(order_by, descending) -> list[str]:
    if order_by is None:
        return ["grp DESC", "n DESC"] if descending else ["grp", "n"]
    first = f"{order_by} DESC" if descending else order_by
    return [first, *(k for k in ("grp", "n") if k != order_by)]


def _expected(query, page) -> list[tuple[str, str]]:
    """The page's rows by a plain ORDER BY ... LIMIT/OFFSET on the query as it is now."""
    got = query.to_dicts(order_by=_order(page.order_by, page.descending), limit=page.limit,
                         offset=page.offset or None)
    return [(r["grp"], str(r["n"])) for r in got]


def _shown(page) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in page.rows]


MOVE = st.one_of(
    st.tuples(st.just("jump"), st.integers(0, 30)),
    st.tuples(st.sampled_from(["next", "previous", "first", "last", "refresh"]), st.none()),
    st.tuples(st.just("insert"), st.lists(st.tuples(st.sampled_from(GROUPS), st.integers(-3, 20)),
                                          min_size=1, max_size=6)),
    st.tuples(st.just("delete"), st.tuples(st.sampled_from(GROUPS), st.integers(0, 20))),
)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(1, 6), every=st.integers(1, 7), descending=st.booleans(),
       order_by=st.sampled_from([None, "n", "value"]), settle=st.booleans(),
       moves=st.lists(MOVE, max_size=10))
def test_every_page_after_any_moves_and_changes_is_limit_offset(
        sample, limit, every, descending, order_by, settle, moves):
    sample.delete_quick()
    sample.insert([{"grp": g, "n": n, "value": float((n * 7 + i) % 5)}
                   for i, g in enumerate(GROUPS) for n in range(0, 16, 2)])
    query = sample & "n >= 0"
    pager = Pager(query, limit=limit, every=every)
    page = pager.page(order_by=order_by, descending=descending, limit=limit)
    assert _shown(page) == _expected(query, page)
    for move, argument in moves:
        if settle:  # let the count and the anchors arrive (else pages race the survey)
            assert pager.wait(60)
        if move == "insert":
            sample.insert([{"grp": g, "n": n, "value": 1.0} for g, n in argument],
                          skip_duplicates=True)
            continue
        if move == "delete":
            (sample & {"grp": argument[0], "n": argument[1]}).delete_quick()
            continue
        if move == "refresh":
            page = pager.refresh()
        else:
            total = len(query)
            last = max(total - 1, 0) // limit * limit
            offset = {"jump": min((argument or 0) * limit, last), "first": 0, "last": last,
                      "next": min(page.offset + limit, last),
                      "previous": max(page.offset - limit, 0)}[move]
            page = pager.page(offset=offset, limit=limit, order_by=order_by,
                              descending=descending)
            assert page.offset == offset
        assert _shown(page) == _expected(query, page)
        assert page.total in (None, len(query))
    assert pager.total in (None, len(query))  # None once a write made the count stale
    page = pager.page(offset=0, limit=limit, order_by=order_by, descending=descending)
    assert pager.wait(60)
    assert pager.total == len(query)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(every=st.integers(1, 9), descending=st.booleans(),
       order_by=st.sampled_from([None, "n"]), threshold=st.integers(0, 16))
def test_anchors_are_the_rows_at_their_positions(sample, every, descending, order_by,
                                                 threshold):
    query, order = display_order(sample & f"n >= {threshold}", order_by, descending)
    anchors = build_anchors(query, order, every)
    everything = [(r["grp"], r["n"]) for r in query.to_dicts(order_by=order)]
    names = [term.split()[0] for term in order]
    expected = [tuple(dict(zip(("grp", "n"), row))[k] for k in names)
                for row in everything[::every]]
    if keyset_order(query.heading, order) is None:  # n DESC, grp: mixed directions
        assert anchors is None
        return
    assert anchors is not None and anchors.complete and anchors.every == every
    assert list(anchors.keys) == expected


def test_anchors_are_none_where_keyset_paging_does_not_apply(sample):
    query, order = display_order(sample, "value", True)  # value DESC, grp, n: mixed
    assert order == ["value DESC", "grp", "n"] and build_anchors(query, order) is None


def test_a_jump_with_anchors_equals_offset_at_every_position(sample):
    query, order = display_order(sample, None, False)
    anchors = build_anchors(query, order, 4)
    total = len(sample)
    for offset in range(0, total):
        page = page_of(sample, offset=offset, limit=3, known_total=total, anchors=anchors)
        assert _shown(page) == _expected(sample, page)


@pytest.fixture
def uncounted(monkeypatch):
    """First pages as a large table gets them: the bounded count at first paint finds more
    rows than it may count (the sample has 40), so the total comes from the background."""
    monkeypatch.setattr(page_module, "COUNTED_AT_ONCE", 3)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bound=st.integers(0, 60), limit=st.integers(1, 12),
       restriction=st.sampled_from([None, "n < 6", "grp = 'zz'", "n > 100"]))
def test_a_first_page_knows_its_total_up_to_the_bound(sample, monkeypatch, bound, limit,
                                                      restriction):
    """Uncounted, a first page still says its total when it is at most COUNTED_AT_ONCE, or
    when the page holds every row; otherwise the total is left to the background count."""
    monkeypatch.setattr(page_module, "COUNTED_AT_ONCE", bound)
    query = sample if restriction is None else sample & restriction
    rows = len(query)
    page = page_of(query, limit=limit, count=False)
    assert _shown(page) == _expected(query, page)
    assert page.total == (rows if rows <= max(bound, limit) else None)
    assert page.more == (rows > limit)


class GatedPager(Pager):
    """A pager whose count waits until the test lets it go."""

    gate = threading.Event()

    def count_rows(self) -> int:
        assert self.gate.wait(60)
        return super().count_rows()


def test_the_first_page_arrives_before_the_count(sample, uncounted):
    GatedPager.gate.clear()
    counted: list[int] = []
    pager = GatedPager(sample, limit=5, on_total=counted.append)
    try:
        # the constructor returned with the first page while the count is held
        assert pager.current.total is None and pager.current.following
        assert _shown(pager.current) == _expected(sample, pager.current)
        assert pager.total is None and counted == []
        page = pager.page(offset=5, limit=5)  # paging goes on without the count
        assert _shown(page) == _expected(sample, page) and page.total is None
    finally:
        GatedPager.gate.set()
    assert pager.wait(60)
    assert pager.total == len(sample) and counted == [len(sample)]
    assert pager.anchors is not None and pager.anchors.complete


def test_a_count_from_before_a_write_is_dropped(sample, uncounted):
    GatedPager.gate.clear()
    pager = GatedPager(sample, limit=5)
    try:
        sample.insert1({"grp": "zz", "n": 99, "value": 0.0})  # while the count is held
    finally:
        GatedPager.gate.set()
    assert pager.wait(60)
    assert pager.total is None  # the snapshot predates the write: not kept
    page = pager.page(offset=0, limit=5)
    assert page.total is None or page.total == len(sample)
    assert pager.wait(60)
    assert pager.total == len(sample)


def test_refresh_sees_changes_by_another_session(sample, db_url):
    pager = Pager(sample, limit=4, every=3)
    assert pager.wait(60)
    other = dj.Connection(db_url)
    try:
        table = dj.FreeTable(other, sample.full_table_name)
        table.insert([{"grp": "a", "n": n, "value": 0.0} for n in range(5)])
        page = pager.refresh()
        assert _shown(page) == _expected(sample, page)
        assert pager.wait(60) and pager.total == len(sample)
        for offset in (8, 20, 36):
            page = pager.page(offset=offset, limit=4)
            assert _shown(page) == _expected(sample, page)
    finally:
        other.close()
