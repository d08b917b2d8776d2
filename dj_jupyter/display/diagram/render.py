"""Static renderings of a :class:`~.diagram.Diagram`: Mermaid text and Graphviz DOT.

Both follow the DataJoint 2.x conventions: a shape and colour per tier, solid edges for
primary foreign keys and dashed for secondary ones, line weight for cardinality (thick when
the foreign key is the child's whole primary key, thin otherwise), amber for renamed, no
arrowheads, new-dimension labels underlined, a cluster per schema with each master and its
parts in an entity cluster (parts labelled by their own name there). An edge between two
folded schemas (``collapse()``) is a bundle of foreign keys and claims none of their
properties: always solid and thick. ``make_dot`` gives a ``pydot.Dot`` as DataJoint's does;
the ``auto`` theme is the light one plus a ``prefers-color-scheme: dark`` style block
(:func:`adaptive_style`) that recolours the SVG where the viewer is dark.
"""

from __future__ import annotations

import html
import shutil
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from dj_jupyter.errors import DataJointError

if TYPE_CHECKING:
    from .model import Diagram, DiagramEdge, DiagramNode

__all__ = ["PALETTES", "RENAMED_COLOR", "THEMES", "Theme", "adaptive_style", "dot", "groups",
           "is_bundle", "label_of", "mermaid", "node_ids", "render", "shown", "svg", "theme_of"]

# tier -> (fill, stroke, text); "Schema" is a folded schema's node
PALETTES: dict[str, dict[str, tuple[str, str, str]]] = {
    "light": {
        "Schema": ("#F5F5F6", "#6B6D70", "#2A2B2D"),
        "Manual": ("#E8F0E9", "#3E7A52", "#1F3D29"),
        "Lookup": ("#F0F0F1", "#808285", "#3A3B3D"),
        "Computed": ("#FFEDE5", "#FF5113", "#7A2608"),
        "Imported": ("#E0F4FC", "#00A0DF", "#004F6E"),
        "Part": ("#FFFFFF", "#B9BBBE", "#3A3B3D"),
    },
    "dark": {  # DataJoint 2.x's dark palette
        "Schema": ("#242730", "#8890A0", "#C7CDD6"),
        "Manual": ("#16281F", "#6BBF94", "#BCE6CF"),
        "Lookup": ("#242832", "#9DA0A4", "#C9CFD9"),
        "Computed": ("#331B12", "#FF7A47", "#FFC7AE"),
        "Imported": ("#0F2433", "#33B8E8", "#BEE7F9"),
        "Part": ("#1E232C", "#8F959D", "#C9CFD9"),
    },
}


@dataclass(frozen=True)
class Theme:
    """The colours of one diagram theme (the tier palette and the rest)."""

    palette: dict[str, tuple[str, str, str]]
    background: str | None  # None: transparent
    edge: str
    renamed: str  # a renamed foreign key's edge
    entity_fill: str  # behind a master and its parts


THEMES: dict[str, Theme] = {
    "light": Theme(PALETTES["light"], None, "#171C39", "#C77D3A", "#F2F4F7"),
    "dark": Theme(PALETTES["dark"], "#161A21", "#AEB6C2", "#D68C4A", "#2A313D"),
}
RENAMED_COLOR = THEMES["light"].renamed
_MERMAID_SHAPES = {"Schema": ('[["', '"]]'), "Manual": ('("', '")'), "Lookup": ('("', '")'),
                   "Part": ('("', '")'),
                   "Computed": ('(["', '"])'), "Imported": ('(["', '"])')}
_DOT_SHAPES = {"Schema": "box3d", "Manual": "box", "Lookup": "box", "Part": "box",
               "Computed": "ellipse", "Imported": "ellipse"}


def shown(diagram: Diagram) -> tuple[list[DiagramNode], list[DiagramEdge]]:
    """The nodes and edges to draw: folded tables (``collapse()``) as one node per schema,
    a cascade's or trace's row counts in the labels."""
    all_nodes = diagram.nodes
    folded: defaultdict[str, int] = defaultdict(int)
    for node in all_nodes:
        if node.folded:
            folded[node.schema] += 1
    nodes, owner = [], {}
    for node in all_nodes:
        if not node.folded:
            owner[node.name] = node.name
            label = node.class_name if node.rows is None else f"{node.class_name} ({node.rows})"
            nodes.append(replace(node, class_name=label))
            continue
        owner[node.name] = key = f"{node.schema}.*"
        if not any(n.name == key for n in nodes):
            nodes.append(replace(node, name=key, table="", tier="Schema", master=None,
                                 new_dimension=False, rows=None, definition="",
                                 class_name=f"{node.schema} ({folded[node.schema]} tables)"))
    edges, seen = [], set()
    for edge in diagram.edges:
        parent, child = owner[edge.parent], owner[edge.child]
        if parent == child or ("*" in parent + child and (parent, child) in seen):
            continue
        seen.add((parent, child))
        edges.append(replace(edge, parent=parent, child=child))
    return nodes, edges


