"""Which tables the running ``make`` may insert into (the direct-insert guard's exception).

Computed and Imported tables refuse inserts by hand; inside ``populate`` the
table being made (and its parts) accept them. The set of such tables is a
context variable, so threads and asynchronous tasks each see their own.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .table import Table

__all__ = ["populating", "is_populating"]

_POPULATING: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "dj_populating", default=frozenset())


class populating:  # noqa: N801 - used like the context-manager function it replaces
    """``with populating(table):`` inserts into ``table`` (and its parts) are allowed."""

    __slots__ = ("_name", "_token")

    def __init__(self, table: Table):
        self._name = table.full_name

    def __enter__(self) -> None:
        self._token = _POPULATING.set(_POPULATING.get() | {self._name})

    def __exit__(self, *exc: object) -> None:
        _POPULATING.reset(self._token)


def is_populating(full_name: str) -> bool:
    return full_name in _POPULATING.get()
