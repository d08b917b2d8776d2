"""One page of a query's rows, ready to show: display strings, badges, the total count.

The single place where displays fetch rows. Columns holding codec, ``bytes`` or ``json``
values are shown as badges and are never selected, so a page never reads an object store
or transfers a blob; array columns (``<blob>``, ``<npy@>``, ``<zarr@>``, ``<object@>``) get a
summary per cell from their stored metadata (:mod:`.cells`). Sorting and paging go through
the query API (the compiler binds everything); ties are broken by the primary key so that
pages partition the result. A page in key order starts by keyset, not OFFSET (:mod:`.seek`):
given the page on screen (``near``), the next, previous, last or any page costs an index seek,
and position anchors (``anchors``) make a jump to any depth skip fewer than K/2 rows.
``count=False`` leaves the row count to the caller (``total`` None, ``more`` from one extra
row), so that a display's first page never waits for ``count(*)`` (:mod:`.pager`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..algebra.nodes import base_table
from ..errors import RestrictionError
from ..query.fetch import count as count_rows
from ..query.fetch import raw_rows, rows
from .cells import array_columns, summarize
from .seek import Anchors, Cursor, cursor_of, seek

__all__ = ["Page", "page_of", "badge_for", "display_text", "cell_value", "display_order",
           "MAX_CELL"]

MAX_CELL = 200  # characters of a value shown in a cell; longer text ends with "…"
NULL_FLAG = "dj_sort_is_null_"  # the computed column that orders NULLs alike everywhere
# An uncounted first page of a table (or a restriction of one) still counts up to this many
# rows (a bounded count: milliseconds at any table size), so that small tables show their
# total at once, also in the static picture a saved notebook keeps.
COUNTED_AT_ONCE = 10_000


@dataclass(frozen=True)
class Page:
    """Rows ``offset`` … ``offset + len(rows)`` of ``total`` (None: not counted yet), as
    display strings."""

    names: list[str]
    key: list[str]
    types: dict[str, str]
    comments: dict[str, str]
    badges: dict[str, str]
    rows: list[list[str]]
    offset: int
    total: int | None
    limit: int = 25
    order_by: str | None = None
    descending: bool = False
    # per array column, one summary per row (shape, dtype, size, sparkline; None for NULL)
    summaries: dict[str, list[dict | None]] = field(default_factory=dict)
    # where the page is, for keyset paging to its neighbours (kernel side only)
    cursor: Cursor | None = field(default=None, compare=False, repr=False)
    following: bool = False  # whether rows follow, when ``total`` is not known

    @property
    def more(self) -> bool:
        """Whether rows follow this page."""
        if self.total is None:
            return self.following
        return self.offset + len(self.rows) < self.total

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able copy (what the table widget receives); the cursor stays here."""
        shown = asdict(replace(self, cursor=None))
        del shown["cursor"]
        return shown


def badge_for(attribute: Any) -> str | None:
    """The badge shown instead of a value that is not fetched; None for a plain value."""
    if attribute.codec:
        return attribute.type.text or f"<{attribute.codec}>"
    if attribute.family in ("bytes", "json"):
        return attribute.family
    return None


def page_of(query: Any, *, offset: int = 0, limit: int = 25, order_by: str | None = None,
            descending: bool = False, near: Page | None = None,
            known_total: int | None = None, anchors: Anchors | None = None,
            count: bool = True) -> Page:
    """The page of ``query`` starting at row ``offset``, sorted by ``order_by`` (else the key).

    ``near`` is the page on screen, from which the keyset seek starts; ``known_total`` is
    the row count it showed (not counted again unless the page contradicts it); ``anchors``
    are position anchors of the same order. All three must describe the rows as they are.
    ``count=False``: an unknown total stays None (unless the page shows the last row).
    """
    _check_window(offset, limit)
    heading = query.heading
    badges = {n: b for n in heading.names if (b := badge_for(heading[n])) is not None}
    fetched = [n for n in heading.names if n not in badges]
    shown = query
    query, order = display_order(query, order_by, descending)
    cursor = near.cursor if near is not None else None
    window, skip = seek(query, order, offset, cursor, known_total, anchors)
    following = False
    if known_total is None and not count and fetched:
        values, found = _fetch(window, fetched, order, skip, limit + 1)
        following = found > limit
        values, found = {n: v[:limit] for n, v in values.items()}, min(found, limit)
        total = None if following or (found == 0 and offset > 0) else offset + found
        if following and offset == 0 and base_table(shown.node) is not None:
            counted = count_rows(shown, at_most=COUNTED_AT_ONCE + 1)  # an index range, bounded
            total = counted if counted <= COUNTED_AT_ONCE else None
        count = total is None and not following  # past the end: count, show the last page
    if known_total is not None or count or not fetched:
        values, found = _fetch(window, fetched, order, skip, limit)
        if offset == 0 and found < limit:
            total = found
        elif known_total is not None and found and (found == limit
                                                    or offset + found == known_total):
            total = known_total
        else:
            total = len(query)
            if found == 0 and offset >= total > 0:  # past the end (e.g. rows were deleted)
                offset = (total - 1) // limit * limit
                window, skip = seek(query, order, offset, None, total, anchors)
                values, found = _fetch(window, fetched, order, skip, limit)
    rows = [[badges[n] if n in badges else display_text(values[n][i]) for n in heading.names]
            for i in range(found)]
    summaries = summarize(window, array_columns(heading), order, skip, limit) if found else {}
    return Page(names=heading.names, key=heading.primary_key,
                types={n: _type_text(heading[n]) for n in heading.names},
                comments={n: heading[n].comment for n in heading.names},
                badges=badges, rows=rows, offset=offset, total=total, limit=limit,
                order_by=order_by, descending=bool(descending), summaries=summaries,
                cursor=cursor_of(heading, order, offset, values), following=following)


