"""The table card stays true as rows and children change: the live card redraws on catalogue
changes and on its refresh button; its saved HTML says it is a snapshot and when it was taken."""

from __future__ import annotations

import re

import pytest

import dj_jupyter as dj

pytest.importorskip("anywidget")

from dj_jupyter.jupyter.magics import TableCard  # noqa: E402
from dj_jupyter.jupyter.table_card import TableCardWidget  # noqa: E402

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _facts(html: str) -> dict[str, str]:
    return dict(re.findall(r"<dt>(\w+)</dt><dd>([^<]*)</dd>", html))


def test_card_follows_rows_and_children(db_url, schema_name):
    connection = dj.Connection(db_url)
    schema = dj.Schema(schema_name, connection=connection)

    @schema
    class Mouse(dj.Manual):
        definition = """
        mouse: int32
        """

    card = TableCardWidget(Mouse)
    assert _facts(card.html)["rows"] == "0" and _facts(card.html)["children"] == "—"
    assert "snapshot at" in card.html

    Mouse.insert([{"mouse": i} for i in range(3)])
    card._on_message(card, {"refresh": True}, [])  # the refresh button
    assert _facts(card.html)["rows"] == "3"

    @schema
    class Weighing(dj.Manual):  # declaring a child redraws the card by itself
        definition = """
        -> Mouse
        day: int16
        """

    assert Weighing().full_name in _facts(card.html)["children"]
    card.close()
    connection.close()


def test_card_bundle_keeps_the_snapshot_next_to_the_widget(ip):
    card = ip.run_cell_magic("dj_table", "Rat", "rat : int32\n")
    assert isinstance(card, TableCard)
    data, _ = card._repr_mimebundle_()
    assert WIDGET_MIME in data and "snapshot at" in data["text/html"]
    assert "object at 0x" not in data["text/plain"] and "Rat" in data["text/plain"]
