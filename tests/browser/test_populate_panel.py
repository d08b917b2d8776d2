"""The populate panel in a real JupyterLab: counts and the error group of a populate with
failures (and the cell line in the traceback), Stop of a background populate while another
cell runs, and a worker in another process shown from the job tables."""

from __future__ import annotations

import pytest

from tests.browser.harness import ALL_DONE, ANSI, NOTEBOOK_SECONDS, Lab, sync_api

expect = sync_api().expect
PlaywrightTimeout = sync_api().TimeoutError

pytestmark = pytest.mark.browser

SETUP = "%load_ext dj_jupyter\n%dj_schema lab"
NUMBER = "%%dj_table Number manual\nn: int32"
NUMBERS = "Number.insert([{{'n': n}} for n in range({count})], skip_duplicates=True)"
SQUARE = """%%dj_table Square computed
-> Number
---
sq: int64
# --- python ---
def make(self, key):
    n = key["n"]
    time.sleep({delay})
    if n % 5 == 3:
        raise ValueError(f"unlucky {{n}}: this message is long on purpose, so that it has to wrap "
                         "inside the panel instead of making it scroll sideways " * 2)
    self.insert1({{**key, "sq": n * n}})"""
RAISE_LINE = 10  # the `raise` in the cell above (line 1 is the %%dj_table line)


# (any panel: a Computed table's card carries a panel too, before the one under test)
MADE_AT_LEAST_TWO = ("() => [...document.querySelectorAll('.dj-populate-panel .dj-pp-rate')]"
                     ".some((e) => /^([2-9]|\\d\\d+) made/.test(e.textContent || ''))")


def panel_in(lab: Lab, index: int):
    """The populate panel in the output of code cell ``index`` (0 is the setup cell)."""
    cell = lab.page.locator(".jp-CodeCell").nth(index)
    return cell.locator(".dj-populate-panel")


def test_panel_counts_and_the_error_group_of_a_populate_with_failures(lab: Lab) -> None:
    cells = ["import time", SETUP, NUMBER, NUMBERS.format(count=30),
             SQUARE.format(delay=0.0), "Square.populate(suppress_errors=True)"]
    lab.open(lab.write_notebook("failures", cells))
    lab.run_all()
    panel = panel_in(lab, 6)
    table = panel.locator(".dj-pp-table[data-table='Square']")
    expect(table.locator(".dj-pp-count-done b")).to_have_text("24", timeout=15_000)
    expect(table.locator(".dj-pp-count-errors b")).to_have_text("6")
    expect(table.locator(".dj-pp-count-todo b")).to_have_text("6")
    failed = table.locator(".dj-pp-bar .dj-pp-failed")
    expect(failed).to_have_count(1)
    assert failed.evaluate("(e) => getComputedStyle(e).backgroundColor") == "rgb(214, 45, 45)"
    width = table.locator(".dj-pp-bar").evaluate(  # in one step: redraws replace the bar
        "(bar) => bar.querySelector('.dj-pp-failed').getBoundingClientRect().width"
        " / bar.getBoundingClientRect().width")
    assert width == pytest.approx(6 / 30, abs=0.01)
    summary = "Square: 24 made, 6 failed \u2014 1 kind of error (ValueError \u00d76)"
    expect(table.locator(".dj-pp-summary")).to_have_text(summary)
    result = lab.page.locator(".jp-CodeCell").nth(6).locator(".dj-populate-result")
    expect(result).to_have_text(summary)  # populate's return value, as one line
    group = table.locator(".dj-pp-group")
    expect(group).to_have_count(1)
    expect(group.locator("summary .dj-pp-n")).to_have_text("6\u00d7")
    expect(group.locator("summary .dj-pp-msg")).to_contain_text("ValueError: unlucky #")
    lab.screenshot("panel", panel)
    lab.page.wait_for_function(  # the saved notebook's snapshot: the final state, failed part
        "() => window.djNotebook.content.model.cells.get(6).outputs.toJSON().some((o) => "
        "(o.data || {})['text/html']?.includes('dj-pp-seg dj-pp-failed'))", timeout=15_000)

    group.locator("summary .dj-pp-msg").click()
    cell_line = group.locator(".dj-pp-cell-line")
    expect(cell_line).to_contain_text(f"{RAISE_LINE}  ")
    expect(cell_line).to_contain_text("raise ValueError")
    expect(group.locator(".dj-pp-frame")).to_contain_text(
        f"<%%dj_table Square In[6]>, line {RAISE_LINE}, in make")
    expect(group.locator(".dj-pp-key")).to_have_count(6)
    wrapped = group.locator(".dj-pp-example").evaluate("""(e) => {
      const box = e.getBoundingClientRect();
      const panel = e.closest(".dj-populate-panel").getBoundingClientRect();
      return {lines: box.height / parseFloat(getComputedStyle(e).fontSize),
              inside: box.right <= panel.right, scrolls: e.scrollWidth > e.clientWidth};
    }""")
    assert wrapped["lines"] > 1.8  # the long message wraps onto several lines
    assert wrapped["inside"] and not wrapped["scrolls"]  # no sideways scrolling
    lab.screenshot("error-group", panel)

    group.locator("summary .dj-pp-retry").click()  # Retry the group: back to pending
    expect(table.locator(".dj-pp-count-errors b")).to_have_text("0", timeout=15_000)
    expect(table.locator(".dj-pp-group")).to_have_count(0)
    assert lab.page_errors == []