def groups(diagram: Diagram, nodes: list[DiagramNode] | None = None
           ) -> dict[str, dict[str, list[DiagramNode]]]:
    """schema -> master (or the table itself) -> [master, parts...], in topological order."""
    result: dict[str, dict[str, list[DiagramNode]]] = defaultdict(dict)
    for node in diagram.nodes if nodes is None else nodes:
        result[node.schema].setdefault(node.master or node.name, []).append(node)
    return result


# -- shared ---------------------------------------------------------------------------------


def label_of(node: DiagramNode, grouped: bool) -> str:
    """A node's label: a part drawn in its master's entity cluster by its own name."""
    if grouped and node.tier == "Part":
        return node.class_name.rpartition(".")[2]
    return node.class_name


def is_bundle(edge: DiagramEdge, tiers: dict[str, str]) -> bool:
    """An edge between two folded schemas: it stands for many foreign keys."""
    return tiers.get(edge.parent) == "Schema" and tiers.get(edge.child) == "Schema"


# -- Mermaid --------------------------------------------------------------------------------


def mermaid(diagram: Diagram) -> str:
    nodes, edges = shown(diagram)
    ids = {node.name: f"t{i}" for i, node in enumerate(nodes)}
    tiers = {node.name: node.tier for node in nodes}
    theme = THEMES["light"]
    lines = [f"flowchart {diagram.direction}"]
    for tier, (fill, stroke, text) in theme.palette.items():
        lines.append(f"    classDef {tier.lower()} fill:{fill},stroke:{stroke},color:{text}")
    for s, (schema, members) in enumerate(groups(diagram, nodes).items()):
        lines.append(f'    subgraph s{s}["{_mermaid_text(schema)}"]')
        for master, nodes in members.items():
            indent = "        "
            grouped = len(nodes) > 1
            if grouped:
                lines.append(f'{indent}subgraph entity_{ids[master]}[" "]')
                indent += "    "
            for node in nodes:
                lines.append(f"{indent}{_mermaid_node(ids[node.name], node, grouped)}")
            if grouped:
                lines.append("        end")
        lines.append("    end")
    styles = []
    for i, edge in enumerate(edges):
        bundle = is_bundle(edge, tiers)
        link = "===" if edge.one_to_one or bundle else "---" if edge.primary else "-.-"
        lines.append(f"    {ids[edge.parent]} {link} {ids[edge.child]}")
        colour = theme.renamed if edge.renamed and not bundle else theme.edge
        width = "2px" if edge.one_to_one or bundle else "1px"
        styles.append(f"    linkStyle {i} stroke:{colour},stroke-width:{width}")
    return "\n".join(lines + styles) + "\n"


def _mermaid_node(node_id: str, node: DiagramNode, grouped: bool) -> str:
    label = _mermaid_text(label_of(node, grouped))
    if node.new_dimension:
        label = f"<u>{label}</u>"
    left, right = _MERMAID_SHAPES[node.tier]
    return f"{node_id}{left}{label}{right}:::{node.tier.lower()}"


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


# -- Graphviz -------------------------------------------------------------------------------


def theme_of(name: str | None) -> tuple[str, Theme]:
    """``(name, colours)`` of a theme; ``None`` reads ``display.diagram_theme``; ``auto`` is
    drawn light (:func:`svg` adds the dark override)."""
    from dj_jupyter.settings import config

    name = (name or config["display.diagram_theme"]).lower()
    theme = THEMES.get("light" if name == "auto" else name)
    if theme is None:
        raise DataJointError(f"unknown diagram theme {name!r}: use 'light', 'dark' or 'auto'")
    return name, theme


def dot(diagram: Diagram, theme: str | None = None) -> Any:
    """The diagram as a ``pydot.Dot``; raises with the fix if pydot or Graphviz is missing."""
    pydot = _pydot()
    _, colours = theme_of(theme)
    palette = colours.palette
    graph = pydot.Dot(graph_type="digraph", rankdir=diagram.direction, fontname="Helvetica",
                      bgcolor=colours.background or "transparent", nodesep="0.3")
    graph.set_node_defaults(fontname="Helvetica", fontsize="11")
    graph.set_edge_defaults(arrowhead="none")
    nodes, edges = shown(diagram)
    ids = node_ids(nodes)
    # every node is declared at the top (``get_nodes()`` lists them all, as DataJoint's) and
    # named again inside its schema's cluster and its master's entity cluster
    clusters = []
    for s, (schema, members) in enumerate(groups(diagram, nodes).items()):
        cluster = pydot.Cluster(f"schema_{s}", label=schema, style="dashed,rounded",
                                color=palette["Lookup"][1], fontcolor=palette["Lookup"][2],
                                fontname="Helvetica")
        for m, group in enumerate(members.values()):
            grouped = len(group) > 1
            for node in group:
                graph.add_node(_dot_node(pydot, ids[node.name], node, palette, grouped))
            if not grouped:
                cluster.add_node(pydot.Node(ids[group[0].name]))
                continue
            entity = pydot.Cluster(f"entity_{s}_{m}", label="", style="filled,rounded",
                                   color=colours.entity_fill, fillcolor=colours.entity_fill,
                                   rank="same")
            for node in group:
                entity.add_node(pydot.Node(ids[node.name]))
            cluster.add_subgraph(entity)
        clusters.append(cluster)
    for cluster in clusters:
        graph.add_subgraph(cluster)
    tiers = {node.name: node.tier for node in nodes}
    for edge in edges:
        graph.add_edge(pydot.Edge(ids[edge.parent], ids[edge.child],
                                  **_dot_edge_attrs(edge, colours, is_bundle(edge, tiers))))
    return graph


