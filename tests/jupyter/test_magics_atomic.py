"""``%%dj_table`` declarations are all or nothing: a bad Part or bad Lookup contents in the
cell leave no table, part or catalogue entry behind."""

from __future__ import annotations

import uuid

import pytest

pytest.importorskip("IPython")

from IPython.core.error import UsageError  # noqa: E402

from dj_jupyter.catalog import metadata as catalog  # noqa: E402


def _name() -> str:
    return "T" + uuid.uuid4().hex[:8]


def _catalogue(ip) -> tuple[set, set]:
    schema = ip.run_line_magic("dj_schema", "lab")
    return set(catalog.table_names(schema.connection, "lab")), set(schema.lineage)


def test_a_bad_part_in_the_cell_declares_nothing(ip) -> None:
    ip.run_cell("import dj_jupyter as dj")
    before = _catalogue(ip)
    name = _name()
    cell = ("rec_id : int32\n# --- python ---\n"
            "class Channel(dj.Part):\n"
            "    definition = '-> master\\nchannel int32'\n")
    with pytest.raises(UsageError, match="channel int32"):
        ip.run_cell_magic("dj_table", name, cell)
    assert _catalogue(ip) == before
    assert name not in ip.user_ns
    ip.run_cell_magic("dj_table", name, cell.replace("channel int32", "channel : int32"))
    assert ip.user_ns[name]().is_declared and ip.user_ns[name].Channel().is_declared


def test_bad_lookup_contents_in_the_cell_declare_nothing(ip) -> None:
    before = _catalogue(ip)
    name = _name()
    cell = ("kind_id : int32\n---\nlabel : varchar(8)\n# --- python ---\n"
            "contents = [(1, 'a', 'x')]\n")
    with pytest.raises(UsageError, match="3 value"):
        ip.run_cell_magic("dj_table", f"{name} lookup", cell)
    assert _catalogue(ip) == before
    ip.run_cell_magic("dj_table", f"{name} lookup", cell.replace(", 'x'", ""))
    assert ip.user_ns[name].to_dicts() == [{"kind_id": 1, "label": "a"}]
