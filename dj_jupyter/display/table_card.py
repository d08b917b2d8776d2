"""A small HTML card for one table: its definition, row count, parents and children.

Plain HTML styled by ``table_card.css`` (JupyterLab ``--jp-*`` variables, with fallbacks).
Rows and children change after the card is drawn, so the card says when it was taken: a
static card (a saved notebook, GitHub) reads "snapshot at <time>"; the live card
(:class:`~dj_jupyter.jupyter.table_card.TableCardWidget`) redraws itself and has a refresh
button.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone
from functools import cache
from importlib.resources import files
from typing import Any

__all__ = ["table_card_html"]


@cache
def _css() -> str:
    return files(__package__).joinpath("table_card.css").read_text(encoding="utf-8")


def table_card_html(table: Any, taken: datetime | None = None) -> str:
    """The card of a declared table (an instance of a bound table class), marked as a
    snapshot taken at ``taken`` (now by default)."""
    name = html.escape(type(table).__name__)
    tier = html.escape(getattr(table, "_tier", ""))
    rows = [("table", html.escape(table.full_name)),
            ("rows", str(len(table))),
            ("parents", _names([t.full_name for t in table.parents(as_objects=True)])),
            ("children", _names([t.full_name for t in table.children(as_objects=True)]))]
    facts = "".join(f"<dt>{key}</dt><dd>{value}</dd>" for key, value in rows)
    return (f"<style>{_css()}</style>"
            f'<div class="dj-card"><span class="dj-card-title">{name}</span>'
            f'<span class="dj-card-tier">{tier}</span>'
            f"<pre>{html.escape(table.describe())}</pre><dl>{facts}</dl>"
            f"{_snapshot_note(taken or datetime.now(timezone.utc))}</div>")


def _snapshot_note(taken: datetime) -> str:
    stamp = taken.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (f'<div class="dj-card-snapshot" title="rows and children as they were then; '
            f'run the cell again for the current ones">snapshot at {stamp}</div>')


def _names(full_names: list[str]) -> str:
    return html.escape(", ".join(full_names)) if full_names else "—"
