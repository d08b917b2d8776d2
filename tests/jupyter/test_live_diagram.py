"""A diagram on screen follows the catalogue, and pages rows of a clicked node (Python side)."""

from __future__ import annotations

import gc
import uuid

import pytest

import dj_jupyter as dj

pytest.importorskip("anywidget")
pytest.importorskip("IPython")


from dj_jupyter.catalog.events import (
    CatalogEvent,
    catalog_listener_count,
    publish_catalog,
    subscribe_catalog,
)
from dj_jupyter.jupyter.diagram import widget_for  # noqa: E402


@pytest.fixture
def live(ip):
    """The shell and its schema ``lab``, holding one table, ``Animal``."""
    ip.run_cell_magic("dj_table", "Animal", "animal_id : int32\n---\nname : varchar(16)\n")
    return ip, ip.run_line_magic("dj_schema", "lab")


def _class_names(widget) -> set[str]:
    return {node["class_name"] for node in widget.nodes}


def test_declare_and_drop_redraw_the_widget(live) -> None:
    shell, schema = live
    widget = widget_for(dj.Diagram(schema))
    assert _class_names(widget) == {"Animal"}
    shell.run_cell_magic("dj_table", "Weighing", "-> Animal\nday : int16\n---\ngrams : float64\n")
    assert _class_names(widget) == {"Animal", "Weighing"}
    assert [(e["parent"], e["child"]) for e in widget.edges] == [("lab.animal", "lab.weighing")]
    shell.user_ns["Weighing"].drop(prompt=False)
    assert _class_names(widget) == {"Animal"} and widget.edges == []
    widget.close()


def test_the_diagram_algebra_is_kept(live) -> None:
    shell, schema = live
    widget = widget_for(dj.Diagram(shell.user_ns["Animal"]) + 1)
    shell.run_cell_magic("dj_table", "Housing", "-> Animal\n---\ncage : int16\n")
    shell.run_cell_magic("dj_table", "Food", "food : varchar(8)\n")  # not downstream
    assert _class_names(widget) == {"Animal", "Housing"}
    widget.close()


def test_alter_redraws_the_node_definition(live) -> None:
    shell, schema = live
    widget = widget_for(dj.Diagram(schema))
    shell.magics_manager.registry["DataJointMagics"].widgets = True
    try:
        panel = shell.run_cell_magic(
            "dj_table", "Animal", "animal_id : int32\n---\nname : varchar(16)\nsex = null : "
            "enum('F','M')\n")
        panel.click()
    finally:
        shell.magics_manager.registry["DataJointMagics"].widgets = None
    assert "sex = null" in widget.nodes[0]["definition"]
    widget.close()


def test_other_schemas_do_not_redraw(live) -> None:
    shell, schema = live
    widget = widget_for(dj.Diagram(schema))
    sent = []
    widget.observe(lambda change: sent.append(change), names="nodes")
    shell.run_cell_magic("dj_table", "Elsewhere --schema other", "x : int32\n")
    assert sent == [] and _class_names(widget) == {"Animal"}
    widget.close()


def test_closed_or_collected_widgets_stop_listening(live) -> None:
    _, schema = live
    before = catalog_listener_count()
    widget = widget_for(dj.Diagram(schema))
    assert catalog_listener_count() == before + 1
    widget.close()
    assert catalog_listener_count() == before


def test_listeners_are_held_weakly() -> None:
    class View:
        def __init__(self) -> None:
            self.seen: list = []

        def on_change(self, event) -> None:
            self.seen.append(event.kind)

    before = catalog_listener_count()
    view = View()
    subscribe_catalog(view.on_change)
    publish_catalog(CatalogEvent("declare", "lab", "x"))
    assert view.seen == ["declare"] and catalog_listener_count() == before + 1
    del view
    gc.collect()
    assert catalog_listener_count() == before


def _invoke(widget, name: str, msg: dict) -> dict:
    """Call an anywidget command as the frontend's ``invoke`` does; return its response."""
    sent = []
    widget.comm.send = lambda data=None, buffers=None, **kw: sent.append(data)
    request = {"kind": "anywidget-command", "id": uuid.uuid4().hex, "name": name, "msg": msg}
    widget._handle_custom_msg(request, [])
    replies = [m["content"] for m in sent if m and m.get("method") == "custom"]
    return replies[-1]["response"]


def test_rows_command_pages_a_shown_table(live) -> None:
    shell, schema = live
    shell.user_ns["Animal"].insert([{"animal_id": i, "name": f"a{i}"} for i in range(12)])
    widget = widget_for(dj.Diagram(schema))
    widget.page_size = 5
    first = _invoke(widget, "_rows", {"table": "lab.animal", "offset": 0})
    assert first["total"] == 12 and first["offset"] == 0 and len(first["rows"]) == 5
    assert first["names"] == ["animal_id", "name"] and first["rows"][0] == ["0", "a0"]
    last = _invoke(widget, "_rows", {"table": "lab.animal", "offset": 10})
    assert [row[1] for row in last["rows"]] == ["a10", "a11"]
    refused = _invoke(widget, "_rows", {"table": "lab.~lineage", "offset": 0})
    assert "not a table of this diagram" in refused["error"]
    widget.close()
