"""Fixtures of the browser tier: one real JupyterLab server and one headless chromium page
for the whole tier (see harness.py for what a test can do with its ``lab``). They end with the
tier (package scope), so that later tests may start Playwright's sync API again.

Each test writes its notebook into a folder of its own under the server's root, opens it in
the shared JupyterLab page, runs it and asserts on the page with real clicks. Afterwards its
documents are closed and its kernels deleted; after a failure the page is reloaded.
Screenshots go to ``$DJ_SCREENSHOT_DIR`` (default ``.ci-artifacts/screenshots``), named
``<test>--<what>.png``, plus ``<test>--FAILED.png``; a failing test's report carries the tail
of the server log and any uncaught page errors.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.harness import (
    CLOSE_ALL,
    LIGHT,
    REPO,
    VIEWPORT,
    Lab,
    LabServer,
    load_jupyterlab,
    start_server,
    sync_api,
)
from tests.chromium import CHROMIUM, CHROMIUM_ARGS

CALL_REPORT = pytest.StashKey[pytest.TestReport]()
# JupyterLab asks a kernel for a subshell when a widget shows; a request still open when a
# test's kernel is deleted is cancelled with this page error, often during the next test.
BENIGN_PAGE_ERROR = "Canceled future for create_subshell_request"


@pytest.fixture(scope="package")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A ``jupyter lab`` just launched; ``lab_page`` waits for it (chromium starts meanwhile)."""
    server = start_server(tmp_path_factory.mktemp("jupyterlab"))
    yield server
    server.stop()


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    with sync_api().sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    folder = Path(os.environ.get("DJ_SCREENSHOT_DIR") or REPO / ".ci-artifacts" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """Keep the call-phase report (the ``lab`` fixture's teardown reads it) and, when a
    browser test fails, add the server log and any page errors to its report."""
    report = yield
    if report.when == "call":
        item.stash[CALL_REPORT] = report
    if report.failed and "lab" in getattr(item, "funcargs", {}):
        lab: Lab = item.funcargs["lab"]
        report.sections.append(("jupyter server log (tail)", lab.server.log_tail()))
        if lab.page_errors:
            report.sections.append(("page errors", "\n".join(lab.page_errors)))
    return report


@pytest.fixture(scope="package")
def lab_page(lab_server: LabServer, chromium: Any) -> Iterator[Any]:
    """One browser page with JupyterLab loaded, shared by the tests (loading it costs ~7 s)."""
    lab_server.wait_until_up()
    context = chromium.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(30_000)
    load_jupyterlab(page, lab_server)
    yield page
    context.close()


@pytest.fixture
def lab(lab_server: LabServer, lab_page: Any, screenshot_dir: Path,
        request: pytest.FixtureRequest) -> Iterator[Lab]:
    """The shared page, cleared; the test's notebooks go in a folder of its own."""
    test_name = request.node.name.removeprefix("test_")
    folder = lab_server.root / re.sub(r"[^\w.-]", "_", test_name)
    folder.mkdir()
    helper = Lab(lab_page, lab_server, folder, screenshot_dir, test_name)

    def record(error: Exception) -> None:
        if BENIGN_PAGE_ERROR in str(error):
            return
        helper.page_errors.append(str(error))

    lab_page.on("pageerror", record)
    try:
        yield helper
    finally:
        lab_page.remove_listener("pageerror", record)
        report = request.node.stash.get(CALL_REPORT, None)
        _clear(helper, failed=report is not None and report.failed)


def _clear(lab: Lab, failed: bool) -> None:
    """Close every document, stop every kernel, go back to the light theme; after a failure
    (or if closing fails), screenshot the page and reload JupyterLab, whatever its state."""
    try:
        if failed:
            lab.screenshot("FAILED")
        else:
            lab.page.evaluate(CLOSE_ALL)
    except Exception:
        failed = True
        raise
    finally:
        lab.server.delete_kernels()
        lab.server.write_user_settings()
        if failed:
            load_jupyterlab(lab.page, lab.server)
        elif lab.theme != LIGHT:
            lab.change_theme(LIGHT)
