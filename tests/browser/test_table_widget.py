"""The paged table widget in a real JupyterLab: pages turn and columns sort, by real clicks."""

from __future__ import annotations

import pytest

from tests.browser.cells import PIPELINE, SUBJECTS
from tests.browser.harness import Lab, sync_api

expect = sync_api().expect

pytestmark = pytest.mark.browser

SHOW_SUBJECTS = "%load_ext dj_jupyter\ndj.config['display.limit'] = 10\nSubject()"


def _rows_from(count: int, last: int, total: int = 35) -> str:
    return f"rows {count}\u2013{last} of {total}"


def test_paged_table_turns_pages_and_sorts(lab: Lab) -> None:
    lab.open(lab.write_notebook("table", [PIPELINE, SUBJECTS.format(count=35), SHOW_SUBJECTS]))
    lab.run_all()
    widget = lab.page.locator(".dj-table-widget")
    expect(widget).to_have_count(1)
    info = widget.locator(".dj-page-info")
    rows = widget.locator("table.dj-rows tbody tr")
    first_id = rows.first.locator("td").first
    expect(info).to_have_text(_rows_from(1, 10))
    expect(rows).to_have_count(10)
    expect(first_id).to_have_text("0")
    lab.screenshot("first-page", widget)

    widget.locator(".dj-page-next").click()
    expect(info).to_have_text(_rows_from(11, 20))
    expect(first_id).to_have_text("10")
    widget.locator(".dj-page-last").click()
    expect(info).to_have_text(_rows_from(31, 35))
    expect(rows).to_have_count(5)
    lab.screenshot("last-page", widget)
    widget.locator(".dj-page-prev").click()
    expect(info).to_have_text(_rows_from(21, 30))
    widget.locator(".dj-page-first").click()
    expect(info).to_have_text(_rows_from(1, 10))

    key = widget.locator("thead th[data-column='subject_id']")
    expect(key).to_have_attribute("aria-sort", "ascending")
    key.click()
    expect(key).to_have_attribute("aria-sort", "descending")
    expect(first_id).to_have_text("34")
    name = widget.locator("thead th[data-column='name']")
    name.click()
    expect(name).to_have_attribute("aria-sort", "ascending")
    expect(rows.first.locator("td").nth(1)).to_have_text("s000")
    lab.screenshot("sorted-by-name", widget)
    assert lab.page_errors == []
