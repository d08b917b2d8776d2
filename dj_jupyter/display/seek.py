"""Where a page of a table display starts, found without a growing OFFSET (keyset paging).

A page ordered by columns that include the whole primary key, all ascending or all
descending and never NULL, is the window ``WHERE (order columns) >= (first row)`` of
``limit`` rows: an index seek, however deep the page is. The next and the previous page
start from the cursor of the page on screen (its first and last row); a jump elsewhere
finds the target page's first row by skipping rows over the order columns alone, from
the nearest of: the start, the end (reversed order), the page on screen, or a position
anchor. Any other order (mixed directions, a nullable sort column) keeps plain OFFSET paging.

Position anchors (:class:`Anchors`) are the order values of rows 0, K, 2K … of the order,
found by a walk of keyset seeks that each skip K rows over the order columns' index
(:func:`build_anchors`, run in the background by a display). A jump then skips fewer than
K/2 rows from the nearest anchor, at any depth. Anchors describe the rows when they were
read; whoever holds them drops them when the rows change (:class:`~.pager.Pager`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..algebra.conditions import KeyAfter
from ..query.fetch import rows

__all__ = ["Cursor", "Anchors", "ANCHOR_EVERY", "keyset_order", "cursor_of", "seek",
           "build_anchors"]

ANCHOR_EVERY = 4096  # rows between two position anchors: a jump skips at most half of it


@dataclass(frozen=True)
class Cursor:
    """A shown page's place: its order, position and first and last rows' order values."""

    order: tuple[str, ...]
    offset: int
    count: int
    first: tuple
    last: tuple


@dataclass(frozen=True)
class Anchors:
    """The order values of rows 0, ``every``, 2·``every`` … of ``order`` (``keys[i]`` is row
    ``i * every``); ``complete`` once the walk reached the end (else a prefix)."""

    order: tuple[str, ...]
    every: int
    keys: tuple[tuple, ...]
    complete: bool = True

    def nearest(self, offset: int) -> tuple[int, tuple] | None:
        """(position, key) of the anchor nearest to row ``offset``; None without anchors."""
        if not self.keys:
            return None
        index = min(round(offset / self.every), len(self.keys) - 1)
        return index * self.every, self.keys[index]


def build_anchors(query: Any, order: list[str] | None, every: int = ANCHOR_EVERY,
                  wanted: Callable[[Anchors], bool] = lambda anchors: True) -> Anchors | None:
    """The anchors of ``query`` in ``order`` (None where keyset paging does not apply).

    Each step is one short statement (a keyset seek, then an OFFSET of ``every`` over the
    order columns alone), so a connection shared with the kernel is held only briefly;
    ``wanted`` is asked after every step with the anchors so far, and False stops the walk
    (the prefix is returned, marked incomplete).
    """
    plan = keyset_order(query.heading, order)
    if plan is None:
        return None
    names, descending = plan
    keys_only = query.proj(*(n for n in names if n not in query.heading.primary_key))
    _, columns = rows(keys_only, names, order_by=order, limit=1)
    found = [tuple(column[0] for column in columns)] if columns[0] else []
    while found:
        so_far = Anchors(tuple(order or ()), every, tuple(found), complete=False)
        if not wanted(so_far):
            return so_far
        after = keys_only.restrict(KeyAfter(tuple(names), found[-1], descending, True))
        _, columns = rows(after, names, order_by=order, limit=1, offset=every)
        if not columns[0]:
            break
        found.append(tuple(column[0] for column in columns))
    return Anchors(tuple(order or ()), every, tuple(found))


def keyset_order(heading: Any, order: list[str] | None) -> tuple[list[str], bool] | None:
    """The order's columns and whether it is descending, when keyset paging applies."""
    if not order:
        return None
    names = [term.split()[0] for term in order]
    directions = {term.upper().endswith(" DESC") for term in order}
    if len(directions) != 1 or not set(heading.primary_key) <= set(names):
        return None
    if any(name not in heading or heading[name].nullable for name in names):
        return None
    return names, directions.pop()


def cursor_of(heading: Any, order: list[str] | None, offset: int,
              values: dict[str, list]) -> Cursor | None:
    """The cursor of a page whose fetched columns are ``values`` (None without keyset)."""
    plan = keyset_order(heading, order)
    if plan is None or any(name not in values for name in plan[0]):
        return None
    names = plan[0]
    count = len(values[names[0]])
    if not count:
        return None
    return Cursor(tuple(order or ()), offset, count, tuple(values[n][0] for n in names),
                  tuple(values[n][-1] for n in names))


def seek(query: Any, order: list[str] | None, offset: int, near: Cursor | None = None,
         total: int | None = None, anchors: Anchors | None = None) -> tuple[Any, int]:
    """``query`` narrowed to start at row ``offset`` of ``order``, and the offset left to
    skip inside it (0 when the keyset applies, else ``offset`` itself). ``near``, ``total``
    and ``anchors`` must describe the rows as they are now: they are trusted."""
    plan = keyset_order(query.heading, order)
    if plan is None or offset == 0:
        return query, offset
    names, descending = plan
    near = near if near is not None and near.order == tuple(order or ()) else None
    if near is not None and offset == near.offset + near.count:
        return query.restrict(KeyAfter(tuple(names), near.last, descending)), 0
    if near is not None and offset == near.offset:
        return query.restrict(KeyAfter(tuple(names), near.first, descending, True)), 0
    anchors = anchors if anchors is not None and anchors.order == tuple(order or ()) else None
    first = _first_row(query, names, order or [], descending, offset, near, total, anchors)
    if first is None:  # past the end: let the caller see an empty window
        return query, offset
    return query.restrict(KeyAfter(tuple(names), first, descending, True)), 0


def _first_row(query: Any, names: list[str], order: list[str], descending: bool,
               offset: int, near: Cursor | None, total: int | None,
               anchors: Anchors | None) -> tuple | None:
    """The order values of row ``offset``, read by skipping as few rows as possible over
    the order columns alone (the primary key's index, and no other column)."""
    keys = query.proj(*(n for n in names if n not in query.heading.primary_key))
    backwards = [_reversed(term) for term in order]
    ways = [(offset, keys, order)]
    if total is not None and offset < total:
        ways.append((total - 1 - offset, keys, backwards))
    if near is not None and offset > near.offset + near.count:
        after = keys.restrict(KeyAfter(tuple(names), near.last, descending))
        ways.append((offset - near.offset - near.count, after, order))
    if near is not None and offset < near.offset:
        before = keys.restrict(KeyAfter(tuple(names), near.first, not descending))
        ways.append((near.offset - 1 - offset, before, backwards))
    anchor = anchors.nearest(offset) if anchors is not None else None
    if anchor is not None:  # any anchor read is exact, a prefix's too
        position, key = anchor
        if position <= offset:
            from_anchor = keys.restrict(KeyAfter(tuple(names), key, descending, True))
            ways.append((offset - position, from_anchor, order))
        else:
            to_anchor = keys.restrict(KeyAfter(tuple(names), key, not descending))
            ways.append((position - 1 - offset, to_anchor, backwards))
    skip, source, direction = min(ways, key=lambda way: way[0])
    _, columns = rows(source, names, order_by=direction, limit=1, offset=skip or None)
    return tuple(column[0] for column in columns) if columns[0] else None


def _reversed(term: str) -> str:
    name = term.split()[0]
    return name if term.upper().endswith(" DESC") else f"{name} DESC"
