"""The tutorials run top to bottom in a real JupyterLab, as a reader runs them (Run All).

The getting-started tutorial is also clicked through (a diagram node, the paged table); every
other tutorial is run and its widgets (diagrams, array previews, populate panels) are
screenshotted for the CI artifacts.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.cells import READ_DIAGRAM
from tests.browser.harness import REPO, Lab, sync_api

expect = sync_api().expect

pytestmark = pytest.mark.browser

TUTORIAL = REPO / "notebooks" / "01-getting-started.ipynb"
OTHER_TUTORIALS = sorted(set((REPO / "notebooks").glob("*.ipynb")) - {TUTORIAL})
# the first diagram and preview, the last populate panel (the first is often a table card's)
WIDGETS = {"diagram": (".dj-diagram", 0), "preview": (".dj-array-preview", 0),
           "panel": (".dj-populate-panel", -1)}
PAGE_INFO = re.compile("rows 1\u2013(\\d+) of (\\d+)")
# SessionSummary is declared further down: the diagram on screen grows to show it.
TUTORIAL_NODES = {"tutorial.#species", "tutorial.subject", "tutorial.session",
                  "tutorial.session__trial", "tutorial.__session_summary"}


def test_tutorial_runs_without_error_output(lab: Lab) -> None:
    lab.open(lab.copy_notebook(TUTORIAL))
    lab.run_all()  # fails on any error output
    counts = [cell["count"] for cell in lab.code_cells()]
    assert None not in counts, f"cells left unexecuted: {counts}"
    diagram = lab.page.locator(".dj-diagram").first
    diagram.locator("g.dj-node").first.wait_for()
    lab.screenshot("diagram", diagram)
    drawn = {name for name, _, _ in diagram.evaluate(READ_DIAGRAM)["nodes"]}
    assert TUTORIAL_NODES <= drawn
    assert (lab.folder / ".tutorial-data" / TUTORIAL.stem / "datajoint.db").exists()
    lab.screenshot("page")

    _click_a_node_and_page_its_rows(lab, diagram)
    _turn_a_page_of_the_table_widget(lab)
    assert lab.page_errors == []


@pytest.mark.parametrize("tutorial", OTHER_TUTORIALS, ids=[p.stem for p in OTHER_TUTORIALS])
def test_every_other_tutorial_runs_in_jupyterlab(lab: Lab, tutorial) -> None:
    lab.open(lab.copy_notebook(tutorial))
    lab.run_all()  # fails on any error output
    counts = [cell["count"] for cell in lab.code_cells()]
    assert None not in counts, f"cells left unexecuted: {counts}"
    shown = 0
    for label, (selector, which) in WIDGETS.items():
        widgets = lab.page.locator(selector)
        if widgets.count():
            widget = widgets.nth(which)
            widget.scroll_into_view_if_needed()
            expect(widget).to_be_visible(timeout=15_000)
            lab.screenshot(label, widget)
            shown += 1
    assert shown, f"{tutorial.name} showed none of {sorted(WIDGETS)}"
    assert (lab.folder / ".tutorial-data" / tutorial.stem / "datajoint.db").exists()
    assert lab.page_errors == []


def _click_a_node_and_page_its_rows(lab: Lab, diagram: Any) -> None:
    """The reader clicks Session.Trial: its rows show under the diagram, paged."""
    diagram.locator("g.dj-node[data-name='tutorial.session__trial']").click()
    preview = lab.page.locator(".dj-diagram-preview").first
    rows, info = preview.locator("table.dj-rows tbody tr"), preview.locator(".dj-page-info")
    expect(rows.first).to_be_visible(timeout=15_000)
    expect(info).to_have_text(PAGE_INFO)
    shown, total = (int(n) for n in PAGE_INFO.fullmatch(info.inner_text().strip()).groups())
    assert rows.count() == shown > 0
    lab.page.mouse.move(0, 0)  # no hover card over the rows
    lab.screenshot("trial-rows", diagram)
    if total > shown:
        before = info.inner_text()
        preview.locator(".dj-page-next").click()
        expect(info).not_to_have_text(before)


def _turn_a_page_of_the_table_widget(lab: Lab) -> None:
    """A result longer than a page (``Session.Trial()``) shows as the paged widget."""
    table = lab.page.locator(".dj-table-widget").first
    info = table.locator(".dj-page-info")
    expect(info).to_have_text(PAGE_INFO)
    before = info.inner_text()
    table.locator(".dj-page-next").click()
    expect(info).not_to_have_text(before)
    lab.screenshot("table-widget-page-2", table)
