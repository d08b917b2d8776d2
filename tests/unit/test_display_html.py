"""Static HTML and text of a page (pure: pages built by hand, no database)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import dj_jupyter as dj
from dj_jupyter.display.html import page_html, rows_css
from dj_jupyter.display.page import Page
from dj_jupyter.display.text import page_text


def _page(**changes) -> Page:
    fields = dict(
        names=["subject_id", "name", "payload"], key=["subject_id"],
        types={"subject_id": "int32", "name": "varchar(16)", "payload": "<blob@raw>"},
        comments={"subject_id": "who", "name": 'first "given" name', "payload": ""},
        badges={"payload": "<blob@raw>"},
        rows=[["1", "<b>ann</b>", "<blob@raw>"], ["2", "NULL", "<blob@raw>"]],
        offset=0, total=2, limit=12)
    fields.update(changes)
    return Page(**fields)


class _Cells(HTMLParser):
    """Collects header cells (attributes, text) and badge texts of the rendered HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.headers: list[dict] = []
        self.badges: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "th":
            self.headers.append({**attributes, "text": ""})
        if tag == "span" and attributes.get("class") == "dj-badge":
            self.badges.append("")
        self._open.append(attributes.get("class") or tag)

    def handle_endtag(self, tag):
        self._open.pop()

    def handle_data(self, data):
        if "th" in self._open or "dj-key" in self._open:
            self.headers[-1]["text"] += data
        if self._open and self._open[-1] == "dj-badge":
            self.badges[-1] += data


def _parse(markup: str) -> _Cells:
    cells = _Cells()
    cells.feed(markup.split("</style>", 1)[1])
    return cells


def test_key_marked_and_tooltips_hold_type_and_comment():
    cells = _parse(page_html(_page()))
    key, name, payload = cells.headers
    assert key["class"] == "dj-key" and key["data-column"] == "subject_id"
    assert key["text"] == "\u26b7subject_id"
    assert key["title"] == "subject_id : int32\nwho\n(primary key)"
    assert "class" not in name and name["title"] == 'name : varchar(16)\nfirst "given" name'
    assert payload["title"].endswith("(values not fetched for display)")


def test_badges_values_escaped_and_nulls_marked():
    markup = page_html(_page())
    assert _parse(markup).badges == ["<blob@raw>", "<blob@raw>"]
    assert "&lt;b&gt;ann&lt;/b&gt;" in markup and "<b>ann" not in markup
    assert '<span class="dj-null">NULL</span>' in markup
    assert markup.count('<td class="dj-key-cell">') == 2


def test_note_says_total_and_first_rows():
    assert ">2 rows</p>" in page_html(_page())
    one = _page(rows=[["1", "x", "<blob@raw>"]], total=1)
    assert ">1 row</p>" in page_html(one)
    more = page_html(_page(total=1234))
    assert ">first 2 of 1,234 rows</p>" in more
    later = page_html(_page(offset=24, total=1234))
    assert ">rows 25–26 of 1,234 rows</p>" in later
    with dj.config.override({"display.show_tuple_count": False}):
        assert ">first 2 rows</p>" in page_html(_page(total=1234))


def test_css_uses_only_theme_variables_with_fallbacks():
    css = rows_css()
    variables = re.findall(r"var\((--[\w-]+)(,?)", css)
    assert variables
    theme = [(name, comma) for name, comma in variables if not name.startswith("--dj-")]
    assert all(name.startswith("--jp-") and comma == "," for name, comma in theme)
    assert "<style>" + css in page_html(_page())


def test_text_page_marks_key_and_total():
    text = page_text(_page(total=30))
    first_line = text.splitlines()[0]
    assert first_line.split()[:2] == ["*subject_id", "name"]
    assert "   ..." in text and "(Total: 30)" in text and "<blob@raw>" in text


def test_page_to_dict_is_json_able():
    import json

    page = _page()
    assert json.loads(json.dumps(page.to_dict())) == page.to_dict()
    assert page.more is False and _page(total=3).more is True


def test_floats_show_six_significant_digits():
    from dj_jupyter.display.page import display_text

    assert display_text(0.2 + 0.01) == "0.21"  # not 0.21000000000000002
    assert display_text(1.0) == "1.0" and display_text(-3.0) == "-3.0"
    assert display_text(1234567.0) == "1.23457e+06"
    assert display_text(float("nan")) == "nan" and display_text(None) == "NULL"
