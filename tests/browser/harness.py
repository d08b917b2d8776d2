"""The browser-tier harness: a real ``jupyter lab`` and a JupyterLab page driven by Playwright.

``LabServer`` launches and queries the server (isolated config, data, runtime, settings and
workspace folders; loopback port; no port retries). ``Lab`` is what a test holds: it writes a
notebook (nbformat 4 JSON), opens it and waits for its kernel the way
shared/reference/jupyter-recipes.md §3 found reliable (``window.jupyterapp``, never menus),
runs cells through ``app.commands``, fails on error outputs, switches themes and saves
screenshots. The fixtures that share one server and one page live in conftest.py.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).parents[2]
VIEWPORT = {"width": 1400, "height": 1000}
SERVER_START_SECONDS = 90
NOTEBOOK_SECONDS = 120
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
LIGHT, DARK = "JupyterLab Light", "JupyterLab Dark"
USER_SETTINGS = {  # JupyterLab user settings: no kernel dialog, no news toast, light theme
    "@jupyterlab/notebook-extension/tracker": {"autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
    "@jupyterlab/apputils-extension/themes": {"theme": LIGHT},
}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


# --- the server ----------------------------------------------------------------------------


@dataclass
class LabServer:
    """A running ``jupyter lab``: where it listens, its token, root folder and log."""

    process: subprocess.Popen
    url: str
    token: str
    root: Path
    settings: Path
    log: Path

    def api(self, method: str, path: str) -> Any:
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def delete_kernels(self) -> None:
        """Shut down every session and kernel, so no test leaves a kernel running."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def write_user_settings(self) -> None:
        for plugin, values in USER_SETTINGS.items():
            path = self.settings / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.process.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                self.api("GET", "/api/status")
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.25)
        raise RuntimeError(f"jupyter lab did not answer within {SERVER_START_SECONDS} s:\n"
                           f"{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(ANSI.sub("", text).splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_environment(base: Path) -> dict[str, str]:
    """The caller's environment minus DataJoint settings, with Jupyter's folders isolated."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJ_")}
    env.update(JUPYTER_CONFIG_DIR=str(base / "config"), JUPYTER_DATA_DIR=str(base / "data"),
               JUPYTER_RUNTIME_DIR=str(base / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(base / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"), IPYTHONDIR=str(base / "ipython"),
               DJ_IGNORE_CONFIG_FILE="1", PATH=f"{Path(sys.executable).parent}:{env['PATH']}")
    return env


def _this_checkouts_labextension(base: Path) -> list[str]:
    """Options that serve the lab extension built in this checkout ahead of the venv's
    (extra paths come first), so a worktree's tests see its own build; none if unbuilt."""
    built = REPO / "dj_jupyter" / "labextension"
    if not (built / "package.json").exists():
        return []
    folder = base / "labextensions"
    folder.mkdir()
    (folder / "dj-jupyter-labext").symlink_to(built, target_is_directory=True)
    return [f"--{app}.extra_labextensions_path={folder}"
            for app in ("LabApp", "JupyterNotebookApp")]


def start_server(base: Path, app: str = "jupyterlab") -> LabServer:
    """Launch ``app`` (``jupyterlab``, or ``notebook`` for Notebook 7) with the running
    interpreter, so its venv's kernels and lab extensions (ours included) are the ones used."""
    port, token = _free_port(), secrets.token_hex(16)
    root, log = base / "root", base / "server.log"
    root.mkdir()
    command = [sys.executable, "-m", app, "--no-browser", "--allow-root",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
               "--LabApp.extension_manager=readonly", "--LabApp.news_url=None",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--JupyterNotebookApp.expose_app_in_browser=True",
               *_this_checkouts_labextension(base)]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=root,
                                   env=_server_environment(base), start_new_session=True)
    server = LabServer(process, f"http://127.0.0.1:{port}", token, root, base / "settings", log)
    server.write_user_settings()
    return server


# --- the browser ---------------------------------------------------------------------------


def sync_api() -> Any:
    """``playwright.sync_api``; without it the tests are skipped, or fail when
    ``DJ_REQUIRE_BROWSER=1`` (CI), like a missing chromium (see tests/conftest.py)."""
    try:
        import playwright.sync_api as api
    except ImportError:
        message = "playwright is not installed: pip install -e '.[test]'"
        if os.environ.get("DJ_REQUIRE_BROWSER") == "1":
            raise RuntimeError(f"DJ_REQUIRE_BROWSER=1 but {message}") from None
        pytest.skip(message, allow_module_level=True)
    return api


# --- one notebook in one page ---------------------------------------------------------------

OPEN_NOTEBOOK = """async (path) => {
  const app = window.jupyterapp;
  await app.started;
  await app.restored;
  const panel = await app.commands.execute("docmanager:open", {path, factory: "Notebook"});
  await panel.context.ready;
  await panel.sessionContext.ready;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel) throw new Error(`no kernel was started for ${path}`);
  await kernel.info;
  window.djNotebook = panel;
  return kernel.id;
}"""

RUN_ALL_CELLS = """async () => {
  window.jupyterapp.shell.activateById(window.djNotebook.id);
  await window.jupyterapp.commands.execute("notebook:run-all-cells");
}"""

