"""A static SVG of a diagram model, laid out in Python (no Graphviz, no browser).

The picture a saved notebook, GitHub or nbviewer shows where the live widget cannot run:
a layered (Sugiyama-style) layout — ranks by longest path from the roots, order within a
rank by a few barycenter sweeps — drawn with the DataJoint tier colours and edge styles
(dashed secondary, thick one-to-one, amber renamed) and a legend of the tiers shown.
With a ``status`` in the model (table -> done/total/reserved/error counts, as the live widget
last read it) each auto-populated node carries its progress ring and red error badge too.
"""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from .render import PALETTES, RENAMED_COLOR

__all__ = ["Placed", "layered_layout", "diagram_svg", "status_svg"]

CHAR_WIDTH = 7.0
NODE_HEIGHT = {"normal": 28.0, "part": 22.0}
NODE_GAP = 14.0
RANK_GAP = 48.0
MARGIN = 12.0
SWEEPS = 4
TIER_ORDER = ("Manual", "Lookup", "Imported", "Computed", "Part")
_ELLIPSE_TIERS = {"Computed", "Imported"}


@dataclass
class Placed:
    """A node's box: centre ``(x, y)``, ``width`` and ``height``, and its layer ``rank``."""

    x: float
    y: float
    width: float
    height: float
    rank: int


def _size(node: dict) -> tuple[float, float]:
    kind = "part" if node.get("tier") == "Part" else "normal"
    width = max(48.0, len(node.get("class_name") or node["name"]) * CHAR_WIDTH + 24)
    return width, NODE_HEIGHT[kind]


def _ranks(names: list[str], parents: dict[str, list[str]],
           children: dict[str, list[str]]) -> dict[str, int]:
    """Longest path from a root (Kahn's order); nodes on a cycle, never in a valid schema,
    keep rank 0."""
    waiting = {name: len(parents[name]) for name in names}
    rank = dict.fromkeys(names, 0)
    ready = [name for name in names if waiting[name] == 0]
    while ready:
        name = ready.pop()
        for child in children[name]:
            rank[child] = max(rank[child], rank[name] + 1)
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    return rank


def _order(layers: list[list[str]], parents: dict[str, list[str]],
           children: dict[str, list[str]]) -> list[list[str]]:
    """Reduce crossings: sort each layer by the mean position of its neighbours, both ways."""
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        sequence = range(1, len(layers)) if downward else range(len(layers) - 2, -1, -1)
        for i in sequence:
            reference = layers[i - 1] if downward else layers[i + 1]
            where = {name: k for k, name in enumerate(reference)}
            neighbours = parents if downward else children
            current = {name: k for k, name in enumerate(layers[i])}

            def centre(name: str, where: dict = where, neighbours: dict = neighbours,
                       current: dict = current) -> float:
                seen = [where[n] for n in neighbours[name] if n in where]
                return sum(seen) / len(seen) if seen else float(current[name])

            layers[i] = sorted(layers[i], key=centre)
    return layers


def layered_layout(nodes: list[dict], edges: list[dict],
                   direction: str = "LR") -> tuple[dict[str, Placed], float, float]:
    """Boxes for ``nodes`` (dicts with ``name``, ``tier``, ``class_name``), and the width and
    height of the drawing; edges run from a lower rank to a higher one."""
    names = [node["name"] for node in nodes]
    shown = set(names)
    parents: dict[str, list[str]] = defaultdict(list)
    children: dict[str, list[str]] = defaultdict(list)
    for edge in edges:
        if edge["parent"] in shown and edge["child"] in shown and edge["parent"] != edge["child"]:
            parents[edge["child"]].append(edge["parent"])
            children[edge["parent"]].append(edge["child"])
    rank = _ranks(names, parents, children)
    layers: list[list[str]] = [[] for _ in range(max(rank.values(), default=-1) + 1)]
    for name in names:
        layers[rank[name]].append(name)
    layers = _order(layers, parents, children)
    sizes = {node["name"]: _size(node) for node in nodes}
    across_of = 1 if direction == "LR" else 0  # LR: ranks go right, a layer stacks downwards
    placed: dict[str, Placed] = {}
    along = MARGIN
    extent = 0.0
    for r, layer in enumerate(layers):
        depth = max((sizes[n][1 - across_of] for n in layer), default=0.0)
        across = MARGIN
        for name in layer:
            width, height = sizes[name]
            size_across = (width, height)[across_of]
            centre_across = across + size_across / 2
            centre_along = along + depth / 2
            x, y = ((centre_along, centre_across) if direction == "LR"
                    else (centre_across, centre_along))
            placed[name] = Placed(x, y, width, height, r)
            across += size_across + NODE_GAP
        extent = max(extent, across - NODE_GAP + MARGIN)
        along += depth + RANK_GAP
    length = along - RANK_GAP + MARGIN if layers else 2 * MARGIN
    width, height = (length, extent) if direction == "LR" else (extent, length)
    return placed, max(width, 2 * MARGIN), max(height, 2 * MARGIN)


