"""dj.Diagram in a real JupyterLab: the right nodes and edges, and the JupyterLab theme."""

from __future__ import annotations

import pytest

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
