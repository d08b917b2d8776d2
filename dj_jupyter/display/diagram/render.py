"""Static renderings of a :class:`~.diagram.Diagram`: Mermaid text and Graphviz DOT.

Both follow the DataJoint conventions: a shape and colour per tier, solid edges for
primary foreign keys and dashed for secondary ones, thick edges for one-to-one,
amber for renamed, no arrowheads, new-dimension labels underlined, clusters per
schema with each master and its parts grouped inside.
"""

from __future__ import annotations

import html
import shutil
from collections import defaultdict
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from dj_jupyter.errors import DataJointError

if TYPE_CHECKING:
    from .model import Diagram, DiagramEdge, DiagramNode

__all__ = ["PALETTES", "RENAMED_COLOR", "dot", "groups", "mermaid", "render", "shown"]

# tier -> (fill, stroke, text)
PALETTES: dict[str, dict[str, tuple[str, str, str]]] = {
    "light": {
        "Schema": ("#F5F5F6", "#6B6D70", "#2A2B2D"),
        "Manual": ("#E8F0E9", "#3E7A52", "#1F3D29"),
        "Lookup": ("#F0F0F1", "#808285", "#3A3B3D"),
        "Computed": ("#FFEDE5", "#FF5113", "#7A2608"),
        "Imported": ("#E0F4FC", "#00A0DF", "#004F6E"),
        "Part": ("#FFFFFF", "#B9BBBE", "#3A3B3D"),
    },
    "dark": {
        "Schema": ("#26272A", "#9A9C9F", "#E4E5E7"),
        "Manual": ("#1E3325", "#6FBF8A", "#D6EEDD"),
        "Lookup": ("#2A2B2E", "#A5A7AA", "#E4E5E7"),
        "Computed": ("#3D1E12", "#FF7A47", "#FFE0D3"),
        "Imported": ("#0F2E3B", "#3CC1F0", "#D3F1FC"),
        "Part": ("#1F2023", "#8A8C90", "#E4E5E7"),
    },
}
RENAMED_COLOR = "#F59E0B"
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


# -- Mermaid --------------------------------------------------------------------------------


def mermaid(diagram: Diagram) -> str:
    nodes, edges = shown(diagram)
    ids = {node.name: f"t{i}" for i, node in enumerate(nodes)}
    lines = [f"flowchart {diagram.direction}"]
    for tier, (fill, stroke, text) in PALETTES["light"].items():
        lines.append(f"    classDef {tier.lower()} fill:{fill},stroke:{stroke},color:{text}")
    for s, (schema, members) in enumerate(groups(diagram, nodes).items()):
        lines.append(f'    subgraph s{s}["{_mermaid_text(schema)}"]')
        for master, nodes in members.items():
            indent = "        "
            if len(nodes) > 1:
                lines.append(f'{indent}subgraph {ids[master]}g[" "]')
                indent += "    "
            for node in nodes:
                lines.append(f"{indent}{_mermaid_node(ids[node.name], node)}")
            if len(nodes) > 1:
                lines.append("        end")
        lines.append("    end")
    renamed = []
    for i, edge in enumerate(edges):
        link = "===" if edge.one_to_one else "---" if edge.primary else "-.-"
        lines.append(f"    {ids[edge.parent]} {link} {ids[edge.child]}")
        if edge.renamed:
            renamed.append(str(i))
    if renamed:
        lines.append(f"    linkStyle {','.join(renamed)} stroke:{RENAMED_COLOR}")
    return "\n".join(lines) + "\n"


def _mermaid_node(node_id: str, node: DiagramNode) -> str:
    label = _mermaid_text(node.class_name)
    if node.new_dimension:
        label = f"<u>{label}</u>"
    left, right = _MERMAID_SHAPES[node.tier]
    return f"{node_id}{left}{label}{right}:::{node.tier.lower()}"


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


# -- Graphviz -------------------------------------------------------------------------------


def dot(diagram: Diagram, theme: str = "light") -> Any:
    """The diagram as a ``graphviz.Digraph``; raises with the fix if Graphviz is missing."""
    graphviz = _graphviz()
    palette = PALETTES.get(theme)
    if palette is None:
        raise DataJointError(f"unknown diagram theme {theme!r}: use 'light' or 'dark'")
    graph = graphviz.Digraph(graph_attr={"rankdir": diagram.direction, "fontname": "Helvetica",
                                         "bgcolor": "transparent", "nodesep": "0.3"},
                             node_attr={"fontname": "Helvetica", "fontsize": "11",
                                        "style": "filled,rounded"},
                             edge_attr={"arrowhead": "none"})
    nodes, edges = shown(diagram)
    for s, (schema, members) in enumerate(groups(diagram, nodes).items()):
        with graph.subgraph(name=f"cluster_{s}") as cluster:
            cluster.attr(label=schema, style="dashed,rounded", color=palette["Lookup"][1],
                         fontcolor=palette["Lookup"][2])
            for m, nodes in enumerate(members.values()):
                if len(nodes) == 1:
                    _dot_node(cluster, nodes[0], palette)
                    continue
                with cluster.subgraph(name=f"cluster_{s}_{m}") as group:
                    group.attr(label="", style="filled,rounded", color="#00000010",
                               fillcolor="#8080801A", rank="same")
                    for node in nodes:
                        _dot_node(group, node, palette)
    for edge in edges:
        graph.edge(edge.parent, edge.child, **_dot_edge_attrs(edge, palette))
    return graph


def _dot_node(graph: Any, node: DiagramNode, palette: dict) -> None:
    fill, stroke, text = palette[node.tier]
    label = html.escape(node.class_name)
    label = f"<<u>{label}</u>>" if node.new_dimension else f"<{label}>"
    small = {"fontsize": "9", "height": "0.2"} if node.tier == "Part" else {}
    graph.node(node.name, label=label, shape=_DOT_SHAPES[node.tier], fillcolor=fill,
               color=stroke, fontcolor=text, tooltip=node.definition, **small)


def _dot_edge_attrs(edge: DiagramEdge, palette: dict) -> dict[str, str]:
    attrs = {"style": "solid" if edge.primary else "dashed",
             "penwidth": "2" if edge.one_to_one else "0.75",
             "color": palette["Lookup"][1]}
    if edge.renamed:
        renames = ", ".join(f"{c} ← {p}" for c, p in edge.attr_map if c != p)
        attrs.update(color=RENAMED_COLOR, tooltip=f"{edge.child} ← {edge.parent} ({renames})")
    return attrs


def render(diagram: Diagram, fmt: str, theme: str = "light") -> bytes:
    """SVG or PNG bytes through the ``dot`` program."""
    graph = dot(diagram, theme)
    return graph.pipe(format=fmt)


def _graphviz() -> Any:
    try:
        import graphviz
    except ImportError:
        raise DataJointError(
            "drawing with Graphviz needs the graphviz package: pip install 'dj-jupyter[notebook]'"
            " (or use make_mermaid(), which needs nothing)") from None
    if shutil.which("dot") is None:
        raise DataJointError(
            "the Graphviz program `dot` is not on PATH: install it (apt-get install graphviz, "
            "brew install graphviz, or conda install graphviz), or use make_mermaid() or the "
            "notebook widget, which need no Graphviz")
    return graphviz
