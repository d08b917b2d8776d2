"""Populate progress and catalogue-change events, with a small observer API.

``subscribe(listener)`` registers a callable for every populate in this process
and returns a function that unsubscribes it; ``populate(observers=[...])`` adds
listeners for one call. ``subscribe_catalog(listener)`` does the same for tables
declared, dropped or altered (a live diagram listens there); a bound method is held
weakly, so a view that is garbage collected stops listening by itself. A listener
that raises is logged and never stops the work.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PopulateEvent", "subscribe", "publish", "CatalogEvent", "subscribe_catalog",
           "publish_catalog", "set_progress_display", "progress_display"]

logger = logging.getLogger("dj_jupyter")

KINDS = ("started", "key_started", "key_phase", "key_done", "key_failed", "finished")


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


def listening(observers: Iterable[Listener] = ()) -> bool:
    """Whether a populate event would reach anyone (unread events are not even built)."""
    return bool(_listeners or observers)


def publish(event: PopulateEvent, observers: Iterable[Listener] = ()) -> None:
    for listener in (*_listeners, *observers):
        try:
            listener(event)
        except Exception:  # noqa: BLE001 - observers never break populate
            logger.exception("populate observer %r failed on %s", listener, event.kind)


# -- the notebook's populate display ---------------------------------------------------------

# (table, restrictions) -> an observer that shows the populate, or None where nothing can show
# it. Set by the notebook layer (``%load_ext dj_jupyter``), so the core never imports it.
_progress_display: list[Callable[[Any, tuple], Listener | None]] = []


def set_progress_display(factory: Callable[[Any, tuple], Listener | None] | None) -> None:
    """Register (or with None remove) what shows a populate that asks for no display."""
    _progress_display[:] = [] if factory is None else [factory]


def progress_display() -> Callable[[Any, tuple], Listener | None] | None:
    return _progress_display[0] if _progress_display else None


# -- catalogue changes ----------------------------------------------------------------------

@dataclass(frozen=True)
class CatalogEvent:
    """A table of ``schema`` was declared, dropped or altered (``kind``), on ``connection``."""

    kind: str
    schema: str
    table: str
    connection: Any = field(default=None, compare=False, repr=False)

    @property
    def full_name(self) -> str:
        return f"{self.schema}.{self.table}"


CatalogListener = Callable[[CatalogEvent], None]
_catalog_listeners: list[Callable[[], CatalogListener | None]] = []


def subscribe_catalog(listener: CatalogListener, connection: Any = None) -> Callable[[], None]:
    """Call ``listener`` on every catalogue change (of ``connection`` only, when given);
    bound methods are held weakly."""
    ref: Callable[[], CatalogListener | None]
    if hasattr(listener, "__self__") and hasattr(listener, "__func__"):
        ref = weakref.WeakMethod(listener)  # type: ignore[arg-type]
    else:
        def ref() -> CatalogListener:
            return listener
    if connection is not None:
        ref = _for_connection(ref, connection)
    _catalog_listeners.append(ref)

    def unsubscribe() -> None:
        if ref in _catalog_listeners:
            _catalog_listeners.remove(ref)

    return unsubscribe


def _for_connection(ref: Callable[[], CatalogListener | None], connection: Any
                    ) -> Callable[[], CatalogListener | None]:
    """``ref`` seeing only the events of ``connection`` (two connections never mix)."""

    def filtered() -> CatalogListener | None:
        listener = ref()
        if listener is None:
            return None
        return lambda event: listener(event) if event.connection is connection else None

    return filtered


def catalog_listener_count() -> int:
    """Live catalogue listeners (dead weak references are dropped first)."""
    _catalog_listeners[:] = [ref for ref in _catalog_listeners if ref() is not None]
    return len(_catalog_listeners)


def publish_catalog(event: CatalogEvent) -> None:
    for ref in list(_catalog_listeners):
        listener = ref()
        if listener is None:
            if ref in _catalog_listeners:
                _catalog_listeners.remove(ref)
            continue
        try:
            listener(event)
        except Exception:  # noqa: BLE001 - observers never break DDL
            logger.exception("catalogue observer %r failed on %s", listener, event.kind)