def _edge_path(parent: Placed, child: Placed, direction: str) -> str:
    if direction == "LR":
        x1, y1, x2, y2 = parent.x + parent.width / 2, parent.y, child.x - child.width / 2, child.y
        mid = (x1 + x2) / 2
        return f"M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
    x1, y1, x2, y2 = parent.x, parent.y + parent.height / 2, child.x, child.y - child.height / 2
    mid = (y1 + y2) / 2
    return f"M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}"


RING_RADIUS = 7.0
_RING_COLOURS = {"done": "#2e9e5b", "running": "#2f7fd8", "track": "#c9cbce", "error": "#d32f2f"}


def _arc(cx: float, cy: float, start: float, fraction: float, colour: str) -> str:
    """A ring segment of ``fraction`` of the circle, beginning ``start`` of the way round."""
    if fraction <= 0:
        return ""
    length = 100 * min(fraction, 1.0)
    return (f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{RING_RADIUS}" fill="none" '
            f'stroke="{colour}" stroke-width="3" pathLength="100" '
            f'stroke-dasharray="{length:.2f} {100 - length:.2f}" '
            f'stroke-dashoffset="{25 - 100 * start:.2f}"/>')


def status_svg(status: dict, box: Placed, background: str) -> str:
    """The progress ring (done, then running, of the key source) at the node's top-left
    corner and, when keys failed, a red badge with their count at its top-right."""
    total = max(int(status.get("total", 0)), 1)
    done = min(1.0, status.get("done", 0) / total)
    running = min(1.0 - done, status.get("reserved", 0) / total)
    cx, cy = box.x - box.width / 2 + 2, box.y - box.height / 2 + 2
    failed = int(status.get("error", 0))
    title = html.escape(f"{status.get('done', 0)} of {status.get('total', 0)} done"
                        + (f", {status['reserved']} running" if status.get("reserved") else "")
                        + (f", {failed} failed" if failed else ""))
    parts = [f'<g class="dj-status"><title>{title}</title>',
             f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{RING_RADIUS + 2.5}" fill="{background}"/>',
             f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{RING_RADIUS}" fill="none" '
             f'stroke="{_RING_COLOURS["track"]}" stroke-width="3"/>',
             _arc(cx, cy, 0, done, _RING_COLOURS["done"]),
             _arc(cx, cy, done, running, _RING_COLOURS["running"])]
    if failed:
        label = "999+" if failed > 999 else str(failed)
        width = max(16.0, len(label) * 6.5 + 8)
        bx, by = box.x + box.width / 2 - 4, box.y - box.height / 2 + 1
        parts.append(f'<g class="dj-error-badge"><rect x="{bx - width / 2:.1f}" '
                     f'y="{by - 8:.1f}" width="{width:.1f}" height="16" rx="8" '
                     f'fill="{_RING_COLOURS["error"]}" stroke="{background}"/>'
                     f'<text x="{bx:.1f}" y="{by:.1f}" dy="0.35em" text-anchor="middle" '
                     f'font-size="10" font-weight="700" fill="#ffffff">{label}</text></g>')
    parts.append("</g>")
    return "".join(parts)


