"""The rows a preview shows: the first ``display.limit`` rows, blob-like values not fetched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..settings import config


@dataclass(frozen=True)
class Preview:
    names: list[str]
    key: set[str]
    comments: dict[str, str]
    rows: list[list[str]]
    total: int
    more: bool


def placeholder(attribute) -> str | None:
    """What a preview shows instead of a value that is not fetched."""
    if attribute.codec:
        return f"<{attribute.codec}>"
    if attribute.family in ("bytes", "json"):
        return attribute.family
    return None


def take_preview(query: Any, limit: int | None = None) -> Preview:
    heading = query.heading
    limit = limit or config["display.limit"]
    shown = {n: placeholder(heading[n]) for n in heading.names}
    fetched = [n for n, p in shown.items() if p is None]
    if fetched:
        from ..core.fetch import rows

        _, columns = rows(query, fetched, order_by="KEY" if heading.primary_key else None,
                          limit=limit + 1)
        values = dict(zip(fetched, columns))
        count = len(columns[0]) if columns else 0
    else:
        values, count = {}, min(len(query), limit + 1)
    table = []
    for position in range(min(count, limit)):
        table.append([shown[n] if shown[n] is not None else _text(values[n][position])
                      for n in heading.names])
    total = len(query) if count > limit else count
    return Preview(heading.names, set(heading.primary_key),
                   {n: heading[n].comment for n in heading.names}, table, total, count > limit)


def _text(value: Any) -> str:
    if value is None:
        return "NULL"
    return str(value)
