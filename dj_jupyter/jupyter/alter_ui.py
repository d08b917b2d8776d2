"""What a re-run ``%%dj_table`` cell shows when it differs from the declared table.

An alterable change shows the diff and an *Apply* button (``.dj-apply-alter``); any
other change shows the diff, what dropping would delete, and a *Drop and re-declare*
button (``.dj-drop-redeclare``). Nothing is touched and no transaction is open until a
button is clicked; the click re-reads the database, so the shown counts cannot go stale
into a wrong action. Without a widget frontend the same text ends in how to do it in code.
"""

from __future__ import annotations

import difflib
import html
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ..catalog.catalog import catalog_of
from ..definition.render import render_definition
from ..errors import DataJointError

__all__ = ["ChangeReport", "AlterPanel", "change_report"]

_STATIC = resources.files("dj_jupyter.jupyter") / "static"


@cache
def _css() -> str:
    return (_STATIC / "alter.css").read_text(encoding="utf-8")


@dataclass(frozen=True)
class ChangeReport:
    """The difference between a cell and its declared table, and what can be done about it."""

    class_name: str
    full_name: str
    diff: list[str]  # ndiff lines starting with "+ " or "- "
    alterable: bool
    reason: str  # why not alterable ("" when it is)
    drop_counts: dict[str, int]  # rows per table that drop() would delete

    @property
    def consequence(self) -> str:
        rows, tables = sum(self.drop_counts.values()), len(self.drop_counts)
        return (f"drop and re-declare: {rows} row{'s' if rows != 1 else ''} in {tables} "
                f"table{'s' if tables != 1 else ''} would be deleted")

    def text(self) -> str:
        """The plain-text report, ending in how to apply the change in code."""
        head = (f"%%dj_table {self.class_name}: the cell differs from the declared table "
                f"{self.full_name}; nothing was changed.")
        lines = [head, *(f"  {line}" for line in self.diff)]
        if self.alterable:
            lines.append(f"To apply it (ALTER keeps the rows): set {self.class_name}.definition "
                         f"to the cell's definition, call {self.class_name}.alter(), then re-run "
                         "this cell.")
        else:
            lines.append(self.reason)
            lines.append(f"To apply it, {self.consequence} — {self.class_name}.drop() then "
                         "re-run this cell.")
        return "\n".join(lines)


def change_report(table_class: type, stored: Any, new: Any, reason: str = "") -> ChangeReport:
    """Compare the declared (``stored``) and the cell's (``new``) definitions."""
    table = table_class()
    old_lines = render_definition(stored).splitlines()
    new_lines = render_definition(new).splitlines()
    diff = [line for line in difflib.ndiff(old_lines, new_lines) if line[:1] in "+-"]
    names = catalog_of(table.connection).dependencies.descendants([table.full_name])
    from ..tables.table import FreeTable

    counts = {name: len(FreeTable(table.connection, name)) for name in names}
    return ChangeReport(table_class.__name__, table.full_name, diff, not reason, reason, counts)


class AlterPanel:
    """The diff, the consequence, and one button that applies the change when clicked.

    ``apply(report)`` does the work (alter, or drop and re-declare) and returns the HTML to
    show afterwards (the updated table card); an error it raises is shown, short.
    """

    def __init__(self, report: ChangeReport, apply: Callable[[], str]):
        import ipywidgets as widgets

        self.report = report
        self._apply = apply
        self.message = widgets.HTML(value=self._message_html())
        self.result = widgets.HTML(value="")
        label, css_class = (("Apply", "dj-apply-alter") if report.alterable
                            else ("Drop and re-declare", "dj-drop-redeclare"))
        self.button = widgets.Button(description=label,
                                     button_style="warning" if report.alterable else "danger",
                                     tooltip=report.consequence if not report.alterable else
                                     "ALTER the table; rows are kept")
        self.button.add_class(css_class)
        self.button.on_click(self._clicked)
        self.widget = widgets.VBox([self.message, self.button, self.result])
        self.widget.add_class("dj-alter-panel")

    def _message_html(self) -> str:
        report = self.report
        lines = []
        for line in report.diff:
            kind = "dj-diff-add" if line.startswith("+") else "dj-diff-del"
            lines.append(f'<span class="{kind}">{html.escape(line)}</span>')
        parts = [f"<style>{_css()}</style>",
                 f"<div><b>{html.escape(report.class_name)}</b> differs from the declared table "
                 f"<code>{html.escape(report.full_name)}</code>; nothing was changed yet.</div>",
                 f'<pre class="dj-alter-diff">{chr(10).join(lines)}</pre>']
        if report.alterable:
            parts.append('<div class="dj-alter-consequence">ALTER can apply this; rows are '
                         "kept.</div>")
        else:
            parts.append(f"<div>{html.escape(report.reason)}</div>")
            parts.append(f'<div class="dj-alter-consequence">{html.escape(report.consequence)}'
                         "</div>")
        return "".join(parts)

    def _clicked(self, _button: Any = None) -> None:
        self.button.disabled = True
        try:
            card = self._apply()
        except DataJointError as error:
            self.result.value = f'<div class="dj-alter-error">{html.escape(str(error))}</div>'
            self.button.disabled = False
            return
        self.button.layout.display = "none"
        self.result.value = f'<div class="dj-alter-done">Done.</div>{card}'

    def click(self) -> None:
        """Press the button (what a user's click does)."""
        self.button.click()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.widget._repr_mimebundle_(**kwargs) or {}
        return {**bundle, "text/plain": self.report.text()}

    def __repr__(self) -> str:
        return self.report.text()
