"""``DiagramWidget``: the interactive dj.Diagram view (anywidget, dagre layout, SVG).

The widget's state is the diagram's JSON model (nodes, edges, direction, theme); the
drawing is ``static/diagram.js``, with the vendored dagre ESM handed to it as a string.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import anywidget
import traitlets

__all__ = ["DAGRE_VERSION", "DiagramWidget", "diagram_esm", "widget_for"]

DAGRE_VERSION = "3.1.3"
_STATIC = resources.files("dj_jupyter.jupyter") / "static"


@cache
def diagram_esm() -> str:
    """The widget's ES module: the dagre source as a string constant, then diagram.js."""
    dagre = (_STATIC / "vendor" / f"dagre-{DAGRE_VERSION}.mjs").read_text(encoding="utf-8")
    code = (_STATIC / "diagram.js").read_text(encoding="utf-8")
    return f"const DAGRE_SOURCE = {json.dumps(dagre)};\n{code}"


@cache
def diagram_css() -> str:
    return (_STATIC / "diagram.css").read_text(encoding="utf-8")


class DiagramWidget(anywidget.AnyWidget):
    """Draws a diagram model (``Diagram.to_dict()``); set its traits to redraw."""

    _esm = diagram_esm()
    _css = diagram_css()
    nodes = traitlets.List(traitlets.Dict()).tag(sync=True)
    edges = traitlets.List(traitlets.Dict()).tag(sync=True)
    direction = traitlets.Enum(["LR", "TB"], default_value="LR").tag(sync=True)
    theme = traitlets.Enum(["auto", "light", "dark"], default_value="auto").tag(sync=True)

    def show(self, diagram: Any) -> DiagramWidget:
        """Replace the drawing with ``diagram``'s current model."""
        model = diagram.to_dict()
        with self.hold_sync():
            self.nodes, self.edges = model["nodes"], model["edges"]
            self.direction = model["direction"]
        return self


def widget_for(diagram: Any, theme: str | None = None) -> DiagramWidget:
    from dj_jupyter.settings import config

    widget = DiagramWidget(theme=theme or config["display.diagram_theme"])
    return widget.show(diagram)
