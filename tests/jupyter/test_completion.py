"""Tab completion in %%dj_table cells, through IPython's real completer."""

from __future__ import annotations

import uuid

import pytest

import dj_jupyter as dj

pytest.importorskip("IPython")

from IPython.core.completer import provisionalcompleter  # noqa: E402


def _name() -> str:
    return "Subject" + uuid.uuid4().hex[:6]


def _complete(ip, cell: str) -> list[str]:
    """The completion texts at the end of ``cell`` (its last line holds the cursor)."""
    with provisionalcompleter():
        return [c.text for c in ip.Completer.completions(cell, len(cell))]


def test_after_arrow_offers_declared_tables(ip) -> None:
    name = _name()
    ip.run_cell_magic("dj_table", name, "subject_id : int32\n")
    found = _complete(ip, "%%dj_table Session\n-> Sub")
    assert name in found and all(text.startswith("Sub") for text in found)
    assert name in _complete(ip, "%%dj_table Session\n-> [nullable] Sub")
    assert name in _complete(ip, "%%dj_table Session\nsession : int16\n---\n->  ")


def test_tables_of_the_schema_not_in_the_namespace_are_offered(ip) -> None:
    name = _name()
    ip.run_cell_magic("dj_table", f"{name} lookup", "kind : varchar(8)\n")
    del ip.user_ns[name]
    assert name in _complete(ip, "%%dj_table Other\n-> ")


def test_part_tables_are_offered_with_their_master(ip) -> None:
    class Recording(dj.Manual):
        definition = "rec : int16\n"

        class Channel(dj.Part):
            definition = "-> master\nchannel : int16\n"

    schema = ip.run_line_magic("dj_schema", "lab")
    schema(Recording, context={})
    ip.user_ns["Recording"] = Recording
    assert "Recording.Channel" in _complete(ip, "%%dj_table Spikes\n-> Recording.")


def test_after_colon_offers_types_and_codecs(ip) -> None:
    assert {"int32", "varchar", "<blob>", "<blob@>"} <= set(_complete(ip, "%%dj_table T\nx : "))
    assert "varchar" in _complete(ip, "%%dj_table T\nname : var")
    assert "int64" in _complete(ip, "%%dj_table T\ncount = 0 : int")


def test_codecs_complete_after_their_angle_bracket(ip) -> None:
    """JupyterLab filters on the HTML-escaped label, so the fragment must not hold ``<``."""
    cell = "%%dj_table T\nid : int32\n---\nsignal : <bl"
    with provisionalcompleter():
        found = list(ip.Completer.completions(cell, len(cell)))
    assert [c.text for c in found][:2] == ["blob>", "blob@>"]
    assert {(c.start, c.end) for c in found} == {(len(cell) - 2, len(cell))}
    with dj.config.override(stores={"raw": {"protocol": "file", "location": "/tmp/raw"}}):
        assert "npy@raw>" in _complete(ip, "%%dj_table T\nx : <np")
        assert _complete(ip, "%%dj_table T\nx : <npy@r") == ["npy@raw>"]


def test_the_magic_line_completes_tiers(ip) -> None:
    assert _complete(ip, "%%dj_table T ") == ["manual", "lookup", "imported", "computed"]
    assert _complete(ip, "%%dj_table T co") == ["computed"]
    assert "computed" not in _complete(ip, "%%dj_table co")


def test_a_reference_with_no_table_yet_offers_no_python_names(ip) -> None:
    assert "abs" not in _complete(ip, "%%dj_table Other\n-> ")


def test_silent_outside_dj_table_cells_and_in_the_python_part(ip) -> None:
    assert "<blob>" not in _complete(ip, "x : <bl")
    ip.user_ns["SubjectLike"] = 1
    python_part = "%%dj_table T\nid : int32\n# --- python ---\nx = Subj"
    assert "SubjectLike" in _complete(ip, python_part)  # IPython's own completion
    assert "int32" not in _complete(ip, "%%dj_table T\nid : int32  # an int")