def _node_svg(node: dict, box: Placed, palette: dict[str, tuple[str, str, str]]) -> str:
    tier = node.get("tier", "")
    fill, stroke, text = palette.get(tier, palette["Lookup"])
    w, h = box.width, box.height
    if tier in _ELLIPSE_TIERS:
        shape = (f'<ellipse cx="{box.x:.1f}" cy="{box.y:.1f}" rx="{w / 2:.1f}" ry="{h / 2:.1f}" '
                 f'fill="{fill}" stroke="{stroke}"/>')
    else:
        radius = 4 if tier == "Part" else 7
        shape = (f'<rect x="{box.x - w / 2:.1f}" y="{box.y - h / 2:.1f}" width="{w:.1f}" '
                 f'height="{h:.1f}" rx="{radius}" fill="{fill}" stroke="{stroke}"/>')
    label = html.escape(node.get("class_name") or node["name"])
    size = 10.5 if tier == "Part" else 12
    underline = ' text-decoration="underline"' if node.get("new_dimension") else ""
    title = html.escape(f"{node['name']} ({tier})")
    return (f'<g class="dj-node" data-name="{html.escape(node["name"])}"><title>{title}</title>'
            f"{shape}<text x=\"{box.x:.1f}\" y=\"{box.y:.1f}\" dy=\"0.35em\" "
            f'text-anchor="middle" font-size="{size}" fill="{text}"{underline}>{label}</text></g>')


def _edge_svg(edge: dict, placed: dict[str, Placed], direction: str, colour: str) -> str:
    stroke = RENAMED_COLOR if edge.get("renamed") else colour
    dash = "" if edge.get("primary", True) else ' stroke-dasharray="5 4"'
    width = 2.5 if edge.get("one_to_one") else 1
    path = _edge_path(placed[edge["parent"]], placed[edge["child"]], direction)
    return (f'<path class="dj-edge" d="{path}" fill="none" stroke="{stroke}" '
            f'stroke-width="{width}"{dash}/>')


def _legend_svg(tiers: list[str], palette: dict, y: float, text_colour: str) -> str:
    parts, x = [], MARGIN
    for tier in tiers:
        fill, stroke, _ = palette[tier]
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="14" height="10" rx="2" '
                     f'fill="{fill}" stroke="{stroke}"/><text x="{x + 18:.1f}" y="{y + 9:.1f}" '
                     f'font-size="11" fill="{text_colour}">{tier}</text>')
        x += 26 + len(tier) * 6.5
    return f'<g class="dj-legend">{"".join(parts)}</g>'


def diagram_svg(model: dict[str, Any], theme: str = "light") -> str:
    """An SVG document of a diagram model (``Diagram.to_dict()``), laid out in Python."""
    nodes = model.get("nodes", [])
    direction = model.get("direction", "LR")
    names = {node["name"] for node in nodes}
    edges = [e for e in model.get("edges", []) if e["parent"] in names and e["child"] in names
             and e["parent"] != e["child"]]
    placed, width, height = layered_layout(nodes, edges, direction)
    palette = PALETTES["dark" if theme == "dark" else "light"]
    background, ink, line = (("#111111", "#E4E5E7", "#8A8C90") if theme == "dark"
                             else ("#FFFFFF", "#1F1F1F", "#9A9C9F"))
    tiers = [t for t in TIER_ORDER if any(n.get("tier") == t for n in nodes)]
    legend_height = 22.0 if tiers else 0.0
    total_height = height + legend_height
    body = [_edge_svg(e, placed, direction, line) for e in edges]
    body += [_node_svg(n, placed[n["name"]], palette) for n in nodes]
    status = model.get("status") or {}
    body += [status_svg(status[n["name"]], placed[n["name"]], background)
             for n in nodes if n["name"] in status]
    legend = _legend_svg(tiers, palette, height + 4, ink) if tiers else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="dj-diagram-static" '
            f'width="{width:.0f}" height="{total_height:.0f}" '
            f'viewBox="0 0 {width:.0f} {total_height:.0f}" '
            f'font-family="system-ui, -apple-system, Segoe UI, sans-serif">'
            f'<rect width="100%" height="100%" fill="{background}"/>'
            f'{"".join(body)}{legend}</svg>')
