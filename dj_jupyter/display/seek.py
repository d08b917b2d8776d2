"""Where a page of a table display starts, found without a growing OFFSET (keyset paging).

A page ordered by columns that include the whole primary key, all ascending or all
descending and never NULL, is the window ``WHERE (order columns) >= (first row)`` of
``limit`` rows: an index seek, however deep the page is. The next and the previous page
start from the cursor of the page on screen (its first and last row); a jump elsewhere
finds the target page's first row by skipping rows over the order columns alone, from
the nearest of: the start, the end (reversed order), or the page on screen. Any other
order (mixed directions, a nullable sort column) keeps plain OFFSET paging.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..algebra.conditions import KeyAfter
from ..query.fetch import rows

__all__ = ["Cursor", "keyset_order", "cursor_of", "seek"]


@dataclass(frozen=True)
class Cursor:
    """A shown page's place: its order, position and first and last rows' order values."""

    order: tuple[str, ...]
    offset: int
    count: int
    first: tuple
    last: tuple


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
         total: int | None = None) -> tuple[Any, int]:
    """``query`` narrowed to start at row ``offset`` of ``order``, and the offset left to
    skip inside it (0 when the keyset applies, else ``offset`` itself)."""
    plan = keyset_order(query.heading, order)
    if plan is None or offset == 0:
        return query, offset
    names, descending = plan
    near = near if near is not None and near.order == tuple(order or ()) else None
    if near is not None and offset == near.offset + near.count:
        return query.restrict(KeyAfter(tuple(names), near.last, descending)), 0
    if near is not None and offset == near.offset:
        return query.restrict(KeyAfter(tuple(names), near.first, descending, True)), 0
    first = _first_row(query, names, order or [], descending, offset, near, total)
    if first is None:  # past the end: let the caller see an empty window
        return query, offset
    return query.restrict(KeyAfter(tuple(names), first, descending, True)), 0


def _first_row(query: Any, names: list[str], order: list[str], descending: bool,
               offset: int, near: Cursor | None, total: int | None) -> tuple | None:
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
    skip, source, direction = min(ways, key=lambda way: way[0])
    _, columns = rows(source, names, order_by=direction, limit=1, offset=skip or None)
    return tuple(column[0] for column in columns) if columns[0] else None


def _reversed(term: str) -> str:
    name = term.split()[0]
    return name if term.upper().endswith(" DESC") else f"{name} DESC"
