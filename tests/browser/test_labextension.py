"""The lab extension (labextension/) in a real JupyterLab and Notebook 7: the ``%%dj_table``
language on screen, completion as the user types, the line an error names, the pipeline
sidebar following the tutorial, and the commands."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.harness import (
    REPO,
    VIEWPORT,
    Lab,
    LabServer,
    notebook_json,
    start_server,
    sync_api,
)

expect = sync_api().expect

pytestmark = pytest.mark.browser

TUTORIAL = REPO / "notebooks" / "01-getting-started.ipynb"
PLUGIN = "dj-jupyter-labext:plugin"
SETUP = "%load_ext dj_jupyter\n%dj_schema lab"
TABLE_CELL = """%%dj_table Recording computed
# one recording -> of a session
-> [nullable] Session.proj(mother="subject_id")
rec_id : int16
---
trace = null : <blob@raw>   # the raw trace
unique index(rec_id)
# --- python ---
def make(self, key):
    return None"""

# The tokens of TABLE_CELL as the page must colour them: (text, class).
EXPECTED_TOKENS = [
    ("%%dj_table", "cm-dj-magic"), ("Recording", "cm-dj-class"), ("computed", "cm-dj-tier"),
    ("# one recording -> of a session", "cm-dj-comment"), ("->", "cm-dj-arrow"),
    ("[nullable]", "cm-dj-option"), ("Session", "cm-dj-reference"), (".proj", "cm-dj-proj"),
    ("mother", "cm-dj-attribute"), ("rec_id", "cm-dj-attribute"), ("---", "cm-dj-divider"),
    ("trace", "cm-dj-attribute"), ("null", "cm-dj-default"), ("<blob", "cm-dj-codec"),
    ("@raw", "cm-dj-store"), ("# the raw trace", "cm-dj-comment"),
    ("unique index", "cm-dj-index"), ("# --- python ---", "cm-dj-marker"),
]

# Every token span of the n-th cell's editor: [text, class list].
READ_TOKENS = """(index) => {
  const cell = window.djNotebook.content.widgets[index];
  const spans = cell.node.querySelectorAll(".cm-content .cm-line span");
  return [...spans].map((s) => [s.textContent, s.className]);
}"""

SOURCE_OF = "(index) => window.djNotebook.content.widgets[index].model.sharedModel.getSource()"


def _cell_index(lab: Lab, prefix: str) -> int:
    sources = lab.page.evaluate("""() => window.djNotebook.content.widgets.map(
        (c) => c.model.sharedModel.getSource())""")
    return next(i for i, source in enumerate(sources) if source.startswith(prefix))


def _editor(lab: Lab, index: int) -> Any:
    return lab.page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".cm-content")


def test_the_extension_is_activated(lab: Lab) -> None:
    assert lab.page.evaluate(f"() => window.jupyterapp.isPluginActivated({PLUGIN!r})")
    commands = lab.page.evaluate("""() => ['dj-jupyter:new-table-cell', 'dj-jupyter:show-diagram']
        .map((id) => window.jupyterapp.commands.label(id))""")
    assert commands == ["New DataJoint table cell", "Show pipeline diagram"]


def test_a_dj_table_cell_is_highlighted_by_construct(lab: Lab) -> None:
    lab.open(lab.write_notebook("tokens", [SETUP, TABLE_CELL, "x = 1  # plain python"]))
    index = _cell_index(lab, "%%dj_table")
    lab.page.locator(".cm-dj-magic").first.wait_for()
    tokens = lab.page.evaluate(READ_TOKENS, index)
    found = [(text, cls) for text, cls in tokens if "cm-dj-" in cls]
    for text, cls in EXPECTED_TOKENS:
        assert any(t == text and cls in c.split() for t, c in found), (text, cls, found)
    python_part = [(t, c) for t, c in tokens if t in ("def", "make", "return", "None")]
    assert python_part and not any("cm-dj-" in c for _, c in python_part), python_part
    plain = lab.page.evaluate(READ_TOKENS, index + 1)
    assert plain and not any("cm-dj-" in c for _, c in plain)
    lab.screenshot("cell", lab.page.locator(".jp-Notebook .jp-Cell").nth(index))


def test_an_error_marks_its_line(lab: Lab) -> None:
    bad = "%%dj_table Broken\nid : int32\n---\nscore : nonsense_type\n"
    lab.open(lab.write_notebook("error_line", [SETUP, bad]))
    lab.page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    index = _cell_index(lab, "%%dj_table Broken")
    cell = lab.page.locator(".jp-Notebook .jp-Cell").nth(index)
    marked = cell.locator(".cm-line.cm-dj-error-line")
    expect(marked).to_have_count(1, timeout=60_000)
    expect(marked).to_have_text("score : nonsense_type")
    lab.screenshot("marked", cell)
    # Fixed and run again: the mark goes.
    lab.page.evaluate("""(index) => { const nb = window.djNotebook.content;
        nb.widgets[index].model.sharedModel.setSource('%%dj_table Broken\\nid : int32\\n');
        nb.activeCellIndex = index; }""", index)
    lab.page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-cell')")
    expect(marked).to_have_count(0, timeout=60_000)


def test_codecs_complete_after_angle_bracket_as_you_type(lab: Lab) -> None:
    lab.open(lab.write_notebook("completion", [SETUP]))
    lab.run_all()
    lab.page.evaluate("""(source) => { const model = window.djNotebook.content.model;
        model.sharedModel.insertCell(model.cells.length, {cell_type: "code", source}); }""",
                      "%%dj_table Sample\nid : int32\n---\nscore : ")
    index = _cell_index(lab, "%%dj_table Sample")
    editor = _editor(lab, index)
    editor.click()
    lab.page.keyboard.press("Control+End")
    lab.page.keyboard.type("<")  # opens the completer by itself
    completer = lab.page.locator(".jp-Completer")
    items = completer.locator(".jp-Completer-item")
    expect(items.first).to_be_visible(timeout=15_000)
    lab.page.keyboard.type("b")
    blob = completer.locator(".jp-Completer-item[data-value='blob>']")
    expect(blob).to_be_visible()
    values = items.evaluate_all("(nodes) => nodes.map((n) => n.dataset.value)")
    assert {"blob>", "blob@>"} <= set(values) and all("b" in v for v in values), values
    lab.screenshot("completer")
    blob.click()
    expect(completer).to_be_hidden()
    assert lab.page.evaluate(SOURCE_OF, index).endswith("score : <blob>")
    # Tab on the magic line offers the tiers.
    lab.page.keyboard.press("Control+Home")
    lab.page.keyboard.press("End")
    lab.page.keyboard.type(" co")
    lab.page.keyboard.press("Tab")
    expect(completer.locator(".jp-Completer-item[data-value='computed']")).to_be_visible()
    lab.screenshot("tiers")
    lab.page.keyboard.press("Enter")
    expect(lab.page.locator(".cm-dj-tier")).to_have_text("computed", timeout=15_000)


def _open_sidebar(lab: Lab) -> Any:
    tab = lab.page.locator("li.lm-TabBar-tab[data-id='dj-jupyter-sidebar']")
    if "lm-mod-current" not in (tab.get_attribute("class") or ""):
        tab.click()
    sidebar = lab.page.locator("#dj-jupyter-sidebar")
    expect(sidebar).to_be_visible()
    return sidebar


def _sidebar_rows(sidebar: Any) -> dict[str, int]:
    return sidebar.evaluate("""(node) => Object.fromEntries([...node.querySelectorAll(
        "li.dj-sidebar-table")].map((li) => [li.dataset.table,
        Number(li.querySelector(".dj-sidebar-rows").dataset.count)]))""")


def test_the_sidebar_follows_the_tutorial(lab: Lab) -> None:
    lab.open(lab.copy_notebook(TUTORIAL))
    sidebar = _open_sidebar(lab)
    expect(sidebar.locator(".dj-sidebar-body")).to_contain_text("has not loaded dj_jupyter")
    lab.screenshot("not-loaded", sidebar)
    lab.run_all()
    tables = sidebar.locator("section[data-schema='tutorial'] li.dj-sidebar-table")
    expect(tables).to_have_count(5, timeout=30_000)
    truth = json.loads(_run_and_read(lab, "import json; print(json.dumps({n: len(t) for n, t in "
                                          "[('Species', Species), ('Subject', Subject), "
                                          "('Session', Session), ('Session.Trial', Session.Trial), "
                                          "('SessionSummary', SessionSummary)]}))"))
    expect(tables.first).to_be_visible()
    assert _sidebar_rows(sidebar) == truth
    summary = sidebar.locator("li[data-table='SessionSummary']")
    assert "dj-tier-computed" in summary.get_attribute("class")
    expect(summary.locator(".dj-sidebar-todo")).to_have_attribute("data-count", re.compile(r"\d+"))
    lab.screenshot("tutorial", sidebar)

    lab.run_new_cell("%%dj_table Note manual\n-> Subject\nnote_id : int16\n---\ntext : "
                     "varchar(64)\n")
    expect(sidebar.locator("li[data-table='Note']")).to_be_visible(timeout=30_000)
    lab.run_new_cell("Note.insert1({'subject_id': 2, 'note_id': 1, 'text': 'hi'})")
    expect(sidebar.locator("li[data-table='Note'] .dj-sidebar-rows")).to_have_attribute(
        "data-count", "1", timeout=30_000)

    # "+" adds a cell downstream of Subject, its reference filled in.
    subject = sidebar.locator("li[data-table='Subject']")
    subject.hover()
    subject.locator("button[title^='Add a %%dj_table cell']").click()
    active = lab.page.evaluate("""() => window.djNotebook.content.activeCell
        .model.sharedModel.getSource()""")
    assert active.startswith("%%dj_table NewTable computed\n-> Subject\n")
    lab.screenshot("downstream")

    # Clicking a table shows it (a cell that displays it, run); the job actions run cells too.
    sidebar.locator("li[data-table='Species'] .dj-sidebar-name").click()
    _expect_active_cell(lab, "Species()", "mouse")
    summary.hover()
    summary.locator("button[title='Populate this table']").click()
    _expect_active_cell(lab, "SessionSummary.populate()", "made")
    summary.hover()
    summary.locator("button[title='Show the errors of its jobs']").click()
    _expect_active_cell(lab, "SessionSummary.jobs.errors", "")


def _expect_active_cell(lab: Lab, source: str, shown: str) -> None:
    """The active cell holds ``source`` and, once run, an output showing ``shown``."""
    read = """() => { const cell = window.djNotebook.content.activeCell.model;
        return [cell.sharedModel.getSource(), cell.executionCount,
                JSON.stringify(cell.outputs.toJSON())]; }"""
    lab.page.wait_for_function(f"({read})()[1] !== null", timeout=60_000)
    text, _, outputs = lab.page.evaluate(read)
    assert text == source and shown in outputs and '"error"' not in outputs, (text, outputs)


def _run_and_read(lab: Lab, source: str) -> str:
    lab.run_new_cell(source)
    outputs = lab.code_cells()[-1]["outputs"]
    return "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream")


# --- Notebook 7 ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def notebook_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    pytest.importorskip("notebook")
    server = start_server(tmp_path_factory.mktemp("notebook7"), app="notebook")
    server.wait_until_up()
    yield server
    server.stop()  # its kernels stop with it


def test_notebook7_loads_the_extension(notebook_server: LabServer, chromium: Any,
                                       screenshot_dir: Path) -> None:
    path = notebook_server.root / "nb7.ipynb"
    path.write_text(json.dumps(notebook_json([SETUP, TABLE_CELL])))
    context = chromium.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(f"{notebook_server.url}/notebooks/nb7.ipynb?token={notebook_server.token}")
        page.wait_for_function("window.jupyterapp !== undefined", timeout=60_000)
        page.evaluate("async () => { await window.jupyterapp.started; "
                      "await window.jupyterapp.restored; }")
        assert page.evaluate(f"() => window.jupyterapp.isPluginActivated({PLUGIN!r})")
        expect(page.locator(".cm-dj-magic").first).to_be_visible(timeout=60_000)
        expect(page.locator(".cm-dj-codec").first).to_have_text("<blob")
        page.screenshot(path=str(screenshot_dir / "notebook7_loads_the_extension--page.png"))
    finally:
        context.close()


def test_the_commands_add_a_table_cell_and_draw_the_diagram(lab: Lab) -> None:
    lab.open(lab.write_notebook("commands", [SETUP, "%%dj_table Animal\nanimal : int32\n"]))
    lab.run_all()
    sidebar = _open_sidebar(lab)
    expect(sidebar.locator("li[data-table='Animal']")).to_be_visible(timeout=30_000)

    lab.page.evaluate("() => window.jupyterapp.commands.execute('dj-jupyter:new-table-cell')")
    active = lab.page.evaluate("""() => window.djNotebook.content.activeCell
        .model.sharedModel.getSource()""")
    assert active.startswith("%%dj_table NewTable manual\n")
    expect(lab.page.locator(".jp-Cell.jp-mod-active .cm-dj-class")).to_have_text("NewTable")

    lab.page.evaluate("() => window.jupyterapp.commands.execute('dj-jupyter:show-diagram')")
    _expect_active_cell(lab, "import dj_jupyter as dj\n_dj_schema = %dj_schema lab\n"
                             "dj.Diagram(_dj_schema)", "dj_jupyter")
    node = lab.page.locator(".jp-Cell.jp-mod-active .dj-diagram g.dj-node")
    expect(node).to_have_count(1, timeout=30_000)
    lab.screenshot("diagram")
