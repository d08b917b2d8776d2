"""What a re-run ``%%dj_table`` cell shows when it differs from the declared table.

The whole definition is shown with the changed lines marked (``+``/``-``), and changed
lines of the primary key badged as such. An alterable change offers an *Apply* button
(``.dj-apply-alter``); any other change says how many rows in how many tables a drop
deletes and offers *Drop and re-declare* (``.dj-drop-redeclare``), which with
``safemode`` first asks again, listing the rows per table (``.dj-confirm-drop``). Nothing is
touched and no transaction is open until a button is clicked; the drop is bound to the
counts shown (if another session changed them, nothing is dropped and the panel says so).
Without a widget frontend the same text ends in how to do it in code.
"""

from __future__ import annotations

import difflib
import html
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ..definition.render import render_definition
from ..errors import DataJointError
from ..settings import config
from ..tables.cascade import ChangedSinceShown, drop_preview

__all__ = ["ChangeReport", "DiffLine", "AlterPanel", "change_report", "diff_lines"]

_STATIC = resources.files("dj_jupyter.jupyter") / "static"


@cache
def panel_css() -> str:
    """The styles of the alter and confirmation panels."""
    return (_STATIC / "alter.css").read_text(encoding="utf-8")


def button_layout() -> Any:
    """A button as wide as its label (ipywidgets' fixed width cuts long labels off)."""
    import ipywidgets as widgets

    return widgets.Layout(width="auto", min_width="max-content")


@dataclass(frozen=True)
class DiffLine:
    """One line of the definition: unchanged (``" "``), added (``"+"``) or removed (``"-"``);
    ``key`` when it lies in the primary key (above ``---``) of its definition."""

    mark: str
    text: str
    key: bool

    @property
    def changed_key(self) -> bool:
        return self.key and self.mark != " "

    def plain(self) -> str:
        return f"{self.mark} {self.text}" + ("   <- primary key" if self.changed_key else "")


def _key_flags(lines: list[str]) -> list[bool]:
    """Per line: does it declare a primary-key attribute (above ``---``; all when none)?"""
    divider = next((i for i, line in enumerate(lines) if line.strip().startswith("---")),
                   len(lines))
    return [i < divider and not line.lstrip().startswith("#") and bool(line.strip())
            for i, line in enumerate(lines)]


def diff_lines(old: list[str], new: list[str]) -> list[DiffLine]:
    """The whole definition, old and new interleaved where they differ."""
    old_key, new_key = _key_flags(old), _key_flags(new)
    out: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            out += [DiffLine(" ", new[j], new_key[j]) for j in range(b0, b1)]
            continue
        out += [DiffLine("-", old[i], old_key[i]) for i in range(a0, a1)]
        out += [DiffLine("+", new[j], new_key[j]) for j in range(b0, b1)]
    return out


@dataclass(frozen=True)
class ChangeReport:
    """The difference between a cell and its declared table, and what can be done about it."""

    class_name: str
    full_name: str
    lines: list[DiffLine]  # the whole definition, changes marked
    alterable: bool
    reason: str  # why not alterable ("" when it is)
    drop_counts: dict[str, int]  # rows per table that drop() would delete

    @property
    def diff(self) -> list[str]:
        """Only the changed lines, ``"+ ..."`` or ``"- ..."``."""
        return [f"{line.mark} {line.text}" for line in self.lines if line.mark != " "]

    @property
    def consequence(self) -> str:
        rows, tables = sum(self.drop_counts.values()), len(self.drop_counts)
        return (f"drop and re-declare: {rows} row{'s' if rows != 1 else ''} in {tables} "
                f"table{'s' if tables != 1 else ''} would be deleted")

    def text(self) -> str:
        """The plain-text report, ending in how to apply the change in code."""
        head = (f"%%dj_table {self.class_name}: the cell differs from the declared table "
                f"{self.full_name}; nothing was changed.")
        lines = [head, *(f"  {line.plain()}" for line in self.lines)]
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
    lines = diff_lines(render_definition(stored).splitlines(),
                       render_definition(new).splitlines())
    counts = drop_preview(table)
    return ChangeReport(table_class.__name__, table.full_name, lines, not reason, reason, counts)


def diff_html(report: ChangeReport) -> str:
    """The whole definition in a ``<pre>``, changed lines coloured, key changes badged."""
    spans = []
    for line in report.lines:
        kind = {"+": "dj-diff-add", "-": "dj-diff-del", " ": "dj-diff-same"}[line.mark]
        badge = ' <span class="dj-diff-key">primary key</span>' if line.changed_key else ""
        key = " dj-diff-in-key" if line.key else ""
        spans.append(f'<span class="{kind}{key}">{html.escape(line.mark)} '
                     f"{html.escape(line.text)}{badge}</span>")
    return f'<pre class="dj-alter-diff">{chr(10).join(spans)}</pre>'


