"""The populate panel as static HTML: what a saved notebook shows without a kernel.

Draws the same per-table state the widget draws (``TableWatch.to_dict()``): counts, the bar
with its failed part in red, the summary line and the error groups. Styles are
``populate_panel.css`` beside this module (shared with the widget).
"""

from __future__ import annotations

import html
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["panel_html", "panel_css", "bar_segments", "todo_text", "result_html"]


@cache
def panel_css() -> str:
    return (resources.files("dj_jupyter.display") / "populate_panel.css").read_text(
        encoding="utf-8")


def todo_text(state: dict) -> str:
    """``3 of 30`` while a run does part of what is left, else what is left."""
    target, todo_all = state.get("target"), state.get("todo_all")
    running = state.get("state") in ("running", "stopping")
    if running and target is not None and todo_all is not None and target < todo_all:
        return f"{target} of {todo_all}"
    remaining = state.get("remaining")
    return "" if remaining is None else str(remaining)


def bar_segments(state: dict) -> list[tuple[str, float]]:
    """(kind, percent) of the bar: done, failed, reserved, ignored of the key source."""
    total = state.get("total") or 0
    if not total:
        return []
    jobs = state.get("jobs") or {}
    done = total - (state.get("remaining") or 0)
    parts = [("done", done), ("failed", jobs.get("error", 0)),
             ("reserved", jobs.get("reserved", 0)), ("ignored", jobs.get("ignore", 0))]
    return [(kind, 100.0 * min(n, total) / total) for kind, n in parts if n > 0]


def _table_html(state: dict) -> str:
    e = html.escape
    jobs = state.get("jobs") or {}
    total = state.get("total")
    done = None if total is None else total - (state.get("remaining") or 0)
    bar = "".join(f'<span class="dj-pp-seg dj-pp-{kind}" style="width:{pct:.2f}%"></span>'
                  for kind, pct in bar_segments(state))
    counts = [("to do", todo_text(state)), ("done", done), ("errors", jobs.get("error", 0)),
              ("ignored", jobs.get("ignore", 0)), ("reserved", jobs.get("reserved", 0))]
    cells = "".join(f'<span class="dj-pp-count"><b>{e(str(v))}</b> {e(k)}</span>'
                    for k, v in counts if v is not None and v != "")
    groups = "".join(
        f'<li class="dj-pp-group"><span class="dj-pp-n">{g["count"]}\u00d7</span> '
        f'<span class="dj-pp-msg">{e(g["title"])}</span></li>' for g in state.get("groups", []))
    return (f'<div class="dj-pp-table" data-table="{e(state["name"])}">'
            f'<div class="dj-pp-head"><span class="dj-pp-name">{e(state["name"])}</span>'
            f'{cells}</div><div class="dj-pp-bar">{bar}</div>'
            f'<div class="dj-pp-summary">{e(state.get("summary", ""))}</div>'
            f'{"<ul class=dj-pp-groups>" + groups + "</ul>" if groups else ""}</div>')


def panel_html(tables: list[dict[str, Any]], status: str = "") -> str:
    """The whole panel, with its styles, as one HTML string."""
    body = "".join(_table_html(t) for t in tables)
    return (f"<style>{panel_css()}</style><div class=\"dj-populate-panel dj-pp-static\">"
            f"{body}<div class=\"dj-pp-status\">{html.escape(status)}</div></div>")


def result_html(summary: str, stopped: bool = False) -> str:
    """What ``populate()`` returned, as one line (the dict itself stays the same)."""
    return (f'<div class="dj-populate-result{" dj-pp-stopped" if stopped else ""}">'
            f"{html.escape(summary)}</div>")
