"""Populate progress events, and a small observer API (the notebook panel listens here).

``subscribe(listener)`` registers a callable for every populate in this process
and returns a function that unsubscribes it; ``populate(observers=[...])`` adds
listeners for one call. A listener that raises is logged and never stops the work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PopulateEvent", "subscribe", "publish"]

logger = logging.getLogger("dj_jupyter")

KINDS = ("started", "key_started", "key_done", "key_failed", "finished")


@dataclass(frozen=True)
class PopulateEvent:
    kind: str
    table: str
    key: dict | None = None
    done: int = 0
    failed: int = 0
    total: int | None = None
    elapsed: float = 0.0
    duration: float | None = None  # of this key's make
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Listener = Callable[[PopulateEvent], None]
_listeners: list[Listener] = []


def subscribe(listener: Listener) -> Callable[[], None]:
    _listeners.append(listener)

    def unsubscribe() -> None:
        if listener in _listeners:
            _listeners.remove(listener)

    return unsubscribe


def publish(event: PopulateEvent, observers: Iterable[Listener] = ()) -> None:
    for listener in (*_listeners, *observers):
        try:
            listener(event)
        except Exception:  # noqa: BLE001 - observers never break populate
            logger.exception("populate observer %r failed on %s", listener, event.kind)
