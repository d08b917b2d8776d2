"""The pages of one display of a query: the page on screen, and the row count and position
anchors, read in the background so that the first page never waits for them.

A :class:`Pager` shows its first page at once (no ``count(*)``: the page reads one row more
to know whether rows follow). A survey thread then counts the rows and walks the position
anchors of the shown order (:func:`~.seek.build_anchors`); each result is kept only if no
row was written through the query's connection meanwhile (``Connection.write_count``).
Count, anchors and the page's cursor are a snapshot: a page request after a write through
this connection drops them all, pages exactly (a keyset seek from the start or the end) and
starts a new survey. Writes by other sessions are not seen until :meth:`Pager.refresh`; then
a jump may land up to the number of rows changed away from its page (the rows shown are
still contiguous rows of the order).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .page import Page, display_order, page_of
from .seek import ANCHOR_EVERY, Anchors, build_anchors

__all__ = ["Pager"]

logger = logging.getLogger("dj_jupyter")


class Pager:
    """Pages of ``query`` for one display; ``on_total(n)`` is called (from the survey
    thread) when the row count arrives."""

    def __init__(self, query: Any, *, limit: int = 25, page: Page | None = None,
                 on_total: Callable[[int], None] | None = None,
                 every: int = ANCHOR_EVERY):
        self.query = query
        self.every = every
        self._on_total = on_total
        self._lock = threading.Lock()
        self._stamp = self._writes()
        self._total: int | None = None
        self._anchors: Anchors | None = None
        self._survey: threading.Thread | None = None
        self._surveyed: tuple | None = None  # (stamp, order_by, descending) of the survey
        self.current = page or page_of(query, limit=limit, count=False)
        self._total = self.current.total
        self._start_survey(self.current)

    @property
    def total(self) -> int | None:
        """The row count, once counted (None before, and after a write made it stale)."""
        return self._total if self._writes() == self._stamp else None

    @property
    def anchors(self) -> Anchors | None:
        """The position anchors of the shown order read so far (None before the first, and
        after a write made them stale)."""
        return self._anchors if self._writes() == self._stamp else None

    def page(self, *, offset: int = 0, limit: int | None = None, order_by: str | None = None,
             descending: bool = False) -> Page:
        """The page asked for, from the page on screen, the count and the anchors when no
        row was written through this connection since they were read."""
        with self._lock:
            fresh = self._writes() == self._stamp
            if not fresh:
                self._forget()
            near, total, anchors = (self.current if fresh else None), self._total, self._anchors
        self.current = page_of(self.query, offset=offset, limit=limit or self.current.limit,
                               order_by=order_by, descending=descending, near=near,
                               known_total=total, anchors=anchors, count=False)
        with self._lock:
            if self._total is None and self.current.total is not None:
                self._total = self.current.total
        self._start_survey(self.current)
        return self.current

    def refresh(self) -> Page:
        """The page on screen read again, after a new count and new anchors (changes by any
        session are seen)."""
        with self._lock:
            self._forget()
            self._surveyed = None
        page = self.current = replace(self.current, cursor=None)
        return self.page(offset=page.offset, limit=page.limit, order_by=page.order_by,
                         descending=page.descending)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the survey running now; whether it has finished."""
        survey = self._survey
        if survey is not None:
            survey.join(timeout)
            return not survey.is_alive()
        return True

    def count_rows(self) -> int:
        """The row count of the query (run by the survey thread)."""
        return len(self.query)

    # -- the survey ----------------------------------------------------------------------
    def _writes(self) -> int:
        return getattr(self.query.connection, "write_count", 0)

    def _forget(self) -> None:
        """Drop the snapshot (the lock is held); a running survey sees the new stamp."""
        self._stamp = self._writes()
        self._total = None
        self._anchors = None

    def _start_survey(self, page: Page) -> None:
        """Count and anchor the page's order, unless done (or under way) for it already."""
        wanted = (self._stamp, page.order_by, page.descending)
        if wanted == self._surveyed:
            return
        if self._total is not None and page.total is not None and page.total <= page.limit:
            return  # one page holds every row: nothing to count or anchor
        self._surveyed = wanted
        survey = threading.Thread(target=self._run_survey, name="dj-page-survey", daemon=True,
                                  args=(self._stamp, page.order_by, page.descending))
        self._survey = survey
        survey.start()

    def _run_survey(self, stamp: int, order_by: str | None, descending: bool) -> None:
        try:
            if self._total is None:
                total = self.count_rows()
                with self._lock:
                    if stamp != self._stamp or self._writes() != stamp:
                        return
                    self._total = total
                if self._on_total is not None:
                    self._on_total(total)
            query, order = display_order(self.query, order_by, descending)

            def wanted(partial: Anchors) -> bool:
                with self._lock:
                    if stamp != self._stamp or self._writes() != stamp:
                        return False
                    if self._survey is not threading.current_thread():
                        return False  # a newer survey (another order) took over
                    self._anchors = partial
                    return True

            anchors = build_anchors(query, order, self.every, wanted)
            with self._lock:
                if anchors is not None and anchors.complete and stamp == self._stamp \
                        and self._writes() == stamp \
                        and self._survey is threading.current_thread():
                    self._anchors = anchors
        except Exception as error:  # noqa: BLE001 - pages stay exact without count/anchors
            logger.warning("a table display could not count its rows or read its position "
                           "anchors (%s: %s); its pages stay exact, jumps slower",
                           type(error).__name__, error)