def test_a_failing_table_cell_make_shows_the_cell_line_in_its_traceback(lab: Lab) -> None:
    cells = ["import time", SETUP, NUMBER, NUMBERS.format(count=5), SQUARE.format(delay=0.0),
             "Square.populate()"]
    lab.open(lab.write_notebook("traceback", cells))
    lab.page.evaluate("async () => { window.jupyterapp.shell.activateById(window.djNotebook.id);"
                      " await window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    lab.page.wait_for_function(ALL_DONE, timeout=NOTEBOOK_SECONDS * 1000, polling=200)
    outputs = lab.code_cells()[-1]["outputs"]
    errors = [o for o in outputs if o["output_type"] == "error"]
    assert [e["ename"] for e in errors] == ["ValueError"]
    traceback = ANSI.sub("", "\n".join(errors[0]["traceback"]))
    assert "<%%dj_table Square In[6]>" in traceback and f":{RAISE_LINE}" in traceback
    assert 'raise ValueError(f"unlucky {n}' in traceback
    assert "Could not get source" not in traceback
    assert "populate.py" not in traceback  # populate's own frames are hidden
    shown = lab.page.locator(".jp-CodeCell").nth(6).locator(".jp-OutputArea-output").last
    expect(shown).to_contain_text("raise ValueError")
    lab.screenshot("traceback", shown)


def test_stop_a_background_populate_while_another_cell_runs(lab: Lab) -> None:
    # 80 keys of 0.5 s: the run cannot end by itself while the test looks (a loaded machine)
    cells = ["import time", SETUP, NUMBER, NUMBERS.format(count=80), SQUARE.format(delay=0.5),
             "panel = dj.PopulatePanel(Square)\npanel"]
    lab.open(lab.write_notebook("stop", cells))
    lab.run_all()
    panel = panel_in(lab, 6)
    expect(panel.locator(".dj-pp-count-todo b")).to_have_text("80", timeout=15_000)
    panel.locator(".dj-pp-start").click()
    rate = panel.locator(".dj-pp-rate")
    expect(rate).to_contain_text(" made", timeout=15_000)
    expect(panel.locator(".dj-pp-stop")).to_be_enabled()
    lab.page.wait_for_function(MADE_AT_LEAST_TWO, timeout=60_000)
    lab.screenshot("running", panel)

    lab.run_new_cell("print('meanwhile', len(Number()), panel.running)")
    meanwhile = lab.code_cells()[-1]["outputs"][0]["text"]
    assert meanwhile.strip() == "meanwhile 80 True"  # the kernel ran it during the populate

    panel.locator(".dj-pp-stop").click()
    summary = panel.locator(".dj-pp-summary")
    expect(summary).to_contain_text("stopped", timeout=30_000)
    expect(summary).to_contain_text("left to do")
    expect(panel.locator(".dj-pp-start")).to_be_enabled()
    lab.run_new_cell("print(len(Square()) + len(Square.jobs.errors), len(Square.jobs.reserved))")
    made, reserved = lab.code_cells()[-1]["outputs"][0]["text"].split()
    assert 2 <= int(made) < 80 and reserved == "0"
    lab.screenshot("stopped", panel)
    assert lab.page_errors == []


REMOTE = '''import dj_jupyter as dj
import time

schema = dj.Schema("lab")


@schema
class Number(dj.Manual):
    definition = "n: int32"


@schema
class Slow(dj.Computed):
    definition = """
    -> Number
    ---
    sq: int64
    """

    def make_fetch(self, key):
        return key["n"],

    def make_compute(self, key, n):
        time.sleep(120)
        return n * n,

    def make_insert(self, key, sq):
        self.insert1({**key, "sq": sq})
'''

START_WORKER = '''import pathlib, subprocess, sys
pathlib.Path("remote_pipe.py").write_text({remote!r})
import remote_pipe
remote_pipe.Number.insert([{{"n": n}} for n in range(3)], skip_duplicates=True)
database = repr(dj.config["database.path"])
script = ("import dj_jupyter as dj; dj.config['database.path'] = " + database
          + "; import remote_pipe; remote_pipe.Slow.populate(reserve_jobs=True, max_calls=1)")
worker = subprocess.Popen([sys.executable, "-c", script])
print(worker.pid)'''


def test_a_worker_in_another_process_shows_in_the_panel(lab: Lab) -> None:
    cells = [START_WORKER.format(remote=REMOTE),
             "panel = dj.PopulatePanel(remote_pipe.Slow)\npanel"]
    lab.open(lab.write_notebook("remote", cells))
    try:
        lab.run_all()
        pid = lab.code_cells()[1]["outputs"][0]["text"].strip()
        panel = panel_in(lab, 2)
        worker = panel.locator(".dj-pp-worker")
        expect(worker).to_have_count(1, timeout=30_000)  # polled while the panel is on screen
        cells_text = worker.locator("td").all_inner_texts()
        assert cells_text[1] == pid and cells_text[2] == "1"
        expect(panel.locator(".dj-pp-count-reserved b")).to_have_text("1")
        expect(worker.locator("td").nth(4)).to_contain_text("ago")
        lab.screenshot("remote-worker", panel)
    finally:
        lab.run_new_cell("worker.kill(); worker.wait()")


def test_a_kernel_interrupt_of_populate_prints_one_line(lab: Lab) -> None:
    cells = ["import time", SETUP, NUMBER, NUMBERS.format(count=300), SQUARE.format(delay=0.3),
             "Square.populate(suppress_errors=True)"]
    lab.open(lab.write_notebook("interrupt", cells))
    lab.page.evaluate("() => { window.jupyterapp.shell.activateById(window.djNotebook.id);"
                      " window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    panel = panel_in(lab, 6)
    expect(panel.locator(".dj-pp-rate")).to_contain_text(" made", timeout=60_000)
    lab.page.wait_for_function(MADE_AT_LEAST_TWO, timeout=60_000)
    for _ in range(10):  # an interrupt sent while the kernel sets up a subshell can be lost
        lab.page.evaluate("() => window.djNotebook.sessionContext.session.kernel.interrupt()")
        try:
            lab.page.wait_for_function(ALL_DONE, timeout=5_000, polling=200)
            break
        except PlaywrightTimeout:  # still running: interrupt again
            continue
    lab.page.wait_for_function(ALL_DONE, timeout=NOTEBOOK_SECONDS * 1000, polling=200)
    outputs = lab.code_cells()[-1]["outputs"]
    errors = [o for o in outputs if o["output_type"] == "error"]
    assert len(errors) == 1, [(o["output_type"], str(o)[:300]) for o in outputs]
    lines = ANSI.sub("", "\n".join(errors[0]["traceback"])).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "PopulateInterrupted: Square.populate interrupted: ")
    assert "rolled back, the remaining keys are still to do" in lines[0]
    expect(panel.locator(".dj-pp-summary")).to_contain_text("interrupted", timeout=15_000)
    lab.screenshot("interrupted", lab.page.locator(".jp-CodeCell").nth(6))


def test_start_on_the_card_of_a_computed_table(lab: Lab) -> None:
    cells = ["import time", SETUP, NUMBER, NUMBERS.format(count=10), SQUARE.format(delay=0.0)]
    lab.open(lab.write_notebook("card", cells))
    lab.run_all()
    output = lab.page.locator(".jp-CodeCell").nth(5)
    expect(output.locator(".dj-pp-card .dj-card-title")).to_have_text("Square")
    panel = output.locator(".dj-populate-panel")
    expect(panel.locator(".dj-pp-count-todo b")).to_have_text("10")
    panel.locator(".dj-pp-start").click()
    expect(panel.locator(".dj-pp-count-done b")).to_have_text("8", timeout=30_000)
    expect(panel.locator(".dj-pp-count-errors b")).to_have_text("2")
    expect(panel.locator(".dj-pp-summary")).to_have_text(
        "Square: 8 made, 2 failed \u2014 1 kind of error (ValueError \u00d72)")
    lab.screenshot("card", output.locator(".jp-OutputArea"))
    assert lab.page_errors == []
