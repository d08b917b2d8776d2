"""How a query shows itself (``repr``, ``_repr_html_``), as set by a layer above.

Presentation lives in :mod:`dj_jupyter.display`, which sits above this layer and reads rows
through it; the package root wires display's text and HTML previews in here with
:func:`use`, so that a query never imports its presentation. Until then (a bare import of
this module), a query shows a one-line summary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["use", "as_text", "as_html"]

Presenter = Callable[[Any], str]
_presenters: dict[str, Presenter] = {}


def use(*, text: Presenter, html: Presenter) -> None:
    """Show queries with ``text(query)`` (``repr``) and ``html(query)`` (notebooks)."""
    _presenters.update(text=text, html=html)


def as_text(query: Any) -> str:
    presenter = _presenters.get("text")
    return presenter(query) if presenter else f"<{type(query).__name__}>"


def as_html(query: Any) -> str:
    presenter = _presenters.get("html")
    return presenter(query) if presenter else f"<pre>{type(query).__name__}</pre>"
