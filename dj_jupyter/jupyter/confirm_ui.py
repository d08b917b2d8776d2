"""safemode's question in a notebook: a widget that shows what goes and does it on a click.

A running cell cannot wait for a click (the kernel is busy until it ends), and some front
ends forward no stdin. So in a kernel ``delete()``/``drop()`` with safemode show a
:class:`ConfirmPanel` and return without touching anything; its button later runs the
action bound to what was shown (core's ``Confirmation.proceed``: a delete of exactly the
shown counts in its own transaction, a drop after the tables are read again), and says what
changed instead if anything did. No transaction is open while the panel waits.
``%load_ext dj_jupyter`` installs :class:`WidgetConfirm` as core's confirmation hook.
"""

from __future__ import annotations

import html
from typing import Any

from IPython.display import display

from ..errors import DataJointError
from ..tables.cascade import ChangedSinceShown, Confirmation, set_confirm
from .alter_ui import button_layout, panel_css

__all__ = ["ConfirmPanel", "WidgetConfirm", "install"]

_VERB = {"delete": "Delete", "drop": "Drop", "drop schema": "Drop schema"}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(request: Confirmation) -> str:
    """E.g. ``5 rows in 2 tables``."""
    tables = sum(1 for c in request.counts.values() if c) if request.action == "delete" \
        else len(request.counts)
    return f"{_plural(request.total, 'row')} in {_plural(tables, 'table')}"


def counts_html(counts: dict[str, int], only_nonzero: bool) -> str:
    """The rows per table, as a small table (parents first)."""
    rows = "".join(f"<tr><td><code>{html.escape(name)}</code></td>"
                   f'<td class="dj-confirm-count">{count}</td></tr>'
                   for name, count in counts.items() if count or not only_nonzero)
    return ('<table class="dj-confirm-counts"><thead><tr><th>table</th><th>rows</th></tr>'
            f"</thead><tbody>{rows}</tbody></table>")


def question_html(request: Confirmation, pending: bool = True) -> str:
    """The static part of the panel: question, totals, the rows per table and, while the
    question is open, what the button does."""
    verb = _VERB.get(request.action, request.action)
    goes = "deleted" if request.action == "delete" else "dropped"
    note = (f'<div class="dj-confirm-note">Nothing has been {goes} yet. <i>{verb}</i> below '
            f"does exactly this, or nothing if the data changed meanwhile (safemode).</div>"
            if pending else "")
    return (f"<style>{panel_css()}</style>"
            f'<div class="dj-confirm-question"><b>{html.escape(request.question)}</b> '
            f"{summary(request)} would be {goes}.</div>"
            f"{counts_html(request.counts, request.action == 'delete')}{note}")


class ConfirmPanel:
    """The question, the rows per table, a button that does it and one that dismisses it."""

    def __init__(self, request: Confirmation):
        import ipywidgets as widgets

        self.request = request
        self.message = widgets.HTML(value=question_html(request))
        self.result = widgets.HTML(value="")
        verb = _VERB.get(request.action, request.action)
        self.go = widgets.Button(description=f"{verb} {summary(request)}", button_style="danger",
                                 layout=button_layout())
        self.go.add_class("dj-confirm-go")
        self.cancel = widgets.Button(description="Cancel", layout=button_layout())
        self.cancel.add_class("dj-confirm-cancel")
        self.go.on_click(self._go)
        self.cancel.on_click(self._cancel)
        self.buttons = widgets.HBox([self.go, self.cancel])
        self.widget = widgets.VBox([self.message, self.buttons, self.result])
        self.widget.add_class("dj-confirm-panel")
        self.widget.add_class("dj-alter-panel")

    def _finish(self, message_html: str) -> None:
        self.message.value = question_html(self.request, pending=False)
        self.buttons.layout.display = "none"
        self.result.value = message_html

    def _go(self, _button: Any = None) -> None:
        self.go.disabled = self.cancel.disabled = True
        try:
            self.request.proceed()
        except ChangedSinceShown as error:  # the shown question is stale: ask again
            self._finish(f'<div class="dj-alter-error">{html.escape(str(error))}</div>')
            return
        except DataJointError as error:  # e.g. a transaction is open now: fixable, retry
            self.result.value = f'<div class="dj-alter-error">{html.escape(str(error))}</div>'
            self.go.disabled = self.cancel.disabled = False
            return
        goes = "Deleted" if self.request.action == "delete" else "Dropped"
        self._finish(f'<div class="dj-alter-done">{goes} {summary(self.request)}.</div>')

    def _cancel(self, _button: Any = None) -> None:
        goes = "deleted" if self.request.action == "delete" else "dropped"
        self._finish(f'<div class="dj-confirm-cancelled">Cancelled; nothing was {goes}.</div>')

    def click(self) -> None:
        """Press the action button (what a user's click does)."""
        self.go.click()

    def dismiss(self) -> None:
        """Press Cancel."""
        self.cancel.click()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.widget._repr_mimebundle_(**kwargs) or {}
        return {**bundle, "text/plain": self.text(), "text/html": question_html(self.request)}

    def text(self) -> str:
        return (f"{self.request.text}\n{self.request.question} Nothing was changed yet: "
                "confirm with the button (or pass prompt=False).")

    def __repr__(self) -> str:
        return self.text()


class WidgetConfirm:
    """Core's confirmation hook in a kernel: show a :class:`ConfirmPanel`, defer the action."""

    def __init__(self) -> None:
        self.last: ConfirmPanel | None = None

    def __call__(self, request: Confirmation) -> None:
        self.last = ConfirmPanel(request)
        display(self.last)
        return None


def install(ipython: Any) -> None:
    """In a kernel (a widget front end), confirm through :class:`WidgetConfirm`."""
    if getattr(ipython, "kernel", None) is not None:
        set_confirm(WidgetConfirm())