def cell_value(query: Any, page: Page, row: int, column: str, *, raw: bool = False) -> Any:
    """The value (decoded, e.g. a lazy NpyRef; with ``raw`` as stored, e.g. an object's
    metadata) of one cell of ``page``: the row at position ``row`` of the page, fetched
    again in the page's order."""
    heading = query.heading
    if column not in heading:
        raise RestrictionError(f"the result has no column {column!r}")
    if not 0 <= row < len(page.rows):
        raise RestrictionError(f"row {row} is not on the page (it has {len(page.rows)} rows)")
    query, order = display_order(query, page.order_by, page.descending)
    window, skip = seek(query, order, page.offset, page.cursor)
    if raw:
        found = raw_rows(window, [column], order_by=order, limit=1, offset=skip + row or None)
        columns = [[found[0][0]] if found else []]
    else:
        _, columns = rows(window, [column], order_by=order, limit=1, offset=skip + row or None)
    if not columns[0]:
        raise RestrictionError("the row is gone (the table changed); refresh the table")
    return columns[0][0]


def display_order(query: Any, order_by: str | None, descending: bool
                  ) -> tuple[Any, list[str] | None]:
    """The query a display pages through (NULLs sorted alike on every backend) and its
    order: ``order_by`` (else the primary key), ties broken by the primary key."""
    heading = query.heading
    badges = {n: b for n in heading.names if (b := badge_for(heading[n])) is not None}
    order = _ordering(heading, badges, order_by, descending)
    if order and order_by is not None and heading[order_by].nullable:
        query, order = _nulls_as_smallest(query, order, descending)
    return query, order


def display_text(value: Any) -> str:
    """A value as a cell shows it (NULL spelled out, floats to 6 significant digits as pandas
    does, long text shortened)."""
    if value is None:
        text = "NULL"
    elif isinstance(value, float):
        text = f"{value:.6g}"
        text += ".0" if text.lstrip("-").isdigit() else ""  # 1.0 stays a float to the eye
    else:
        text = str(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _check_window(offset: int, limit: int) -> None:
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise RestrictionError(f"page offset must be a whole number ≥ 0, got {offset!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise RestrictionError(f"page limit must be a whole number ≥ 1, got {limit!r}")


def _ordering(heading: Any, badges: dict[str, str], order_by: str | None,
              descending: bool) -> list[str] | None:
    """``order_by`` for the query API: the sort column, then the primary key for ties."""
    key = heading.primary_key
    if order_by is None:
        return [f"{k} DESC" if descending else k for k in key] or None
    if order_by not in heading:
        raise RestrictionError(f"cannot sort by {order_by!r}: the result has no such column; "
                               f"choose one of {', '.join(heading.names)}")
    if order_by in badges:
        raise RestrictionError(f"cannot sort by {order_by!r}: its values ({badges[order_by]}) "
                               "are not fetched for display; sort by another column")
    first = f"{order_by} DESC" if descending else order_by
    return [first, *(k for k in key if k != order_by)]


def _nulls_as_smallest(query: Any, order: list[str], descending: bool) -> tuple[Any, list[str]]:
    """Sort NULLs first ascending and last descending on every backend (PostgreSQL differs).

    Adds a computed flag column (``column IS NULL``) to sort by first; it is never fetched.
    """
    column = order[0].split()[0]
    query = query.proj(..., **{NULL_FLAG: f"{column} IS NULL"})
    return query, [NULL_FLAG if descending else f"{NULL_FLAG} DESC", *order]


def _fetch(query: Any, names: list[str], order: list[str] | None, offset: int,
           limit: int) -> tuple[dict[str, list], int]:
    """The named columns of one window of rows, and how many rows it holds."""
    if not names:  # every column is a badge: only the row count is needed
        return {}, max(0, min(limit, len(query) - offset))
    _, columns = rows(query, names, order_by=order, limit=limit, offset=offset or None)
    return dict(zip(names, columns)), len(columns[0])


def _type_text(attribute: Any) -> str:
    return attribute.type.text or attribute.type.name
