"""Job status on the live diagram in a real JupyterLab: the nodes of a pipeline turn from
pending to done (and to failed, with a red badge) when a later cell populates, clicking the
badge lists the table's errors (Retry puts them back), a key reserved on another connection
shows as running while the view polls, and the polling stops once nothing is in flight; a
cascade diagram counts rows per table and a collapsed schema folds into one node."""

from __future__ import annotations

import re

import pytest

from tests.browser.harness import Lab, sync_api

expect = sync_api().expect

pytestmark = pytest.mark.browser

SETUP = "%load_ext dj_jupyter\n%dj_schema lab"
NUMBER = "%%dj_table Number manual\nn: int32"
NUMBERS = "Number.insert([{'n': n} for n in range(10)])"
SQUARE = """%%dj_table Square computed
-> Number
---
sq: int64
# --- python ---
def make(self, key):
    if key["n"] % 5 == 3:
        raise ValueError(f"unlucky {key['n']}")
    self.insert1({**key, "sq": key["n"] ** 2})"""
DOUBLE = """%%dj_table Double computed
-> Number
---
twice: int64
# --- python ---
def make(self, key):
    self.insert1({**key, "twice": 2 * key["n"]})"""
DIAGRAM = "dj.Diagram(Number) + 1"
POPULATE = ("Double.populate()\n"
            "Square.populate(reserve_jobs=True, suppress_errors=True, display_progress=False)\n"
            "None")


RESERVE_ELSEWHERE = """from dj_jupyter.populate.jobs import JobQueue
Number.insert([{'n': 10}, {'n': 11}])
Square.jobs.refresh()
elsewhere = dj.Connection(f"sqlite:///{dj.config['database.path']}")
queue = JobQueue(dj.FreeTable(elsewhere, 'lab.__square'))
assert queue.reserve({'n': 10})"""
RELEASE_ELSEWHERE = "import time\ntime.sleep(2)\nqueue.release({'n': 10})"


def state(name: str) -> re.Pattern:
    return re.compile(rf"(^|\s)dj-status-{name}(\s|$)")


