"""``TableCardWidget``: the live card of a table (``%%dj_table``'s output).

The card (:func:`~dj_jupyter.display.table_card.table_card_html`) is redrawn when a table of
its schema is declared, dropped or altered (a new child), and by its refresh button (after
inserts, say). Its mime bundle keeps the HTML snapshot next to the widget view, so a saved
notebook shows the card as it was, marked with the time it was taken.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

from ..catalog.events import CatalogEvent, subscribe_catalog
from ..display.table_card import table_card_html

__all__ = ["TableCardWidget"]

_ESM = """
export default {
  render({ model, el }) {
    const draw = () => {
      el.innerHTML = model.get("html");
      const note = el.querySelector(".dj-card-snapshot");
      if (!note) return;
      const button = document.createElement("button");
      button.className = "dj-card-refresh";
      button.textContent = "↻ refresh";
      button.title = "read the rows and children again";
      button.addEventListener("click", () => model.send({ refresh: true }));
      note.appendChild(button);
    };
    model.on("change:html", draw);
    draw();
    return () => model.off("change:html", draw);
  },
};
"""


class TableCardWidget(anywidget.AnyWidget):
    """The card of ``table_class``, redrawn on catalogue changes and on its refresh button."""

    _esm = _ESM
    html = traitlets.Unicode("").tag(sync=True)

    def __init__(self, table_class: type, **kwargs: Any):
        super().__init__(html=table_card_html(table_class()), **kwargs)  # one comm_open, no update
        self.table_class = table_class
        self._unsubscribe: Callable[[], None] | None = subscribe_catalog(self._on_catalog)
        self.on_msg(self._on_message)

    def refresh(self) -> TableCardWidget:
        """Read the table's rows, parents and children again and redraw the card."""
        self.html = table_card_html(self.table_class())
        return self

    def _on_catalog(self, event: CatalogEvent) -> None:
        if event.schema == self.table_class().database:
            self.refresh()

    def _on_message(self, widget: Any, content: Any, buffers: Any) -> None:
        if isinstance(content, dict) and content.get("refresh"):
            self.refresh()

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict] | None:
        """The widget view plus the HTML snapshot and a one-line text."""
        shown = super()._repr_mimebundle_(**kwargs)
        if shown is None:
            return None
        data, metadata = shown if isinstance(shown, tuple) else (shown, {})
        return {**data, "text/html": self.html, "text/plain": repr(self)}, metadata

    def __repr__(self) -> str:
        return f"<{self.table_class.__name__}: {self.table_class().full_name}>"

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        super().close()