def report_html(report: ChangeReport, done: bool = False) -> str:
    """The static part of the panel (also the saved notebook's fallback); ``done`` once the
    change was applied (then without the consequence, which is past)."""
    name, table = html.escape(report.class_name), html.escape(report.full_name)
    head = (f"<div><b>{name}</b> differed from the declared table <code>{table}</code>; "
            "the change below was applied.</div>" if done else
            f"<div><b>{name}</b> differs from the declared table <code>{table}</code>; "
            "nothing was changed yet.</div>")
    parts = [f"<style>{panel_css()}</style>", head, diff_html(report)]
    if not done and report.alterable:
        parts.append('<div class="dj-alter-consequence">ALTER can apply this; rows are '
                     "kept.</div>")
    elif not done:
        parts.append(f"<div>{html.escape(report.reason)}</div>")
        parts.append(f'<div class="dj-alter-consequence">{html.escape(report.consequence)}'
                     "</div>")
    return "".join(parts)


def _drop_counts_html(counts: dict[str, int]) -> str:
    rows = "".join(f"<tr><td><code>{html.escape(name)}</code></td>"
                   f'<td class="dj-confirm-count">{count}</td></tr>'
                   for name, count in counts.items())
    return ('<table class="dj-confirm-counts"><thead><tr><th>table</th><th>rows</th></tr>'
            f"</thead><tbody>{rows}</tbody></table>")


class AlterPanel:
    """The diff, the consequence, and one button that applies the change when clicked.

    ``apply()`` does the work (alter, or a drop bound to ``report.drop_counts`` and the
    re-declare) and returns the HTML to show afterwards (the updated table card); an error
    it raises is shown, short. With ``safemode``, *Drop and re-declare* asks once more.
    """

    def __init__(self, report: ChangeReport, apply: Callable[[], str]):
        import ipywidgets as widgets

        self.report = report
        self._apply = apply
        self.message = widgets.HTML(value=report_html(report))
        self.result = widgets.HTML(value="")
        label, css_class = (("Apply", "dj-apply-alter") if report.alterable
                            else ("Drop and re-declare", "dj-drop-redeclare"))
        self.button = widgets.Button(description=label,
                                     button_style="warning" if report.alterable else "danger",
                                     tooltip=report.consequence if not report.alterable else
                                     "ALTER the table; rows are kept",
                                     layout=button_layout())
        self.button.layout.align_self = "flex-start"  # not stretched across the panel
        self.button.add_class(css_class)
        self.button.on_click(self._clicked)
        self.confirm = self._confirm_box(widgets)
        self.widget = widgets.VBox([self.message, self.button, self.confirm, self.result])
        self.widget.add_class("dj-alter-panel")

    def _confirm_box(self, widgets: Any) -> Any:
        """safemode's second question for a drop: the rows per table, drop or cancel."""
        tables = len(self.report.drop_counts)
        self.confirm_go = widgets.Button(
            description=f"Drop {tables} table{'s' if tables != 1 else ''} and re-declare",
            button_style="danger", layout=button_layout())
        self.confirm_go.add_class("dj-confirm-drop")
        self.confirm_cancel = widgets.Button(description="Cancel", layout=button_layout())
        self.confirm_cancel.add_class("dj-confirm-cancel")
        self.confirm_go.on_click(self._confirmed)
        self.confirm_cancel.on_click(self._cancelled)
        question = widgets.HTML(value=(
            f'<div class="dj-confirm-question"><b>Drop and re-declare?</b> '
            f"{html.escape(self.report.consequence.partition(': ')[2])}:</div>"
            f"{_drop_counts_html(self.report.drop_counts)}"))
        box = widgets.VBox([question, widgets.HBox([self.confirm_go, self.confirm_cancel])],
                           layout=widgets.Layout(display="none"))
        box.add_class("dj-confirm-box")
        return box

    def _clicked(self, _button: Any = None) -> None:
        if not self.report.alterable and config["safemode"]:
            self.button.layout.display = "none"
            self.confirm.layout.display = None
            return
        self._run()

    def _confirmed(self, _button: Any = None) -> None:
        self.confirm.layout.display = "none"
        self._run()

    def _cancelled(self, _button: Any = None) -> None:
        self.confirm.layout.display = "none"
        self.button.layout.display = None
        self.result.value = '<div class="dj-confirm-cancelled">Cancelled; nothing changed.</div>'

    def _run(self) -> None:
        self.button.disabled = True
        try:
            card = self._apply()
        except ChangedSinceShown as error:
            self.button.layout.display = "none"
            self.result.value = (f'<div class="dj-alter-error">{html.escape(str(error))} '
                                 "Re-run this cell to see the new counts.</div>")
            return
        except DataJointError as error:
            self.result.value = f'<div class="dj-alter-error">{html.escape(str(error))}</div>'
            self.button.disabled = False
            self.button.layout.display = None
            return
        self.button.layout.display = "none"
        self.message.value = report_html(self.report, done=True)
        self.result.value = f'<div class="dj-alter-done">Done.</div>{card}'

    def click(self) -> None:
        """Press the button (what a user's click does)."""
        self.button.click()

    def confirm_drop(self) -> None:
        """Press safemode's *Drop ... and re-declare*."""
        self.confirm_go.click()

    def cancel_drop(self) -> None:
        """Press safemode's *Cancel*."""
        self.confirm_cancel.click()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.widget._repr_mimebundle_(**kwargs) or {}
        return {**bundle, "text/plain": self.report.text(), "text/html": report_html(self.report)}

    def __repr__(self) -> str:
        return self.report.text()
