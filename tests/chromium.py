"""Debian's chromium, as every browser test starts it, and a bare page for widget JS.

Playwright drives the system browser (``playwright install`` cannot download one here).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-dev-shm-usage"]


@contextlib.contextmanager
def widget_page(css: str, viewport: dict[str, int]) -> Iterator[tuple[Any, list[str]]]:
    """A page of a fresh headless chromium holding ``css`` and an empty ``#el`` (where a widget
    renders), with the page's uncaught errors collected as they happen."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=viewport)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.set_content(f"<style>{css}</style><div id='el'></div>")
            yield page, errors
        finally:
            browser.close()
