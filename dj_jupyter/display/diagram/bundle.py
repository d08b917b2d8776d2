"""How a :class:`~dj_jupyter.display.diagram.model.Diagram` shows itself in a notebook.

With anywidget installed the diagram is the interactive widget (dagre layout, no
Graphviz needed, redrawn when its schemas change), with an SVG laid out in Python next to
it; otherwise Mermaid text, which JupyterLab renders natively, plus an SVG (Graphviz's when
the ``dot`` program is present, else the Python layout).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

from ...errors import DataJointError
from .svg import diagram_svg

__all__ = ["diagram_mimebundle", "has_widget_support", "static_mimebundle", "use_widget"]

# How the notebook layer draws a diagram as a widget. Set by the package root, which sits
# above both layers; this module never imports the notebook layer.
_widget_factory: list[Callable[[Any], Any]] = []


def use_widget(factory: Callable[[Any], Any]) -> None:
    """Show diagrams as ``factory(diagram)`` (an anywidget) where anywidget is installed."""
    _widget_factory[:] = [factory]


def has_widget_support() -> bool:
    return importlib.util.find_spec("anywidget") is not None


def diagram_mimebundle(diagram: Any, include: Any = None, exclude: Any = None) -> dict:
    if _widget_factory and has_widget_support():
        widget = _widget_factory[0](diagram)
        bundle = widget._repr_mimebundle_(include=include, exclude=exclude)
        if bundle:  # None outside a kernel (no comm): fall through to the static view
            return bundle[0] if isinstance(bundle, tuple) else bundle
        widget.close()  # not shown anywhere: stop it following the catalogue
    return static_mimebundle(diagram)


def static_mimebundle(diagram: Any) -> dict:
    text = diagram.make_mermaid()
    bundle: dict[str, Any] = {
        "text/plain": repr(diagram),
        "text/markdown": f"```mermaid\n{text}```\n",
        "text/vnd.mermaid": text,
    }
    try:
        bundle["image/svg+xml"] = diagram.svg_string()
    except DataJointError:  # no Graphviz: the Python layout
        bundle["image/svg+xml"] = diagram_svg(diagram.to_dict())
    return bundle
