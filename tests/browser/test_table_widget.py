"""The paged table widget in a real JupyterLab: pages turn and columns sort, by real clicks."""

from __future__ import annotations

import pytest

from tests.browser.cells import PIPELINE, SUBJECTS
from tests.browser.harness import Lab, sync_api

expect = sync_api().expect

pytestmark = pytest.mark.browser

SHOW_SUBJECTS = "%load_ext dj_jupyter\ndj.config['display.limit'] = 10\nSubject()"


def _rows_from(count: int | str, last: int | str, total: int | str = 35) -> str:
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


LARGE = 100_000


def test_paged_table_jumps_to_a_middle_page_of_a_large_table(lab: Lab) -> None:
    """The page box jumps to page 5,001 of 10,000 (the kernel seeks from its position
    anchors); the rows shown are the rows at that place, and the count fills in by itself."""
    lab.open(lab.write_notebook("large", [PIPELINE, SUBJECTS.format(count=LARGE),
                                          SHOW_SUBJECTS]))
    lab.run_all()
    widget = lab.page.locator(".dj-table-widget")
    expect(widget).to_have_count(1)
    info = widget.locator(".dj-page-info")
    pages = widget.locator(".dj-page-count")
    rows = widget.locator("table.dj-rows tbody tr")
    expect(info).to_have_text(_rows_from(1, 10, "100,000"), timeout=60_000)  # counted
    expect(pages).to_have_text(" of 10,000")
    jump = widget.locator(".dj-page-jump")
    jump.fill("5001")
    jump.press("Enter")
    expect(info).to_have_text(_rows_from("50,001", "50,010", "100,000"))
    expect(rows).to_have_count(10)
    ids = [rows.nth(i).locator("td").first.inner_text() for i in range(10)]
    names = [rows.nth(i).locator("td").nth(1).inner_text() for i in range(10)]
    assert ids == [str(50_000 + i) for i in range(10)]
    assert names == [f"s{50_000 + i:03d}" for i in range(10)]
    expect(jump).to_have_value("5001")
    lab.screenshot("middle-page-of-100000", widget)
    widget.locator(".dj-page-next").click()  # and on from there, by keyset
    expect(info).to_have_text(_rows_from("50,011", "50,020", "100,000"))
    expect(rows.first.locator("td").first).to_have_text("50010")
    assert lab.page_errors == []
