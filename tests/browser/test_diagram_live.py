"""The diagram on screen stays live: a later ``%%dj_table`` cell adds its node, and clicking
a node shows that table's rows under the diagram, paged."""

from __future__ import annotations

import pytest

from tests.browser.cells import DIAGRAM, NODES, PIPELINE, READ_DIAGRAM, SCHEMA, SUBJECTS
from tests.browser.harness import Lab, sync_api

expect = sync_api().expect

pytestmark = pytest.mark.browser

NOTE_CELL = """%%dj_table Note
-> Session
note: int16
---
text: varchar(64)
"""


def test_a_later_table_cell_adds_a_node_to_the_diagram_on_screen(lab: Lab) -> None:
    cells = [PIPELINE, f"%load_ext dj_jupyter\n%dj_schema {SCHEMA}", DIAGRAM]
    lab.open(lab.write_notebook("live", cells))
    lab.run_all()
    shown = lab.page.locator(".jp-OutputArea-output", has=lab.page.locator(".dj-diagram"))
    expect(shown).to_have_count(1)
    expect(shown.locator("g.dj-node")).to_have_count(len(NODES))
    shown.evaluate("(output) => { output.dataset.testMark = 'first-diagram'; }")
    lab.screenshot("before", shown)

    lab.run_new_cell(NOTE_CELL)
    same = lab.page.locator("[data-test-mark='first-diagram']")
    expect(same.locator("g.dj-node")).to_have_count(len(NODES) + 1, timeout=15_000)
    lab.screenshot("after", same)
    drawn = same.evaluate(READ_DIAGRAM)
    assert [f"{SCHEMA}.note", "dj-tier-manual", "Note"] in drawn["nodes"]
    assert [f"{SCHEMA}.session", f"{SCHEMA}.note"] in drawn["edges"]
    assert lab.page_errors == []


def test_clicking_a_node_shows_its_rows_paged(lab: Lab) -> None:
    cells = [PIPELINE, SUBJECTS.format(count=35), DIAGRAM]
    lab.open(lab.write_notebook("preview", cells))
    lab.run_all()
    lab.page.locator(f".dj-diagram g.dj-node[data-name='{SCHEMA}.subject']").click()
    preview = lab.page.locator(".dj-diagram-preview")
    rows = preview.locator("table.dj-rows tbody tr")
    expect(rows.first).to_be_visible(timeout=15_000)
    first_row = rows.first.inner_text()
    assert "s000" in first_row
    lab.page.mouse.move(0, 0)  # the node's hover card would cover the preview's title
    info = preview.locator(".dj-page-info")
    before = info.inner_text()
    svg_box = lab.page.locator(".dj-diagram svg.dj-diagram-svg").bounding_box()
    assert preview.bounding_box()["y"] >= svg_box["y"] + svg_box["height"] - 1  # under it
    lab.screenshot("rows", lab.page.locator(".jp-OutputArea-output",
                                            has=lab.page.locator(".dj-diagram")))

    preview.locator(".dj-page-next").click()
    expect(info).not_to_have_text(before)
    expect(rows.first).not_to_have_text(first_row)
    lab.screenshot("next-page", preview)
    assert lab.page_errors == []
