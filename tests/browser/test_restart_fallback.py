"""Restart survival by default: a notebook saved WITHOUT widget state ("Save Widget State
Automatically" off, JupyterLab's default) and reopened after a kernel restart, nothing run,
shows every widget output's static picture (the lab extension's renderer for the widget-view
mime type, labextension/src/fallback.ts) marked as a snapshot, never "model not found"; run
again, each output hands over to its live widget. In JupyterLab and in Notebook 7."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.cells import DIAGRAM, PIPELINE, SUBJECTS
from tests.browser.harness import (
    CLOSE_ALL,
    VIEWPORT,
    Lab,
    load_jupyterlab,
    notebook_json,
    start_server,
)

pytestmark = pytest.mark.browser

SHOW_SUBJECTS = "%load_ext dj_jupyter\n%dj_schema pipe\ndj.config['display.limit'] = 10\nSubject()"
CARD = "%%dj_table Probe\nprobe: int32\n---\nlabel: varchar(16)\n"
PREVIEW = "import numpy as np\ndj.preview(np.sin(np.linspace(0, 6, 200)))"
CELLS = [PIPELINE, SUBJECTS.format(count=35), SHOW_SUBJECTS, DIAGRAM, CARD, PREVIEW]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
NOTE = "static snapshot — run the cell to make it live"
SAVE = "async () => { await window.djNotebook.context.save(); }"
RESTART = "async () => { await window.djNotebook.sessionContext.session.kernel.restart(); }"
# What each widget output shows: its snapshot's picture kind, or 'live' (and any error text).
READ_OUTPUTS = """() => [...document.querySelectorAll('.jp-OutputArea-output')]
  .filter(o => o.matches('.dj-widget-output, .jupyter-widgets'))
  .map(o => {
    const snap = o.querySelector(':scope > .dj-static-snapshot');
    const pic = snap && (snap.querySelector('table') ? 'table'
      : snap.querySelector('svg, img') ? 'picture'
      : snap.querySelector('.dj-card') ? 'card' : 'empty');
    const note = snap && snap.querySelector('.dj-static-snapshot-note');
    const live = o.querySelector(':scope > :not(.dj-static-snapshot):not(.dj-widget-pending) > *');
    return {snapshot: pic, note: note ? note.innerText : null, text: o.innerText, live: !!live};
  })"""


def _saved_outputs(path: Path) -> list[dict]:
    saved = json.loads(path.read_text())
    assert "widgets" not in saved["metadata"]  # no widget state: only the outputs travel
    return [out["data"] for cell in saved["cells"] for out in cell["outputs"]
            if WIDGET_MIME in out.get("data", {})]


def _assert_snapshots(shown: list[dict], saved: list[dict]) -> None:
    assert len(shown) == len(saved) == 4  # table, diagram, card, preview
    for output in shown:
        assert "model not found" not in output["text"] and "Error displaying" not in output["text"]
        assert output["snapshot"] in {"table", "picture", "card"}, output
        assert output["note"] == NOTE
    assert shown[0]["snapshot"] == "table" and shown[1]["snapshot"] == "picture"


def test_reopened_after_restart_without_widget_state_shows_every_snapshot(lab: Lab) -> None:
    path = lab.write_notebook("restart", CELLS)
    lab.open(path)
    lab.run_all()
    lab.page.locator(".dj-table-widget").wait_for()
    lab.page.locator(".dj-diagram g.dj-node").first.wait_for()
    live = lab.page.evaluate(READ_OUTPUTS)
    assert len(live) == 4 and all(o["live"] and o["snapshot"] is None for o in live), live
    lab.page.evaluate(SAVE)
    saved = _saved_outputs(lab.server.root / path)

    lab.page.evaluate(RESTART)
    lab.page.evaluate(CLOSE_ALL)
    load_jupyterlab(lab.page, lab.server)
    lab.open(path)  # a fresh kernel; nothing is run
    snapshots = lab.page.locator(".dj-static-snapshot")
    snapshots.nth(3).wait_for()
    lab.page.wait_for_timeout(1500)  # the widget manager has answered "not found" by now
    shown = lab.page.evaluate(READ_OUTPUTS)
    lab.screenshot("reopened")
    for index, name in enumerate(["table", "diagram", "card", "preview"]):
        lab.screenshot(f"snapshot-{name}", snapshots.nth(index))
    _assert_snapshots(shown, saved)
    assert lab.code_cells()[3]["count"] is not None  # the saved outputs, not a new run

    lab.run_all()  # live again: each output hands over to its widget
    lab.page.locator(".dj-table-widget").wait_for()
    lab.page.locator(".dj-diagram g.dj-node").first.wait_for()
    lab.page.wait_for_function("() => !document.querySelector('.dj-static-snapshot')")
    assert all(o["live"] for o in lab.page.evaluate(READ_OUTPUTS))
    lab.screenshot("live-again", lab.page.locator(".dj-table-widget"))


# --- Notebook 7 ------------------------------------------------------------------------------

NB7_PANEL = """async () => {
  const app = window.jupyterapp;
  await app.started;
  await app.restored;
  const panel = app.shell.currentWidget;
  await panel.context.ready;
  await panel.sessionContext.ready;
  window.djNotebook = panel;
}"""
NB7_DONE = """() => {
  const panel = window.djNotebook;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel || kernel.status !== "idle") return false;
  const cells = panel.content.model.cells;
  for (let i = 0; i < cells.length; i++) {
    if (cells.get(i).type === "code" && cells.get(i).executionCount === null) return false;
  }
  return true;
}"""


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    pytest.importorskip("notebook")
    server = start_server(tmp_path_factory.mktemp("restart-nb7"), app="notebook")
    server.wait_until_up()
    yield server
    server.stop()  # its kernels stop with it


def test_notebook7_reopened_after_restart_without_widget_state_shows_every_snapshot(
        notebook7: Any, chromium: Any, screenshot_dir: Path) -> None:
    database = notebook7.root / "nb7.db"
    setup = f"import dj_jupyter as dj\ndj.config['database.path'] = {str(database)!r}"
    (notebook7.root / "nb7.ipynb").write_text(json.dumps(notebook_json([setup, *CELLS])))
    url = f"{notebook7.url}/notebooks/nb7.ipynb?token={notebook7.token}"
    context = chromium.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(url)
        page.wait_for_function("window.jupyterapp !== undefined")
        page.evaluate(NB7_PANEL)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(NB7_DONE, polling=200)
        page.locator(".dj-diagram g.dj-node").first.wait_for()
        page.evaluate(SAVE)
        saved = _saved_outputs(notebook7.root / "nb7.ipynb")
        page.evaluate(RESTART)
        page.goto(url)  # reopened; nothing run
        page.wait_for_function("window.jupyterapp !== undefined")
        page.evaluate(NB7_PANEL)
        page.locator(".dj-static-snapshot").nth(3).wait_for()
        page.wait_for_timeout(1500)
        shown = page.evaluate(READ_OUTPUTS)
        for index, name in enumerate(["table", "diagram"]):
            snapshot = page.locator(".dj-static-snapshot").nth(index)
            snapshot.scroll_into_view_if_needed()
            snapshot.screenshot(path=str(screenshot_dir / f"notebook7_restart--{name}.png"))
        _assert_snapshots(shown, saved)
    finally:
        context.close()