def test_nodes_turn_from_pending_to_done_and_failed_and_the_badge_opens_errors(lab: Lab) -> None:
    lab.open(lab.write_notebook("status", [SETUP, NUMBER, NUMBERS, SQUARE, DOUBLE, DIAGRAM]))
    lab.run_all()
    diagram = lab.page.locator(".jp-OutputArea-output", has=lab.page.locator(".dj-diagram"))
    expect(diagram).to_have_count(1)
    diagram.evaluate("(output) => { output.dataset.testMark = 'status-diagram'; }")
    square = diagram.locator(".dj-node[data-name='lab.__square']")
    double = diagram.locator(".dj-node[data-name='lab.__double']")
    expect(square).to_have_class(state("pending"))
    expect(double).to_have_attribute("data-total", "10")
    expect(double).to_have_attribute("data-done", "0")
    assert diagram.locator(".dj-node[data-name='lab.number'] .dj-status").count() == 0
    assert square.locator(".dj-error-badge").count() == 0
    lab.screenshot("pending", diagram)

    lab.run_new_cell(POPULATE)
    shown = lab.page.locator("[data-test-mark='status-diagram']")
    double = shown.locator(".dj-node[data-name='lab.__double']")
    square = shown.locator(".dj-node[data-name='lab.__square']")
    expect(double).to_have_attribute("data-done", "10", timeout=15_000)
    expect(double).to_have_class(state("done"))
    expect(square).to_have_attribute("data-done", "8")
    expect(square).to_have_class(state("failed"))
    badge = square.locator(".dj-error-badge")
    expect(badge.locator("text")).to_have_text("2")
    assert badge.locator("rect").evaluate("(r) => getComputedStyle(r).fill") == \
        "rgb(211, 47, 47)"
    widget = shown.locator(".dj-diagram").locator("xpath=..")
    expect(widget).to_have_attribute("data-dj-polling", "0")  # nothing in flight: no polling

    square.locator(".dj-label").hover()
    expect(shown.locator(".dj-tooltip-status")).to_have_text("8 of 10 done · 2 failed")
    lab.screenshot("done-and-failed", shown)

    badge.click()
    preview = shown.locator(".dj-diagram-preview")
    expect(preview.locator(".dj-preview-title")).to_contain_text("Square: 2 failed keys")
    group = preview.locator(".dj-error-group")
    expect(group).to_have_count(1)
    expect(group.locator(".dj-error-count")).to_have_text("2\u00d7")
    expect(group.locator(".dj-error-title")).to_have_text("ValueError: unlucky #")
    expect(group.locator(".dj-error-keys")).to_contain_text('{"n":3}')
    expect(group.locator(".dj-error-trace")).to_contain_text("raise ValueError")
    lab.screenshot("errors", shown)

    # a worker on another connection reserves a key: ↻ reads it, the ring shows it running
    # and the view polls until the reservation is gone, then stops
    lab.run_new_cell(RESERVE_ELSEWHERE)
    shown.locator(".dj-status-refresh").click()
    expect(square).to_have_attribute("data-running", "1", timeout=15_000)
    expect(square).to_have_class(state("failed"))  # failures still count first
    expect(widget).to_have_attribute("data-dj-polling", "1")
    expect(square.locator(".dj-ring-running")).to_have_count(1)
    lab.screenshot("running", shown)
    lab.run_new_cell(RELEASE_ELSEWHERE)
    expect(square).to_have_attribute("data-running", "0", timeout=15_000)
    expect(square).to_have_attribute("data-total", "12")
    expect(widget).to_have_attribute("data-dj-polling", "0", timeout=15_000)
    reads = int(widget.get_attribute("data-dj-status-reads"))
    lab.page.wait_for_timeout(3000)  # idle: no more reads
    assert int(widget.get_attribute("data-dj-status-reads")) == reads

    # Retry of the group from the list: its keys go back to pending, the badge goes
    group.locator(".dj-error-retry").click()
    expect(preview.locator(".dj-error-hint")).to_have_text("put back to pending: 2 keys")
    expect(preview.locator(".dj-error-group")).to_have_count(0)
    expect(square.locator(".dj-error-badge")).to_have_count(0)
    expect(square).to_have_class(state("pending"))
    lab.screenshot("retried", shown)
    assert lab.page_errors == []


def test_cascade_counts_and_a_collapsed_schema_draw(lab: Lab) -> None:
    cells = [SETUP, NUMBER, NUMBERS, SQUARE, DOUBLE,
             "Double.populate()\nSquare.populate(suppress_errors=True)\nNone",
             "dj.Diagram.cascade(Number & 'n < 4')",
             "(dj.Diagram(Number) + 1).collapse() + dj.Diagram(Double)"]
    lab.open(lab.write_notebook("cascade", cells))
    lab.run_all()
    outputs = lab.page.locator(".jp-OutputArea-output", has=lab.page.locator(".dj-diagram"))
    expect(outputs).to_have_count(2)
    cascade, folded = outputs.nth(0), outputs.nth(1)
    labels = cascade.locator(".dj-node .dj-label")
    expect(labels).to_have_count(3, timeout=15_000)
    texts = labels.evaluate_all("(all) => all.map((e) => e.textContent)")
    assert sorted(texts) == ["Double (4)", "Number (4)", "Square (3)"]
    lab.screenshot("cascade", cascade)
    expect(folded.locator(".dj-node")).to_have_count(2)
    expect(folded.locator(".dj-node.dj-tier-schema .dj-label")).to_have_text("lab (2)")
    expect(folded.locator(".dj-node[data-name='lab.__double']")).to_have_count(1)
    lab.screenshot("collapsed", folded)
    assert lab.page_errors == []
