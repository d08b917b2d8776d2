"""A thread's own connections: populate in the background while the notebook uses its own.

A connection is not shared between threads. Inside ``with own_connections():`` every table of
a schema bound to connection ``c`` uses a connection of this thread to the same database
instead (opened on first use, closed at the end): its ``make``'s reads, the part tables it
inserts into, ``key_source`` — so a background populate never touches the notebook's
connection, and the notebook's cells keep working while it runs.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from .connection import Connection

__all__ = ["own_connections", "routed"]

_ROUTES: contextvars.ContextVar[dict[int, tuple[Any, Any]] | None] = contextvars.ContextVar(
    "dj_own_connections", default=None)


def routed(connection: Any) -> Any:
    """``connection``, or the calling context's own connection to the same database."""
    routes = _ROUTES.get()
    if routes is None or connection is None:
        return connection
    found = routes.get(id(connection))
    if found is None:
        found = routes[id(connection)] = (connection, Connection(connection.url))
    return found[1]


@contextlib.contextmanager
def own_connections() -> Iterator[None]:
    """Within the block, tables use connections of their own (see the module docstring)."""
    routes: dict[int, tuple[Any, Any]] = {}
    token = _ROUTES.set(routes)
    try:
        yield
    finally:
        _ROUTES.reset(token)
        for _, own in routes.values():
            with contextlib.suppress(Exception):
                own.close()