def node_ids(nodes: list[DiagramNode]) -> dict[str, str]:
    """Full name -> the DOT node id: the class name (a folded schema: its name), or the full
    name where two shown tables share a class name."""
    wanted = {node.name: node.schema if node.tier == "Schema" else node.class_name
              for node in nodes}
    taken: defaultdict[str, int] = defaultdict(int)
    for name in wanted.values():
        taken[name] += 1
    return {full: name if taken[name] == 1 else full for full, name in wanted.items()}


def _dot_node(pydot: Any, node_id: str, node: DiagramNode, palette: dict, grouped: bool) -> Any:
    fill, stroke, text = palette[node.tier]
    label = html.escape(label_of(node, grouped))
    label = f"<<u>{label}</u>>" if node.new_dimension else f"<{label}>"
    small = {"fontsize": "9", "height": "0.2"} if node.tier == "Part" else {}
    rounded = node.tier in ("Manual", "Lookup", "Part")
    return pydot.Node(node_id, label=label, shape=_DOT_SHAPES[node.tier], fillcolor=fill,
                      color=stroke, fontcolor=text, style="filled,rounded" if rounded else "filled",
                      tooltip=node.definition or node.class_name, **small)


def _dot_edge_attrs(edge: DiagramEdge, colours: Theme, bundle: bool) -> dict[str, str]:
    if bundle:
        return {"style": "solid", "penwidth": "2", "color": colours.edge}
    attrs = {"style": "solid" if edge.primary else "dashed",
             "penwidth": "2" if edge.one_to_one else "0.75", "color": colours.edge}
    if edge.renamed:
        renames = ", ".join(f"{c} ← {p}" for c, p in edge.attr_map if c != p)
        attrs.update(color=colours.renamed, tooltip=f"{edge.child} ← {edge.parent} ({renames})")
    return attrs


def adaptive_style() -> str:
    """A ``<style>`` block that recolours a light-theme SVG for a viewer in dark mode: each
    light colour maps to one dark colour (fills, text and strokes; checked by a test)."""
    light, dark = THEMES["light"], THEMES["dark"]
    fills: dict[str, str] = {}
    strokes: dict[str, str] = {}
    for tier, (fill, stroke, text) in light.palette.items():
        dark_fill, dark_stroke, dark_text = dark.palette[tier]
        fills.update({fill: dark_fill, text: dark_text})
        strokes[stroke] = dark_stroke
    fills[light.entity_fill] = strokes[light.entity_fill] = dark.entity_fill
    strokes.update({light.edge: dark.edge, light.renamed: dark.renamed})
    rules = [f"svg {{ background-color: {dark.background}; }}"]
    rules += [f'[fill="{a.lower()}"] {{ fill: {b}; }}' for a, b in fills.items()]
    rules += [f'[stroke="{a.lower()}"] {{ stroke: {b}; }}' for a, b in strokes.items()]
    body = "\n".join("  " + rule for rule in rules)
    return f"<style>\n@media (prefers-color-scheme: dark) {{\n{body}\n}}\n</style>"


def svg(diagram: Diagram, theme: str | None = None) -> str:
    """The SVG through Graphviz; ``auto`` is light with :func:`adaptive_style` inside."""
    name, _ = theme_of(theme)
    text = dot(diagram, "light" if name == "auto" else name).create_svg().decode()
    if name != "auto":
        return text
    at = text.find(">", text.find("<svg")) + 1
    return text[:at] + "\n" + adaptive_style() + text[at:]


def render(diagram: Diagram, fmt: str, theme: str | None = None) -> bytes:
    """SVG or PNG bytes through the ``dot`` program."""
    if fmt == "svg":
        return svg(diagram, theme).encode()
    return dot(diagram, theme).create(format=fmt)


def _pydot() -> Any:
    try:
        import pydot
    except ImportError:
        raise DataJointError(
            "drawing with Graphviz needs the pydot package: pip install 'dj-jupyter[notebook]'"
            " (or use make_mermaid(), which needs nothing)") from None
    if shutil.which("dot") is None:
        raise DataJointError(
            "the Graphviz program `dot` is not on PATH: install it (apt-get install graphviz, "
            "brew install graphviz, or conda install graphviz), or use make_mermaid() or the "
            "notebook widget, which need no Graphviz")
    return pydot
