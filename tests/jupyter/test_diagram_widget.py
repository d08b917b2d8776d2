"""The Diagram widget: its synced state in Python, and its drawing in a headless chromium."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import dj_jupyter as dj
from tests import diagram_pipeline
from tests.chromium import widget_page

pytest.importorskip("anywidget")

from dj_jupyter.jupyter.diagram import DiagramWidget, diagram_esm, widget_for  # noqa: E402


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    connection = dj.Connection(f"sqlite:///{tmp_path_factory.mktemp('widget') / 'lab.db'}")
    schema = dj.Schema("lab", connection=connection)
    tables = diagram_pipeline.declare(schema)
    yield schema, tables
    connection.close()


def test_state_holds_the_model(lab):
    schema, _ = lab
    state = widget_for(dj.Diagram(schema), theme="dark").get_state()
    assert {n["class_name"] for n in state["nodes"]} >= {"Subject", "Stats.Unit"}
    assert len(state["nodes"]) == 8 and len(state["edges"]) == 7
    assert state["direction"] == "LR" and state["theme"] == "dark"
    assert "const DAGRE_SOURCE = " in state["_esm"] and ".dj-tier-part" in state["_css"]


def test_show_sends_the_new_model(lab, monkeypatch):
    schema, t = lab
    widget = widget_for(dj.Diagram(t["Session"]))
    sent = []
    monkeypatch.setattr(widget.comm, "send", lambda data=None, **kw: sent.append(data))
    widget.show(dj.Diagram(schema))
    updates = [m["state"] for m in sent if m and m.get("method") == "update"]
    assert any(len(u.get("nodes", [])) == 8 for u in updates)


def test_diagram_displays_as_the_widget(lab):
    schema, _ = lab
    bundle = dj.Diagram(schema)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_bad_trait_values_are_refused():
    import traitlets

    with pytest.raises(traitlets.TraitError):
        DiagramWidget(direction="RL")


@pytest.mark.browser
def test_js_draws_one_element_per_table_and_per_foreign_key(lab, tmp_path):
    schema, _ = lab
    model = dj.Diagram(schema).to_dict()
    state = {"nodes": model["nodes"], "edges": model["edges"], "direction": "LR",
             "theme": "light"}
    shots = Path(os.environ.get("DJ_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with widget_page(DiagramWidget._css, {"width": 1100, "height": 420}) as (page, errors):
        result = page.evaluate(RENDER_WITH_FAKE_MODEL, {"esm": diagram_esm(), "state": state})
        page.screenshot(path=str(shots / "diagram_widget.png"), full_page=True)
        assert errors == []
        assert result["nodes"] == 8 and result["edges"] == 7
        assert result["ellipses"] == 2  # Computed and Imported
        assert result["dashed"] == 1 and result["thick"] == 2 and result["renamed"] == 2
        assert result["underlined"] == 5 and result["groups"] == 1 and result["clusters"] == 1
        assert result["titles"] == 0  # nodes use the styled tooltip, not <title>
        # Python -> JS: a new model redraws
        fewer = page.evaluate("""(state) => window.djModel.set("nodes", state.nodes.slice(0, 2))
            .then(() => document.querySelectorAll('.dj-node').length)""", state)
        assert fewer == 2


VIEWPORT = {"width": 1100, "height": 700}
RENDER_WITH_FAKE_MODEL = """async ({esm, state, pages}) => {
  const handlers = {};
  window.djCalls = [];
  const experimental = {
    async invoke(name, msg, options) {
      window.djCalls.push({name, msg, timeout: Boolean(options && options.signal)});
      return [(pages || {})[String(msg.offset)] || {error: "no page"}, []];
    },
  };
  const model = {
    state: {...state},
    get(name) { return this.state[name]; },
    async set(name, value) {
      this.state[name] = value;
      await Promise.all((handlers[`change:${name}`] || []).map((f) => f()));
    },
    on(event, f) { (handlers[event] = handlers[event] || []).push(f); },
    off(event, f) { handlers[event] = (handlers[event] || []).filter((g) => g !== f); },
    save_changes() {},
  };
  window.djModel = model;
  const url = URL.createObjectURL(new Blob([esm], {type: "text/javascript"}));
  const widget = (await import(url)).default;
  await widget.render({model, el: document.getElementById("el"), experimental});
  const all = (selector) => document.querySelectorAll(selector);
  const part = [...all(".dj-node")].find((n) => n.dataset.name.endsWith("__unit"));
  return {
    nodes: all(".dj-node").length, edges: all(".dj-edge").length,
    ellipses: all(".dj-node ellipse").length, dashed: all(".dj-edge.dj-secondary").length,
    thick: all(".dj-edge.dj-one-to-one").length, renamed: all(".dj-edge.dj-renamed").length,
    underlined: all(".dj-label.dj-new-dimension").length, groups: all(".dj-group").length,
    clusters: all(".dj-cluster").length, titles: all(".dj-node title").length,
    part: part ? part.dataset.name : null,
  };
}"""


@pytest.mark.browser
def test_js_hover_shows_the_definition_tooltip(lab):
    schema, _ = lab
    state = {**dj.Diagram(schema).to_dict(), "theme": "light", "page_size": 5}
    with widget_page(DiagramWidget._css, VIEWPORT) as (page, errors):
        page.evaluate(RENDER_WITH_FAKE_MODEL, {"esm": diagram_esm(), "state": state})
        tip = page.locator(".dj-node-tooltip")
        assert tip.is_hidden()
        page.locator(".dj-node[data-name$='__unit']").hover()
        assert tip.is_visible()
        assert "Stats.Unit (Part)" in tip.inner_text() and "unit : int16" in tip.inner_text()
        page.mouse.move(1, 1)
        assert tip.is_hidden() and errors == []


@pytest.mark.browser
def test_js_click_pages_rows_through_the_rows_command(lab):
    schema, tables = lab
    subject = tables["Subject"]
    if not len(subject):
        subject.insert([{"subject": i, "name": f"s{i}"} for i in range(7)])
    widget = widget_for(dj.Diagram(schema))
    widget.page_size = 5
    name = subject().full_name
    pages = {str(offset): widget.rows_page(table=name, offset=offset) for offset in (0, 5)}
    state = {**dj.Diagram(schema).to_dict(), "theme": "light", "page_size": 5}
    with widget_page(DiagramWidget._css, VIEWPORT) as (page, errors):
        page.evaluate(RENDER_WITH_FAKE_MODEL, {"esm": diagram_esm(), "state": state,
                                               "pages": pages})
        assert page.locator(".dj-diagram-preview").is_hidden()
        page.locator(f".dj-node[data-name='{name}']").click()
        rows = page.locator(".dj-diagram-preview table.dj-rows tbody tr")
        assert rows.count() == 5
        calls = page.evaluate("() => window.djCalls")
        assert calls[0]["name"] == "_rows" and calls[0]["timeout"] is True
        assert calls[0]["msg"] == {"table": name, "offset": 0, "limit": 5}
        assert page.locator(".dj-page-info").inner_text() == "rows 1–5 of 7"
        assert page.locator(".dj-page-prev").is_disabled()
        page.locator(".dj-page-next").click()
        assert page.locator(".dj-page-info").inner_text() == "rows 6–7 of 7"
        assert rows.count() == 2 and rows.first.inner_text().split("\t")[:2] == ["5", "s5"]
        assert page.locator(".dj-page-next").is_disabled() and errors == []
    widget.close()


def test_esm_is_valid_json_wrapped_dagre():
    first_line = diagram_esm().split("\n", 1)[0]
    source = json.loads(first_line[len("const DAGRE_SOURCE = "):-1])
    assert "export{" in source.replace(" ", "")


def test_bundle_carries_a_static_picture_next_to_the_widget_view(lab):
    import xml.etree.ElementTree as ET

    schema, _ = lab
    bundle = dj.Diagram(schema)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "object at 0x" not in bundle["text/plain"]
    assert bundle["text/plain"] == "dj.Diagram: 8 tables, 7 foreign keys in schema lab"
    picture = ET.fromstring(bundle["image/svg+xml"])
    names = {g.get("data-name") for g in picture.iter("{http://www.w3.org/2000/svg}g")
             if g.get("class") == "dj-node"}
    assert names == {n["name"] for n in dj.Diagram(schema).to_dict()["nodes"]}


BIG_VIEWPORT = {"width": 1200, "height": 900}
SCALE = "() => parseFloat(document.querySelector('.dj-viewport').dataset.scale)"
NODE_BOX = """(name) => {
  const node = document.querySelector(`.dj-node[data-name="${name}"]`).getBoundingClientRect();
  const view = document.querySelector('.dj-viewport').getBoundingClientRect();
  return {cx: node.x + node.width / 2 - view.x, cy: node.y + node.height / 2 - view.y,
          w: view.width, h: view.height};
}"""


@pytest.mark.browser
def test_js_300_tables_search_zoom_select_collapse_and_close(tmp_path):
    from tests.big_diagram import big_model

    model = big_model(300)
    state = {**model, "theme": "light", "page_size": 5}
    shots = Path(os.environ.get("DJ_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with widget_page(DiagramWidget._css, BIG_VIEWPORT) as (page, errors):
        result = page.evaluate(RENDER_WITH_FAKE_MODEL, {"esm": diagram_esm(), "state": state})
        assert result["nodes"] == 300 and result["edges"] == len(model["edges"])
        fitted = page.evaluate(SCALE)
        assert 0 < fitted < 1  # 300 tables start fitted into the viewport
        page.screenshot(path=str(shots / "diagram_300_fit.png"))

        # search: the table is marked and centred, zoomed to at least 1:1
        target = model["nodes"][250]
        page.locator(".dj-search").fill(target["class_name"].lower())
        page.locator(".dj-search").press("Enter")
        found = page.locator(".dj-node.dj-found")
        assert found.count() == 1 and found.get_attribute("data-name") == target["name"]
        box = page.evaluate(NODE_BOX, target["name"])
        assert abs(box["cx"] - box["w"] / 2) < 2 and abs(box["cy"] - box["h"] / 2) < 2
        assert page.evaluate(SCALE) == 1
        page.screenshot(path=str(shots / "diagram_300_search.png"))
        page.locator(".dj-search").fill("no such table")
        page.locator(".dj-search").press("Enter")
        assert "no table matches" in page.locator(".dj-search-status").inner_text()

        # zoom: the wheel and the buttons change the scale; fit returns to the whole diagram
        page.mouse.move(600, 300)
        page.mouse.wheel(0, -300)
        assert page.evaluate(SCALE) > 1
        page.locator(".dj-zoom-out").click()
        page.locator(".dj-fit").click()
        assert page.evaluate(SCALE) == pytest.approx(fitted, rel=1e-3)

        # drag pans the drawing
        before = page.locator(".dj-pan").get_attribute("transform")
        page.mouse.move(600, 500)
        page.mouse.down()
        page.mouse.move(700, 560, steps=5)
        page.mouse.up()
        assert page.locator(".dj-pan").get_attribute("transform") != before

        # select: the node's upstream and downstream are highlighted, the rest fades
        page.locator(".dj-fit").click()
        page.evaluate("(name) => document.querySelector(`.dj-node[data-name=\"${name}\"]`)"
                      ".dispatchEvent(new MouseEvent('click', {bubbles: true}))", target["name"])
        parents = {e["parent"] for e in model["edges"] if e["child"] == target["name"]}
        children = {e["child"] for e in model["edges"] if e["parent"] == target["name"]}
        names = "ns => ns.map(n => n.dataset.name)"
        up = set(page.eval_on_selector_all(".dj-node.dj-upstream", names))
        down = set(page.eval_on_selector_all(".dj-node.dj-downstream", names))
        assert parents <= up and children <= down and not up & down
        assert page.locator(".dj-has-selection").count() == 1
        page.screenshot(path=str(shots / "diagram_300_lineage.png"))

        # the row preview opened (no kernel here: it says so) and closes
        preview = page.locator(".dj-diagram-preview")
        assert preview.is_visible()
        page.locator(".dj-preview-close").click()
        assert preview.is_hidden()

        # collapse a schema into one node and expand it again
        page.evaluate("() => document.querySelector('.dj-cluster-label[data-schema=\"pipe0\"]')"
                      ".dispatchEvent(new MouseEvent('click', {bubbles: true}))")
        folded = page.locator(".dj-node.dj-tier-schema")
        folded.wait_for()
        in_pipe0 = sum(n["schema"] == "pipe0" for n in model["nodes"])
        assert page.locator(".dj-node").count() == 300 - in_pipe0 + 1
        assert folded.text_content() == f"pipe0 ({in_pipe0})"
        page.screenshot(path=str(shots / "diagram_300_collapsed.png"))
        page.evaluate("() => document.querySelector('.dj-node.dj-tier-schema')"
                      ".dispatchEvent(new MouseEvent('click', {bubbles: true}))")
        page.wait_for_function("() => document.querySelectorAll('.dj-node').length === 300")

        # the hover card stays inside the viewport, even at its bottom-right corner
        page.locator(".dj-fit").click()
        corner = max(model["nodes"], key=lambda n: page.evaluate(NODE_BOX, n["name"])["cy"])
        page.locator(f".dj-node[data-name='{corner['name']}']").hover()
        tip = page.locator(".dj-node-tooltip").bounding_box()
        view = page.locator(".dj-viewport").bounding_box()
        assert tip["y"] + tip["height"] <= view["y"] + view["height"] + 1
        assert tip["x"] + tip["width"] <= view["x"] + view["width"] + 1
        page.screenshot(path=str(shots / "diagram_300_hover.png"))
        assert errors == []
