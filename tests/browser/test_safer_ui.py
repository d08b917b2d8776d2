"""Safer destructive actions in a real JupyterLab: the alter panel's diff with a primary-key
change and safemode's question with counts, and a delete confirmed through the widget."""

from __future__ import annotations

import pytest

from tests.browser.harness import Lab, sync_api

expect = sync_api().expect

pytestmark = pytest.mark.browser

SETUP = "%load_ext dj_jupyter\n%dj_schema lab"
ANIMAL = "%%dj_table Animal\nanimal_id : int32\n---\nname : varchar(16)  # what we call it"
VISIT = "%%dj_table Visit\n-> Animal\nday : int16\n---\nnote = '' : varchar(64)"
ROWS = ("Animal.insert([{'animal_id': i, 'name': f'a{i}'} for i in range(5)])\n"
        "Visit.insert([{'animal_id': i, 'day': d} for i in range(3) for d in range(2)])")
ANIMAL_WITH_CAGE = ("%%dj_table Animal\nanimal_id : int32\ncage : int16\n---\n"
                    "name : varchar(16)  # what we call it")

BUTTONS_FIT = """(root) => [...root.querySelectorAll('button')]
    .filter((b) => b.offsetParent !== null)
    .map((b) => [b.textContent, b.scrollWidth <= b.clientWidth + 1])"""


def _labels_fit(panel) -> list[str]:
    """The visible buttons' labels; fails if any is cut off."""
    fits = panel.evaluate(BUTTONS_FIT)
    assert fits and all(fit for _, fit in fits), fits
    return [label for label, _ in fits]


def test_alter_diff_with_a_key_change_asks_with_counts(lab: Lab) -> None:
    lab.open(lab.write_notebook("alter", [SETUP, ANIMAL, VISIT, ROWS, ANIMAL_WITH_CAGE]))
    lab.run_all()
    panel = lab.page.locator(".dj-alter-panel")
    expect(panel).to_have_count(1)
    diff = panel.locator("pre.dj-alter-diff")
    expect(diff.locator(".dj-diff-add")).to_have_text("+ cage : int16 primary key")
    expect(diff.locator(".dj-diff-add .dj-diff-key")).to_be_visible()
    expect(diff.locator(".dj-diff-same")).to_have_count(3)  # the whole definition
    expect(panel.locator(".dj-alter-consequence")).to_have_text(
        "drop and re-declare: 11 rows in 2 tables would be deleted")
    assert _labels_fit(panel) == ["Drop and re-declare"]
    lab.screenshot("diff", panel)

    panel.locator(".dj-drop-redeclare").click()
    box = panel.locator(".dj-confirm-box")
    expect(box).to_be_visible()
    expect(box.locator("td.dj-confirm-count")).to_have_text(["5", "6"])
    assert _labels_fit(panel) == ["Drop 2 tables and re-declare", "Cancel"]
    lab.screenshot("confirm", panel)
    box.locator(".dj-confirm-drop").click()
    expect(panel.locator(".dj-alter-done")).to_have_text("Done.")
    lab.screenshot("done", panel)
    lab.run_new_cell("assert Animal.heading.primary_key == ['animal_id', 'cage']\n"
                     "assert len(Animal()) == 0 and not Visit().is_declared")
    assert lab.page_errors == []


def test_delete_is_confirmed_through_the_widget(lab: Lab) -> None:
    delete = "(Animal & 'animal_id < 2').delete()"
    lab.open(lab.write_notebook("delete", [SETUP, ANIMAL, VISIT, ROWS, delete]))
    lab.run_all()
    panel = lab.page.locator(".dj-confirm-panel")
    expect(panel).to_have_count(1)
    expect(panel.locator(".dj-confirm-question")).to_have_text(
        "Delete these rows? 6 rows in 2 tables would be deleted.")
    expect(panel.locator("td.dj-confirm-count")).to_have_text(["2", "4"])
    assert _labels_fit(panel) == ["Delete 6 rows in 2 tables", "Cancel"]
    lab.screenshot("asked", panel)
    lab.run_new_cell("assert len(Animal()) == 5 and len(Visit()) == 6  # nothing gone yet")

    panel.locator(".dj-confirm-go").click()
    expect(panel.locator(".dj-alter-done")).to_have_text("Deleted 6 rows in 2 tables.")
    expect(panel.locator(".dj-confirm-go")).to_be_hidden()
    lab.screenshot("deleted", panel)
    lab.run_new_cell("assert len(Animal()) == 3 and len(Visit()) == 2")
    assert lab.page_errors == []
