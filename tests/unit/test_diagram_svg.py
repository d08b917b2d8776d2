"""The Python-side diagram layout and its SVG: the picture a saved notebook keeps."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from dj_jupyter.display.diagram.svg import diagram_svg, layered_layout
from tests.big_diagram import big_model

SVG = "{http://www.w3.org/2000/svg}"


def _overlap(a, b) -> bool:
    return (abs(a.x - b.x) * 2 < a.width + b.width) and (abs(a.y - b.y) * 2 < a.height + b.height)


def _check_layout(model: dict) -> None:
    placed, width, height = layered_layout(model["nodes"], model["edges"], model["direction"])
    assert set(placed) == {n["name"] for n in model["nodes"]}
    for edge in model["edges"]:
        assert placed[edge["parent"]].rank < placed[edge["child"]].rank
    boxes = list(placed.values())
    for box in boxes:
        assert box.x - box.width / 2 >= 0 and box.x + box.width / 2 <= width
        assert box.y - box.height / 2 >= 0 and box.y + box.height / 2 <= height
    for i, a in enumerate(boxes):
        assert not any(_overlap(a, b) for b in boxes[i + 1:])


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), seed=st.integers(0, 10_000), direction=st.sampled_from(["LR", "TB"]))
def test_layout_places_every_table_apart_with_parents_first(n, seed, direction):
    model = big_model(n, schemas=3, seed=seed)
    model["direction"] = direction
    _check_layout(model)


def test_svg_draws_every_table_edge_and_tier_of_a_300_table_pipeline():
    model = big_model(300)
    root = ET.fromstring(diagram_svg(model))
    nodes = root.findall(f".//{SVG}g[@class='dj-node']")
    assert [g.get("data-name") for g in nodes] == [n["name"] for n in model["nodes"]]
    assert len(root.findall(f".//{SVG}path[@class='dj-edge']")) == len(model["edges"])
    legend = [t.text for t in root.findall(f".//{SVG}g[@class='dj-legend']/{SVG}text")]
    assert legend == [t for t in ("Manual", "Lookup", "Imported", "Computed", "Part")
                      if any(n["tier"] == t for n in model["nodes"])]
    ellipses = root.findall(f".//{SVG}g[@class='dj-node']/{SVG}ellipse")
    assert len(ellipses) == sum(n["tier"] in ("Computed", "Imported") for n in model["nodes"])


def test_svg_escapes_names_and_draws_an_empty_model():
    model = {"direction": "TB", "edges": [], "nodes": [
        {"name": "s.<x>", "schema": "s", "tier": "Manual", "class_name": "A&<B>"}]}
    root = ET.fromstring(diagram_svg(model, theme="dark"))
    assert root.find(f".//{SVG}text").text == "A&<B>"
    assert ET.fromstring(diagram_svg({"nodes": [], "edges": []})).get("width") == "24"
