"""TableWidget and the display formatters: Python-side state and commands, IPython display,
and the widget's drawing in a headless chromium (with a fake model answering page requests)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import dj_jupyter as dj
from dj_jupyter.display import page as page_module
from dj_jupyter.display.page import page_of

pytest.importorskip("anywidget")
pytest.importorskip("IPython")

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

from dj_jupyter.jupyter.formatters import WIDGET_MIME, table_mimebundle  # noqa: E402
from dj_jupyter.jupyter.table_widget import TableWidget, table_esm  # noqa: E402
from tests.chromium import widget_page  # noqa: E402

ROWS = 30


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    connection = dj.Connection(f"sqlite:///{tmp_path_factory.mktemp('table') / 'lab.db'}")
    schema = dj.Schema("lab", connection=connection)

    @schema
    class Mouse(dj.Manual):
        definition = """
        mouse_id: int32            # ear tag
        ---
        name: varchar(16)
        weight: float64            # grams
        trace = null: <blob>       # raw trace
        """

    Mouse.insert([{"mouse_id": i, "name": f"m{i:02d}", "weight": float(i % 4),
                   "trace": np.arange(3)} for i in range(ROWS)])
    yield Mouse
    connection.close()


def _command(widget: TableWidget, monkeypatch, request: dict) -> dict:
    """Send the ``_page`` command as the browser would; the reply the widget sent back."""
    sent: list = []
    monkeypatch.setattr(widget.comm, "send",
                        lambda data=None, buffers=None, **kw: sent.append(data))
    widget._handle_custom_msg({"kind": "anywidget-command", "id": "r1", "name": "_page",
                               "msg": request}, [])
    replies = [m["content"] for m in sent if m and m.get("method") == "custom"
               and m["content"].get("kind") == "anywidget-command-response"]
    assert len(replies) == 1 and replies[0]["id"] == "r1"
    return replies[0]["response"]


def test_state_holds_the_first_page(lab, monkeypatch):
    monkeypatch.setattr(page_module, "COUNTED_AT_ONCE", 5)  # counted only in the background
    widget = TableWidget(lab(), limit=10)
    state = widget.get_state()
    page = state["page"]
    # the first page does not wait for the row count; the count arrives in `total`
    assert page["offset"] == 0 and page["limit"] == 10 and page["total"] is None
    assert page["following"] is True
    assert widget.pager.wait(60)
    assert widget.get_state()["total"] == ROWS
    assert [r[0] for r in page["rows"]] == [str(i) for i in range(10)]
    assert page["key"] == ["mouse_id"] and page["badges"] == {"trace": "<blob>"}
    assert state["page_sizes"] == [10, 25, 50, 100]
    assert "dj-page-next" in state["_esm"] and "--jp-" in state["_css"]
    assert ".dj-badge" in state["_css"] and ".dj-toolbar" in state["_css"]


def test_page_command_answers_the_requested_page(lab, monkeypatch):
    widget = TableWidget(lab(), limit=10)
    reply = _command(widget, monkeypatch, {"offset": 20, "limit": 10, "order_by": None,
                                           "descending": False})
    assert reply["offset"] == 20 and [r[0] for r in reply["rows"]] == [str(i) for i in
                                                                        range(20, 30)]
    assert widget.current.offset == 20
    assert widget.page["offset"] == 0  # only the reply crossed the wire, not the state


def test_page_command_sorts(lab, monkeypatch):
    widget = TableWidget(lab(), limit=5)
    reply = _command(widget, monkeypatch, {"offset": 0, "limit": 5, "order_by": "weight",
                                           "descending": True})
    assert [r[2] for r in reply["rows"]] == ["3.0"] * 5
    assert [r[0] for r in reply["rows"]] == ["3", "7", "11", "15", "19"]  # ties: key order
    assert reply["order_by"] == "weight" and reply["descending"] is True


def test_bad_requests_get_an_error_reply(lab, monkeypatch):
    widget = TableWidget(lab(), limit=5)
    assert "not fetched" in _command(widget, monkeypatch, {"order_by": "trace"})["error"]
    assert "unknown field" in _command(widget, monkeypatch, {"page": 2})["error"]
    assert "limit" in _command(widget, monkeypatch, {"limit": -3})["error"]


def test_refresh_sends_the_current_view_again(lab, monkeypatch):
    query = lab() & "mouse_id >= 25"
    widget = TableWidget(query, limit=2)
    _command(widget, monkeypatch, {"offset": 2, "limit": 2})
    sent: list = []
    monkeypatch.setattr(widget.comm, "send", lambda data=None, **kw: sent.append(data))
    widget.refresh()
    updates = [m["state"]["page"] for m in sent if m and m.get("method") == "update"
               and "page" in m["state"]]
    assert [[r[0] for r in u["rows"]] for u in updates] == [["27", "28"]]


def test_mimebundle_is_the_widget_beyond_one_page_or_with_array_cells(lab, monkeypatch):
    with dj.config.override({"display.limit": 12}):
        big, _ = table_mimebundle(lab())
        small, _ = table_mimebundle(lab().proj("name") & "mouse_id < 5")
        arrays, _ = table_mimebundle(lab() & "mouse_id < 5")  # its trace cells open a preview
    # the first paint counts up to COUNTED_AT_ONCE rows at once (30 here): the static
    # fallback says the total, and beyond the bound what it shows
    assert WIDGET_MIME in big and "first 12 of 30 rows" in big["text/html"]
    assert "(Total: 30)" in big["text/plain"]
    monkeypatch.setattr(page_module, "COUNTED_AT_ONCE", 20)
    with dj.config.override({"display.limit": 12}):
        uncounted, _ = table_mimebundle(lab())
    assert WIDGET_MIME in uncounted and "first 12 rows" in uncounted["text/html"]
    assert "(Total:" not in uncounted["text/plain"]
    assert WIDGET_MIME not in small and "5 rows" in small["text/html"]
    assert WIDGET_MIME in arrays and "5 rows" in arrays["text/html"]
    assert 'class="dj-array-cell"' in arrays["text/html"]


def test_widget_bundle_carries_its_current_page_as_html_and_text(lab):
    widget = TableWidget(lab(), limit=10)
    widget.pager.wait(60)  # the count, once it arrived, is in the fallback too
    data, _ = widget._repr_mimebundle_()
    assert WIDGET_MIME in data and "object at 0x" not in data["text/plain"]
    assert "first 10 of 30 rows" in data["text/html"] and "(Total: 30)" in data["text/plain"]
    widget.fetch_page(offset=20, limit=10)
    data, _ = widget._repr_mimebundle_()
    assert repr(widget) == "dj table: rows 21-30 of 30"
    widget.close()


@pytest.fixture
def shell():
    ip = InteractiveShell.instance()
    ip.run_line_magic("unload_ext", "dj_jupyter")  # a known state whatever ran before
    yield ip
    ip.run_line_magic("unload_ext", "dj_jupyter")


def test_extension_registers_formatters_once_and_unloads(lab, shell):
    query = lab()
    data, _ = shell.display_formatter.format(query)
    assert WIDGET_MIME not in data and "dj-rows" in data["text/html"]  # static without it
    shell.run_line_magic("load_ext", "dj_jupyter")
    shell.run_line_magic("load_ext", "dj_jupyter")  # a second load changes nothing
    shell.run_line_magic("reload_ext", "dj_jupyter")
    printers = shell.display_formatter.mimebundle_formatter.type_printers
    assert list(printers).count(dj.QueryExpression) == 1
    data, _ = shell.display_formatter.format(query)
    assert WIDGET_MIME in data and "first 12 of 30 rows" in data["text/html"]
    data, _ = shell.display_formatter.format(query.proj("name") & "mouse_id < 3")
    assert WIDGET_MIME not in data and "3 rows" in data["text/html"]
    data, _ = shell.display_formatter.format(query & "mouse_id < 3")  # array cells to open
    assert WIDGET_MIME in data and "3 rows" in data["text/html"]
    shell.run_line_magic("unload_ext", "dj_jupyter")
    data, _ = shell.display_formatter.format(query)
    assert WIDGET_MIME not in data and dj.QueryExpression not in printers


def test_displayed_cell_result_is_the_widget(lab, shell):
    shell.run_line_magic("load_ext", "dj_jupyter")
    shell.user_ns["mice"] = lab
    result = shell.run_cell("mice() & 'weight > 0'")
    assert result.success, result.error_in_exec
    data, _ = shell.display_formatter.format(result.result)
    assert WIDGET_MIME in data and "first 12 of 22 rows" in data["text/html"]


@pytest.mark.browser
def test_js_pages_and_sorts_through_invoke(lab, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    query = lab()
    first = page_of(query, limit=10).to_dict()
    pages = {}  # every page the fake kernel may be asked for, fetched for real
    for order_by, descending in [(None, False), ("name", False), ("name", True)]:
        for offset, limit in [(0, 10), (10, 10), (20, 10), (0, 25)]:
            pages[f"{offset}|{limit}|{order_by or 'null'}|{str(descending).lower()}"] = page_of(
                query, offset=offset, limit=limit, order_by=order_by,
                descending=descending).to_dict()
    shots = Path(os.environ.get("DJ_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with widget_page(TableWidget._css, {"width": 900, "height": 600}) as (page, errors):
        page.set_default_timeout(10_000)
        page.evaluate(RENDER_WITH_FAKE_MODEL, {"esm": table_esm(), "first": first,
                                               "pages": pages})
        info = page.locator(".dj-page-info")
        assert info.text_content() == "rows 1–10 of 30"
        assert page.locator(".dj-table-widget table.dj-rows tbody tr").count() == 10
        assert page.locator("th.dj-key").get_attribute("data-column") == "mouse_id"
        cells = page.locator("td.dj-array-clickable span.dj-array-cell")
        summary = first["summaries"]["trace"][0]
        assert summary["size"].endswith(" B") and summary["text"] == "blob"
        assert cells.count() == 10
        assert cells.first.text_content() == summary["text"] + summary["size"]
        assert page.locator(".dj-page-prev").is_disabled()
        tooltip = page.locator("th[data-column='weight']").get_attribute("title")
        assert tooltip.startswith("weight : float64\ngrams")

        page.locator(".dj-page-next").click()
        page.wait_for_function("document.querySelector('.dj-page-info').textContent"
                               " === 'rows 11–20 of 30'")
        assert page.locator("tbody tr td:first-child").first.text_content() == "10"

        page.locator("th[data-column='name']").click()
        name = page.locator("th[data-column='name']")
        sync_api.expect(name).to_have_attribute("aria-sort", "ascending")
        assert page.locator("tbody tr td:nth-child(2)").first.text_content() == "m00"
        name.click()
        sync_api.expect(name).to_have_attribute("aria-sort", "descending")
        assert page.locator("tbody tr td:nth-child(2)").first.text_content() == "m29"
        assert page.locator("th[data-column='mouse_id']").get_attribute("aria-sort") == \
            "none"
        page.locator(".dj-page-last").click()
        page.wait_for_function("document.querySelector('.dj-page-info').textContent"
                               " === 'rows 21–30 of 30'")
        assert page.locator(".dj-page-next").is_disabled()
        page.locator("th[data-column='trace']").click()  # a badge column: no request
        page.screenshot(path=str(shots / "table_widget.png"), full_page=True)

        page.locator(".dj-page-size").select_option("25")  # keeps the first row shown
        page.wait_for_function("document.querySelector('.dj-page-info').textContent"
                               " === 'rows 1–25 of 30'")
        assert page.locator("tbody tr").count() == 25
        page.locator(".dj-page-size").select_option("50")  # the fake kernel answers {error}
        sync_api.expect(page.locator(".dj-error")).to_contain_text("no page for")
        assert page.locator("tbody tr").count() == 25  # the rows shown stay
        page.evaluate("(first) => window.djModel.set('page', first)", first)  # refresh()
        assert info.text_content() == "rows 1–10 of 30"
        calls = page.evaluate("window.djCalls")
        assert errors == []
        assert [(c["offset"], c["limit"], c["order_by"], c["descending"]) for c in calls] == [
            (10, 10, None, False), (0, 10, "name", False), (0, 10, "name", True),
            (20, 10, "name", True), (0, 25, "name", True), (0, 50, "name", True)]
        assert all(c["timeout"] for c in calls)  # a signal was passed, not the 3 s default


RENDER_WITH_FAKE_MODEL = """async ({esm, first, pages}) => {
  const handlers = {};
  const model = {
    state: {page: first, page_sizes: [10, 25, 50, 100]},
    get(name) { return this.state[name]; },
    set(name, value) {
      this.state[name] = value;
      (handlers[`change:${name}`] || []).forEach((f) => f());
    },
    on(event, f) { (handlers[event] = handlers[event] || []).push(f); },
    off(event, f) { handlers[event] = (handlers[event] || []).filter((g) => g !== f); },
    save_changes() {},
  };
  window.djModel = model;
  window.djCalls = [];
  const experimental = {
    async invoke(name, msg, options) {
      window.djCalls.push({...msg, name, timeout: Boolean(options && options.signal)});
      await new Promise((resolve) => setTimeout(resolve, 20));
      const page = pages[`${msg.offset}|${msg.limit}|${msg.order_by}|${msg.descending}`];
      return [page ?? {error: `no page for ${JSON.stringify(msg)}`}, []];
    },
  };
  const url = URL.createObjectURL(new Blob([esm], {type: "text/javascript"}));
  const widget = (await import(url)).default;
  await widget.render({model, el: document.getElementById("el"), experimental});
}"""
