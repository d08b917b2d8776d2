"""DataFrames from ``to_pandas()`` as a notebook shows them: array cells as the same shape,
dtype and size badges as table displays (:mod:`.cells`), not truncated numpy reprs.

``to_pandas()`` names each column's codec in ``frame.attrs`` (:data:`CODECS_ATTR`); only a
frame so marked is drawn here, and only for display: the frame code gets is not changed.
Everything else is pandas' own HTML, with its display options (rows, columns shown).
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from ..query.fetch import CODECS_ATTR
from .cells import ARRAY_CODECS, value_summary
from .html import array_cell_html, rows_css

__all__ = ["CODECS_ATTR", "frame_html"]

_TOKEN = "\u27e6dj-cell-{}\u27e7"  # stands for a badge inside pandas' escaped HTML


def frame_html(frame: Any) -> str | None:
    """HTML of a marked DataFrame with its array cells as badges; None when it is not
    marked or has none of its array columns left (pandas' own HTML serves then)."""
    codecs = frame.attrs.get(CODECS_ATTR) if isinstance(frame, pd.DataFrame) else None
    if not isinstance(codecs, dict):
        return None
    names = [n for n, codec in codecs.items() if codec in ARRAY_CODECS and n in frame.columns]
    if not names:
        return None
    shown = _shown_rows(frame)
    badges: list[str] = []

    def badge(value: Any) -> str:
        summary = value_summary(value)
        if summary is None:
            return "NULL" if value is None else str(value)
        badges.append(array_cell_html(summary))
        return _TOKEN.format(len(badges) - 1)

    shown = shown.assign(**{n: shown[n].map(badge) for n in names})
    text = shown.to_html(max_rows=len(shown) + 1, max_cols=pd.get_option("display.max_columns"),
                         show_dimensions=False, classes="dataframe dj-frame")
    for index, cell in enumerate(badges):
        text = text.replace(html.escape(_TOKEN.format(index)), cell, 1)
        text = text.replace(_TOKEN.format(index), cell, 1)
    return f"<style>{rows_css()}</style>{text}{_dimensions(frame, shown)}"


def _shown_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows pandas would show: all, or the head and tail of a long frame."""
    most = pd.get_option("display.max_rows")
    if most is None or len(frame) <= most:
        return frame
    half = max(1, (pd.get_option("display.min_rows") or most) // 2)
    return pd.concat([frame.head(half), frame.tail(half)])


def _dimensions(frame: pd.DataFrame, shown: pd.DataFrame) -> str:
    note = f"{len(frame)} rows × {len(frame.columns)} columns"
    if len(shown) < len(frame):
        note += f" (first and last {len(shown) // 2} shown)"
    return f"<p>{html.escape(note)}</p>"
