"""A saved notebook travels: reopened after a kernel restart without running anything, its
diagram and its paged table still show in JupyterLab (from the widget state saved with it), and
the same .ipynb rendered as static HTML, as nbviewer and GitHub do (nbconvert, no widget state),
shows the diagram as a picture and the table's first page as a table (the static fallback in
each output's mime bundle)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.cells import DIAGRAM, NODES, PIPELINE, SUBJECTS
from tests.browser.harness import (
    CLOSE_ALL,
    VIEWPORT,
    Lab,
    load_jupyterlab,
    notebook_json,
    start_server,
)

pytestmark = pytest.mark.browser

SHOW_SUBJECTS = "%load_ext dj_jupyter\ndj.config['display.limit'] = 10\nSubject()"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_SETTINGS = "@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings"
SAVE = "async () => { await window.djNotebook.context.save(); }"
RESTART = "async () => { await window.djNotebook.sessionContext.session.kernel.restart(); }"
OUTPUT_TEXTS = "() => [...document.querySelectorAll('.jp-OutputArea-output')].map(o => o.innerText)"


@pytest.fixture
def save_widget_state(lab: Lab) -> Iterator[None]:
    """JupyterLab's "Save Widget State Automatically" (Settings menu), as a user turns it on."""
    settings = lab.server.settings / WIDGET_SETTINGS
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"saveState": True}))
    load_jupyterlab(lab.page, lab.server)
    yield
    settings.unlink()
    lab.page.evaluate(CLOSE_ALL)
    load_jupyterlab(lab.page, lab.server)


def _run_and_save(lab: Lab) -> tuple[str, dict]:
    path = lab.write_notebook("saved", [PIPELINE, SUBJECTS.format(count=35), SHOW_SUBJECTS,
                                        DIAGRAM])
    lab.open(path)
    lab.run_all()
    lab.page.locator(".dj-table-widget").wait_for()
    lab.page.locator(".dj-diagram g.dj-node").first.wait_for()
    lab.page.evaluate(SAVE)
    return path, json.loads((lab.server.root / path).read_text())


def test_saved_notebook_reopened_after_a_restart_shows_its_diagram_and_table(
        lab: Lab, save_widget_state: None) -> None:
    path, saved = _run_and_save(lab)
    table_out, diagram_out = (cell["outputs"][-1]["data"] for cell in saved["cells"][3:5])
    assert WIDGET_MIME in table_out and "<table" in "".join(table_out["text/html"])
    assert WIDGET_MIME in diagram_out and "<svg" in "".join(diagram_out["image/svg+xml"])
    for data in (table_out, diagram_out):
        assert "object at 0x" not in "".join(data["text/plain"])

    lab.page.evaluate(RESTART)
    lab.page.evaluate(CLOSE_ALL)
    load_jupyterlab(lab.page, lab.server)
    lab.open(path)  # opened again with a fresh kernel; nothing is run
    diagram = lab.page.locator(".dj-diagram")
    diagram.locator("g.dj-node").first.wait_for()
    table = lab.page.locator(".dj-table-widget")
    table.locator("tbody tr").first.wait_for()
    lab.screenshot("reopened-diagram", diagram)
    lab.screenshot("reopened-table", table)
    assert diagram.locator("g.dj-node").count() == len(NODES)
    assert table.locator("tbody tr").count() == 10
    assert not any("model not found" in text for text in lab.page.evaluate(OUTPUT_TEXTS))
    assert lab.code_cells()[3]["count"] is not None  # the saved outputs, not a new run


def test_saved_notebook_as_static_html_shows_the_diagram_picture_and_table(
        lab: Lab, tmp_path: Path) -> None:
    _, saved = _run_and_save(lab)
    saved["metadata"].pop("widgets", None)  # what GitHub has: the outputs alone
    notebook = tmp_path / "travel.ipynb"
    notebook.write_text(json.dumps(saved))
    subprocess.run([sys.executable, "-m", "nbconvert", "--to", "html", str(notebook)],
                   check=True, capture_output=True, timeout=120)
    page = lab.page.context.new_page()
    try:
        page.goto((tmp_path / "travel.html").as_uri())
        picture = page.locator("img[src^='data:image/svg+xml'], svg.dj-diagram-static").first
        picture.wait_for()
        table = page.locator("table").filter(has_text="s009").first
        path = lab.shots / f"{lab.test_name}--static-html.png"
        page.screenshot(path=str(path), full_page=True)
        assert picture.is_visible() and table.is_visible()
        svg = next(o["data"]["image/svg+xml"] for o in saved["cells"][4]["outputs"]
                   if "data" in o)
        assert "".join(svg).count('class="dj-node"') == len(NODES)
        assert "Error displaying widget" not in page.inner_text("body")
    finally:
        page.close()


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
    server = start_server(tmp_path_factory.mktemp("saved-nb7"), app="notebook")
    settings = server.settings / WIDGET_SETTINGS
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"saveState": True}))
    server.wait_until_up()
    yield server
    server.stop()  # its kernels stop with it


def test_notebook7_reopened_after_a_restart_shows_its_diagram_and_table(
        notebook7: Any, chromium: Any, screenshot_dir: Path) -> None:
    database = notebook7.root / "nb7.db"
    setup = f"import dj_jupyter as dj\ndj.config['database.path'] = {str(database)!r}"
    cells = [setup, PIPELINE, SUBJECTS.format(count=35), SHOW_SUBJECTS, DIAGRAM]
    (notebook7.root / "nb7.ipynb").write_text(json.dumps(notebook_json(cells)))
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
        page.evaluate(RESTART)
        page.goto(url)  # reopened; nothing run
        page.wait_for_function("window.jupyterapp !== undefined")
        page.evaluate(NB7_PANEL)
        diagram = page.locator(".dj-diagram")
        diagram.locator("g.dj-node").first.wait_for()
        table = page.locator(".dj-table-widget")
        table.locator("tbody tr").first.wait_for()
        diagram.scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot_dir / "notebook7_reopened--diagram.png"))
        assert diagram.locator("g.dj-node").count() == len(NODES)
        assert table.locator("tbody tr").count() == 10
        assert "model not found" not in page.inner_text("body")
    finally:
        context.close()