APPEND_AND_RUN_CELL = """async (source) => {
  const notebook = window.djNotebook.content;
  const model = notebook.model;
  model.sharedModel.insertCell(model.cells.length, {cell_type: "code", source});
  notebook.activeCellIndex = model.cells.length - 1;
  window.jupyterapp.shell.activateById(window.djNotebook.id);
  await window.jupyterapp.commands.execute("notebook:run-cell");
}"""

CODE_CELLS = """() => {
  const cells = window.djNotebook.content.model.cells;
  const found = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== "code") continue;
    found.push({index: i, count: cell.executionCount, outputs: cell.outputs.toJSON()});
  }
  return found;
}"""

ALL_DONE = """() => {
  const panel = window.djNotebook;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel || kernel.status !== "idle") return false;
  const cells = panel.content.model.cells;
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== "code") continue;
    const outputs = cell.outputs.toJSON();
    if (outputs.some((o) => o.output_type === "error")) return true;  // run-all stops there
    if (cell.executionCount === null && cell.sharedModel.getSource().trim()) return false;
  }
  return true;
}"""

CLOSE_ALL = """() => {
  for (const widget of [...window.jupyterapp.shell.widgets("main")]) {
    if (widget.context) widget.context.model.dirty = false;  // no "save changes?" dialog
    widget.dispose();
  }
}"""

CHANGE_THEME = """async (theme) => {
  await window.jupyterapp.commands.execute("apputils:change-theme", {theme});
}"""


def notebook_json(sources: list[str]) -> dict:
    """An nbformat 4.5 notebook of code cells, without outputs.

    Written as plain JSON: importing nbformat costs 4-10 s here (its jsonschema format
    checkers compile a grammar at import), more than the whole of a test.
    """
    cells = [{"cell_type": "code", "id": f"cell-{number}", "metadata": {},
              "execution_count": None, "outputs": [], "source": source}
             for number, source in enumerate(sources)]
    return {"nbformat": 4, "nbformat_minor": 5, "cells": cells,
            "metadata": {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}}


@dataclass
class Lab:
    """A JupyterLab page for one test: write a notebook, open it, run it, look at it."""

    page: Any
    server: LabServer
    folder: Path
    shots: Path
    test_name: str
    page_errors: list[str] = field(default_factory=list)
    theme: str = LIGHT

    # -- notebooks --------------------------------------------------------------------------
    def write_notebook(self, name: str, cells: list[str]) -> str:
        """Write ``name``.ipynb whose first cell points dj.config at this test's database."""
        setup = ("import dj_jupyter as dj\n"
                 f"dj.config['database.path'] = {str(self.folder / (name + '.db'))!r}")
        path = self.folder / f"{name}.ipynb"
        path.write_text(json.dumps(notebook_json([setup, *cells]), indent=1))
        return self.relative(path)

    def copy_notebook(self, source: Path) -> str:
        return self.relative(Path(shutil.copy(source, self.folder / source.name)))

    def relative(self, path: Path) -> str:
        return path.relative_to(self.server.root).as_posix()

    def open(self, path: str) -> None:
        """Open a notebook and wait until its kernel is really connected."""
        self.page.evaluate(OPEN_NOTEBOOK, path)

    def run_all(self) -> None:
        """Run every cell, wait until the kernel is idle, and fail on any error output."""
        self.page.evaluate(RUN_ALL_CELLS)
        self.wait_until_done()

    def run_new_cell(self, source: str) -> None:
        """Append a code cell at the end of the notebook and run it (no error allowed)."""
        self.page.evaluate(APPEND_AND_RUN_CELL, source)
        self.wait_until_done()

    def wait_until_done(self) -> None:
        self.page.wait_for_function(ALL_DONE, timeout=NOTEBOOK_SECONDS * 1000, polling=200)
        self.assert_no_error_output()

    def code_cells(self) -> list[dict]:
        return self.page.evaluate(CODE_CELLS)

    def assert_no_error_output(self) -> None:
        errors = [(cell["index"], output) for cell in self.code_cells()
                  for output in cell["outputs"] if output["output_type"] == "error"]
        if errors:
            index, first = errors[0]
            traceback = ANSI.sub("", "\n".join(first.get("traceback", [])))
            raise AssertionError(f"cell {index} raised {first['ename']}: {first['evalue']}\n"
                                 f"{traceback}\n({len(errors)} error output(s) in all)")

    # -- the page ---------------------------------------------------------------------------
    def change_theme(self, theme: str) -> None:
        light = "true" if theme == LIGHT else "false"
        self.page.evaluate(CHANGE_THEME, theme)
        self.page.wait_for_function(f"document.body.dataset.jpThemeLight === '{light}'")
        self.theme = theme

    def screenshot(self, label: str, locator: Any = None) -> Path:
        """Save ``<test>--<label>.png``: the page, or just ``locator``'s element."""
        path = self.shots / f"{self.test_name}--{label}.png"
        if locator is None:
            self.page.screenshot(path=str(path))
        else:
            locator.scroll_into_view_if_needed()
            locator.screenshot(path=str(path))
        return path


def load_jupyterlab(page: Any, server: LabServer) -> None:
    """(Re)load JupyterLab in ``page`` with a fresh workspace; wait until it is restored."""
    page.goto(f"{server.url}/lab?reset&token={server.token}")
    page.wait_for_function("window.jupyterapp !== undefined")
    page.evaluate("async () => { const app = window.jupyterapp; await app.started; "
                  "await app.restored; }")


