"""dj.Diagram in a real JupyterLab: the right nodes and edges, and the JupyterLab theme."""

from __future__ import annotations

import pytest

from tests.big_diagram import big_model
from tests.browser.cells import DIAGRAM, EDGES, NODES, PIPELINE, READ_DIAGRAM
from tests.browser.harness import DARK, Lab

pytestmark = pytest.mark.browser

MANUAL_SHAPE = "g.dj-tier-manual .dj-shape"
SHAPE_STYLE = """(shape) => {
  const style = getComputedStyle(shape);
  return {fill: style.fill, stroke: style.stroke};
}"""


def _run_pipeline_with_diagram(lab: Lab) -> None:
    lab.open(lab.write_notebook("pipeline", [PIPELINE, DIAGRAM]))
    lab.run_all()
    lab.page.locator(".dj-diagram g.dj-node").first.wait_for()


def test_diagram_draws_each_table_and_foreign_key(lab: Lab) -> None:
    _run_pipeline_with_diagram(lab)
    diagram = lab.page.locator(".dj-diagram")
    lab.screenshot("diagram", diagram)
    drawn = lab.page.evaluate(READ_DIAGRAM, None)
    assert {name: (tier, label) for name, tier, label in drawn["nodes"]} == NODES
    assert len(drawn["nodes"]) == len(NODES)
    assert sorted(map(tuple, drawn["edges"])) == sorted(EDGES)
    assert lab.page_errors == []


def test_diagram_drawn_under_the_dark_theme_is_dark(lab: Lab) -> None:
    _run_pipeline_with_diagram(lab)
    light_diagram = lab.page.locator(".dj-diagram").first
    assert light_diagram.get_attribute("data-theme") == "light"
    light = light_diagram.locator(MANUAL_SHAPE).first.evaluate(SHAPE_STYLE)
    lab.screenshot("light", light_diagram)

    lab.change_theme(DARK)
    lab.run_new_cell(DIAGRAM)  # the same schema drawn again, now under the dark theme
    dark_diagram = lab.page.locator(".dj-diagram").nth(1)
    dark_diagram.locator("g.dj-node").first.wait_for()
    assert dark_diagram.get_attribute("data-theme") == "dark"
    dark = dark_diagram.locator(MANUAL_SHAPE).first.evaluate(SHAPE_STYLE)
    lab.screenshot("dark", dark_diagram)
    lab.screenshot("dark-page")
    assert dark["fill"] != light["fill"] and dark["stroke"] != light["stroke"]
    background = dark_diagram.evaluate("(e) => getComputedStyle(e).backgroundColor")
    assert _brightness(background) < 80, background


def test_diagram_on_screen_follows_a_theme_switch(lab: Lab) -> None:
    _run_pipeline_with_diagram(lab)
    diagram = lab.page.locator(".dj-diagram")
    light = diagram.locator(MANUAL_SHAPE).first.evaluate(SHAPE_STYLE)
    lab.change_theme(DARK)
    lab.screenshot("after-switch", diagram)
    lab.page.locator(".dj-diagram[data-theme='dark']").wait_for(timeout=3_000)
    dark = diagram.locator(MANUAL_SHAPE).first.evaluate(SHAPE_STYLE)
    assert dark["fill"] != light["fill"]


def _brightness(css_colour: str) -> float:
    """Mean of the red, green and blue channels of ``rgb(r, g, b)``/``rgba(...)``."""
    channels = css_colour[css_colour.index("(") + 1:css_colour.index(")")].split(",")[:3]
    return sum(float(c) for c in channels) / 3


BIG_DIAGRAM = """from dj_jupyter.jupyter.diagram import DiagramWidget
from tests.big_diagram import big_model

model = big_model(300)
big = DiagramWidget(nodes=model["nodes"], edges=model["edges"])
big"""
SCALE = "(e) => parseFloat(e.querySelector('.dj-viewport').dataset.scale)"


def test_300_table_diagram_is_searched_and_zoomed_in_jupyterlab(lab: Lab) -> None:
    lab.open(lab.write_notebook("big", [BIG_DIAGRAM]))
    lab.run_all()
    diagram = lab.page.locator(".dj-diagram")
    diagram.locator("g.dj-node").first.wait_for()
    assert diagram.locator("g.dj-node").count() == 300
    fitted = diagram.evaluate(SCALE)
    lab.screenshot("fitted", diagram)

    target = next(n for n in big_model(300)["nodes"][123:] if n["tier"] != "Part")
    diagram.locator(".dj-search").fill(target["class_name"])
    diagram.locator(".dj-search").press("Enter")
    found = diagram.locator(".dj-node.dj-found")
    assert found.count() == 1 and found.get_attribute("data-name") == target["name"]
    assert diagram.evaluate(SCALE) == 1 > fitted
    view = diagram.locator(".dj-viewport").bounding_box()
    node = found.bounding_box()
    assert abs(node["x"] + node["width"] / 2 - (view["x"] + view["width"] / 2)) < 2
    found.hover()
    tip = diagram.locator(".dj-node-tooltip")
    assert tip.is_visible() and target["class_name"] in tip.inner_text()
    lab.screenshot("found", diagram)

    diagram.locator(".dj-zoom-in").click()
    assert diagram.evaluate(SCALE) == 1.25
    lab.page.mouse.move(view["x"] + 50, view["y"] + 50)
    lab.page.mouse.wheel(0, 400)
    assert diagram.evaluate(SCALE) < 1.25
    diagram.locator(".dj-fit").click()
    assert diagram.evaluate(SCALE) == fitted
    assert lab.page_errors == []
