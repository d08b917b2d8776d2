"""The notebook magics, driven through IPython's test-friendly ``InteractiveShell``."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

import dj_jupyter as dj

pytest.importorskip("IPython")

from IPython.core.error import UsageError  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

from dj_jupyter.jupyter.magics import TableCard  # noqa: E402

SUBJECT = "subject_id : int32\n---\nname : varchar(32)\n"


def _name() -> str:
    return "T" + uuid.uuid4().hex[:8]


def test_declare_binds_class_and_rows_work(ip) -> None:
    name = _name()
    card = ip.run_cell_magic("dj_table", name, SUBJECT)
    table = ip.user_ns[name]
    assert card.table_class is table and issubclass(table, dj.Manual)
    table.insert1({"subject_id": 1, "name": "ann"})
    assert [r["name"] for r in table.to_dicts()] == ["ann"]
    html = card._repr_html_()
    assert "subject_id" in html and "--jp-" in html and "<dd>1</dd>" in html


def test_run_cell_displays_the_card(ip) -> None:
    name = _name()
    result = ip.run_cell(f"%%dj_table {name} lookup\n{SUBJECT}")
    assert result.success, result.error_in_exec
    data, _ = ip.display_formatter.format(result.result)
    assert name in data["text/html"] and "Lookup" in data["text/html"]


def test_python_body_defines_make(ip) -> None:
    number, squared = _name(), _name()
    ip.run_cell_magic("dj_table", f"{number} lookup",
                      "n : int32\n# --- python ---\ncontents = [(2,), (3,)]\n")
    cell = (f"-> {number}\n---\nsquared : int32\n# --- python ---\n"
            "def make(self, key):\n"
            f"    n = ({number} & key).fetch1('n')\n"
            "    self.insert1({**key, 'squared': n * n})\n")
    ip.run_cell_magic("dj_table", f"{squared} computed", cell)
    table = ip.user_ns[squared]
    table.populate()
    assert sorted(r["squared"] for r in table.to_dicts()) == [4, 9]
    assert ip.user_ns[squared]().parents() == [ip.user_ns[number]().full_table_name]


def test_unchanged_rerun_is_a_no_op(ip) -> None:
    name = _name()
    ip.run_cell_magic("dj_table", name, "# subjects\n" + SUBJECT)
    ip.user_ns[name].insert1({"subject_id": 1, "name": "ann"})
    card = ip.run_cell_magic("dj_table", name, "# subjects\n" + SUBJECT)
    assert len(card.table_class()) == 1 and ip.user_ns[name] is card.table_class


def test_changed_rerun_reports_the_diff_and_changes_nothing(ip) -> None:
    name = _name()
    ip.run_cell_magic("dj_table", name, SUBJECT)
    old = ip.user_ns[name]
    old.insert1({"subject_id": 1, "name": "ann"})
    changed = SUBJECT + "weight = null : float64\n"
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("dj_table", name, changed)
    message = str(info.value)
    assert "+ weight = null : float64" in message and f"{name}.alter()" in message
    assert ip.user_ns[name] is old and old.heading.names == ["subject_id", "name"]
    result = ip.run_cell(f"%%dj_table {name}\n{changed}")
    assert not result.success and isinstance(result.error_in_exec, UsageError)
    old.definition = changed  # what the message says to do
    old.alter(prompt=False)
    card = ip.run_cell_magic("dj_table", name, changed)
    assert isinstance(card, TableCard) and len(card.table_class()) == 1


def test_changed_key_in_plain_shell_says_what_drop_deletes(ip) -> None:
    name = _name()
    ip.run_cell_magic("dj_table", name, SUBJECT)
    ip.user_ns[name].insert1({"subject_id": 1, "name": "ann"})
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("dj_table", name, SUBJECT.replace("int32", "int64"))
    message = str(info.value)
    assert "drop and re-declare: 1 row in 1 table would be deleted" in message
    assert f"{name}.drop()" in message and "Traceback" not in message


@pytest.fixture
def widget_ip(ip):
    magics = ip.magics_manager.registry["DataJointMagics"]
    magics.widgets = True
    yield ip
    magics.widgets = None


def test_apply_button_alters_and_keeps_rows(widget_ip) -> None:
    ip, name = widget_ip, _name()
    ip.run_cell_magic("dj_table", name, SUBJECT)
    ip.user_ns[name].insert1({"subject_id": 1, "name": "ann"})
    panel = ip.run_cell_magic("dj_table", name, SUBJECT + "weight = null : float64  # grams\n")
    assert "dj-apply-alter" in panel.button._dom_classes
    assert "+ weight = null : float64  # grams" in panel.message.value
    assert ip.user_ns[name].heading.names == ["subject_id", "name"]  # nothing yet
    panel.click()
    table = ip.user_ns[name]
    assert table.heading.names == ["subject_id", "name", "weight"]
    assert [r["name"] for r in table.to_dicts()] == ["ann"]
    assert "Done." in panel.result.value and "weight = null : float64" in panel.result.value
    assert not table.connection.in_transaction
    card = ip.run_cell_magic("dj_table", name, SUBJECT + "weight = null : float64  # grams\n")
    assert isinstance(card, TableCard)  # the re-run now matches: a no-op


def test_drop_redeclare_button_says_what_goes_then_does_it(widget_ip) -> None:
    ip, parent, child = widget_ip, _name(), _name()
    ip.run_cell_magic("dj_table", parent, SUBJECT)
    ip.run_cell_magic("dj_table", child, f"-> {parent}\nday : int16\n")
    ip.user_ns[parent].insert([{"subject_id": 1, "name": "a"}, {"subject_id": 2, "name": "b"}])
    ip.user_ns[child].insert1({"subject_id": 1, "day": 1})
    new = "subject_id : int32\nvisit : int16\n---\nname : varchar(32)\n"
    panel = ip.run_cell_magic("dj_table", parent, new)
    assert "dj-drop-redeclare" in panel.button._dom_classes
    assert "drop and re-declare: 3 rows in 2 tables would be deleted" in panel.message.value
    assert len(ip.user_ns[parent]) == 2  # untouched until the click
    panel.click()  # safemode: asked again, with the rows per table
    assert panel.confirm.layout.display is None and len(ip.user_ns[parent]) == 2
    panel.confirm_drop()
    table = ip.user_ns[parent]
    assert table.heading.primary_key == ["subject_id", "visit"] and len(table) == 0
    assert not ip.user_ns[child]().is_declared


def test_apply_error_is_shown_short_and_changes_nothing(widget_ip) -> None:
    ip, name = widget_ip, _name()
    ip.run_cell_magic("dj_table", name, SUBJECT)
    ip.user_ns[name].insert1({"subject_id": 1, "name": "ann"})
    panel = ip.run_cell_magic("dj_table", name, SUBJECT + "age : int16\n")
    panel.click()
    assert "give it a default" in panel.result.value and "Traceback" not in panel.result.value
    assert not panel.button.disabled
    assert ip.user_ns[name].heading.names == ["subject_id", "name"]


def test_bad_definition_names_the_cell_line(ip) -> None:
    with pytest.raises(UsageError, match=r"cell line 4: 'name varchar\(32\)'"):
        ip.run_cell_magic("dj_table", _name(), "subject_id : int32\n---\nname varchar(32)\n")


def test_python_syntax_error_names_the_cell_line(ip) -> None:
    with pytest.raises(UsageError, match="cell line 4"):
        ip.run_cell_magic("dj_table", _name(), "a : int32\n# --- python ---\ndef make(self\n")


def test_unknown_parent_is_a_usage_error(ip) -> None:
    with pytest.raises(UsageError, match="cell line 2: '-> NoSuchTable'"):
        ip.run_cell_magic("dj_table", _name(), "-> NoSuchTable\n")


def test_no_active_schema_names_dj_schema(ip, tmp_path: Path) -> None:
    ip.run_line_magic("dj_connect", f"sqlite:///{tmp_path / 'other.db'}")
    with pytest.raises(UsageError, match="%dj_schema name"):
        ip.run_cell_magic("dj_table", _name(), SUBJECT)


def test_schema_option_and_bad_tier(ip) -> None:
    name = _name()
    card = ip.run_cell_magic("dj_table", f"{name} --schema other", SUBJECT)
    assert card.table_class().database == "other"
    with pytest.raises(UsageError, match="unknown tier"):
        ip.run_cell_magic("dj_table", f"{_name()} derived", SUBJECT)


def test_default_connection_from_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dj_jupyter.backends import connection as connection_module

    monkeypatch.setattr(connection_module, "_default", {})
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "dj_jupyter")
    with dj.config.override(database__path=str(tmp_path / "default.db")):
        connection = shell.run_line_magic("dj_connect", "")
        try:
            schema = shell.run_line_magic("dj_schema", "lab")
            assert schema.connection is connection is dj.conn()
            assert (tmp_path / "default.db").exists()
        finally:
            connection.close()
