"""Safer destructive actions in a notebook, on every backend: the alter panel's diff and its
safemode question, ``%dj_schema`` binding ``schema``, and delete/drop confirmed by a widget
that does exactly what it showed (or nothing, saying what changed)."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dj_jupyter as dj

pytest.importorskip("IPython")

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from IPython.utils.capture import capture_output  # noqa: E402

from dj_jupyter.catalog.events import CatalogEvent, subscribe_catalog  # noqa: E402
from dj_jupyter.jupyter.alter_ui import diff_lines  # noqa: E402
from dj_jupyter.jupyter.confirm_ui import ConfirmPanel, WidgetConfirm  # noqa: E402
from dj_jupyter.tables.cascade import set_confirm, terminal_confirm  # noqa: E402
from tests.backend import pipeline  # noqa: E402


@pytest.fixture
def nb(db_url: str, schema_name: str) -> Iterator[SimpleNamespace]:
    """A shell with the extension on the backend, schema active, the confirmation a widget
    (what ``%load_ext`` installs in a kernel), and a filled lab pipeline."""
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "dj_jupyter")
    magics = shell.magics_manager.registry["DataJointMagics"]
    connection = shell.run_line_magic("dj_connect", db_url)
    schema = shell.run_line_magic("dj_schema", schema_name)
    hook = WidgetConfirm()
    previous = set_confirm(hook)
    magics.widgets = True
    lab = pipeline.lab(schema)
    pipeline.fill_lab(lab)
    try:
        yield SimpleNamespace(ip=shell, hook=hook, schema=schema, lab=lab, conn=connection)
    finally:
        set_confirm(previous)
        magics.widgets = None
        connection.close()


@pytest.fixture
def other(db_url: str) -> Iterator[dj.Connection]:
    """Another session on the same database (a colleague at another notebook)."""
    connection = dj.Connection(db_url)
    yield connection
    connection.close()


def _shown(nb: SimpleNamespace, action: Any) -> tuple[Any, ConfirmPanel, dict]:
    """Run ``action`` as a cell would; return its result, the panel and its display bundle."""
    with capture_output() as captured:
        result = action()
    assert nb.hook.last is not None and len(captured.outputs) == 1
    return result, nb.hook.last, captured.outputs[0].data


def _counts(lab: SimpleNamespace) -> dict[str, int]:
    return {name: len(getattr(lab, name)()) for name in ("Subject", "Session", "Score")} | {
        "Trial": len(lab.Session.Trial())}


# -- delete -------------------------------------------------------------------------------------
def test_delete_shows_the_rows_per_table_and_deletes_on_the_click(nb) -> None:
    subject = nb.lab.Subject & {"subject_id": 1}
    expected = {n: c for n, c in subject.delete_preview().items() if c}
    before = _counts(nb.lab)
    returned, panel, bundle = _shown(nb, subject.delete)
    assert returned == 0 and _counts(nb.lab) == before  # shown, nothing deleted yet
    assert not nb.conn.in_transaction  # nothing held open while the widget waits
    for name, count in expected.items():
        assert f"<code>{name}</code></td><td class=\"dj-confirm-count\">{count}</td>" \
            in panel.message.value
    total = sum(expected.values())
    assert panel.go.description == f"Delete {total} rows in {len(expected)} tables"
    assert "Nothing has been deleted yet" in bundle["text/html"]  # the saved fallback
    assert "application/vnd.jupyter.widget-view+json" in bundle
    panel.click()
    assert f"Deleted {total} rows in {len(expected)} tables." in panel.result.value
    assert panel.buttons.layout.display == "none"
    assert "Nothing has been deleted yet" not in panel.message.value  # no stale promise
    after = _counts(nb.lab)
    assert after == {"Subject": before["Subject"] - 1, "Session": before["Session"] - 2,
                     "Score": before["Score"] - 2, "Trial": before["Trial"] - 6}


def test_delete_changed_between_the_widget_and_the_click_deletes_nothing(nb, other) -> None:
    _, panel, _ = _shown(nb, (nb.lab.Subject & {"subject_id": 1}).delete)
    session = dj.FreeTable(other, nb.lab.Session().full_name)
    session.insert1({"subject_id": 1, "session": 9})  # a colleague adds a matching row
    before = _counts(nb.lab)
    panel.click()
    assert _counts(nb.lab) == before  # rolled back: nothing deleted
    assert "nothing was deleted" in panel.result.value and "had 2" in panel.result.value
    assert panel.buttons.layout.display == "none"  # stale: run the delete again
    assert not nb.conn.in_transaction


def test_cancel_dismisses_and_deletes_nothing(nb) -> None:
    before = _counts(nb.lab)
    _, panel, _ = _shown(nb, nb.lab.Session.delete)
    panel.dismiss()
    assert "Cancelled; nothing was deleted." in panel.result.value
    assert panel.buttons.layout.display == "none" and _counts(nb.lab) == before


def test_a_click_while_a_transaction_is_open_is_refused_and_can_be_retried(nb) -> None:
    _, panel, _ = _shown(nb, (nb.lab.Subject & {"subject_id": 3}).delete)
    with nb.conn.transaction:
        panel.click()
        assert "own transaction" in panel.result.value and not panel.go.disabled
    panel.click()
    assert "Deleted 1 row in 1 table." in panel.result.value
    assert not nb.lab.Subject & {"subject_id": 3}


_ACTIONS = st.sampled_from(["nothing", "insert matching", "insert other", "delete matching",
                            "add a trial"])


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subjects=st.sets(st.integers(1, 9), min_size=1, max_size=5),
       threshold=st.integers(0, 8), action=_ACTIONS)
def test_the_widget_removes_exactly_what_it_showed_or_nothing(nb, other, subjects, threshold,
                                                               action) -> None:
    lab = nb.lab
    (lab.Subject & "subject_id >= 0").delete(prompt=False)  # a fresh start per example
    lab.Subject.insert([{"subject_id": s, "species": "mouse"} for s in subjects])
    lab.Session.insert([{"subject_id": s, "session": 1} for s in subjects])
    matching = sorted(s for s in subjects if s > threshold)
    query = lab.Subject & f"subject_id > {threshold}"
    if not matching:
        nb.hook.last = None
        assert query.delete() == 0 and nb.hook.last is None  # nothing to delete: no widget
        return
    _, panel, _ = _shown(nb, query.delete)
    shown = {n: c for n, c in panel.request.counts.items()}
    subject = dj.FreeTable(other, lab.Subject().full_name)
    if action == "insert matching":
        subject.insert1({"subject_id": 10 + threshold, "species": "rat"})
    elif action == "insert other":
        subject.insert1({"subject_id": 0, "species": "rat"})
    elif action == "delete matching":
        (subject & {"subject_id": matching[0]}).delete(prompt=False)
    elif action == "add a trial":
        dj.FreeTable(other, lab.Session.Trial().full_name).insert1(
            {"subject_id": matching[0], "session": 1, "trial": 1, "outcome": "hit"})
    tables = {n: dj.FreeTable(nb.conn, n) for n in shown}
    before = {n: len(t) for n, t in tables.items()}
    panel.click()
    after = {n: len(t) for n, t in tables.items()}
    if action in ("insert matching", "delete matching", "add a trial"):
        assert after == before and "nothing was deleted" in panel.result.value
    else:
        assert after == {n: before[n] - shown[n] for n in shown}
        assert "Deleted" in panel.result.value


# -- drop ---------------------------------------------------------------------------------------
def test_table_drop_through_the_widget(nb) -> None:
    score = nb.lab.Score()
    events: list[CatalogEvent] = []
    unsubscribe = subscribe_catalog(events.append)
    try:
        _, panel, bundle = _shown(nb, score.drop)
        assert score.is_declared and f"<code>{score.full_name}</code>" in bundle["text/html"]
        assert panel.go.description == "Drop 4 rows in 1 table" and events == []
        panel.click()
    finally:
        unsubscribe()
    assert not score.is_declared and "Dropped 4 rows in 1 table." in panel.result.value
    assert ("drop", score.table_name) in [(e.kind, e.table) for e in events]  # live diagrams


def test_table_drop_changed_before_the_click_drops_nothing(nb, other) -> None:
    session = nb.lab.Session()
    _, panel, _ = _shown(nb, session.drop)
    dj.FreeTable(other, nb.lab.Score().full_name).delete_quick()  # a colleague empties Score
    panel.click()
    assert "nothing was dropped" in panel.result.value
    assert session.is_declared and nb.lab.Score().is_declared and len(session) == 4


def test_schema_drop_through_the_widget(nb) -> None:
    _, panel, bundle = _shown(nb, nb.schema.drop)
    assert panel.go.description.startswith("Drop schema ") and "Species" not in bundle
    assert nb.schema.exists
    panel.click()
    assert not nb.schema.exists and "Dropped" in panel.result.value


def test_the_terminal_prompt_is_the_default(nb, monkeypatch) -> None:
    asked: list[str] = []
    monkeypatch.setattr(builtins, "input", lambda q="": asked.append(q) or "yes")
    assert set_confirm(None) is nb.hook
    try:
        assert (nb.lab.Subject & {"subject_id": 3}).delete() == 1
    finally:
        assert set_confirm(nb.hook) is terminal_confirm
    assert asked == ["Delete these rows? [yes/No]: "]


# -- the alter panel ----------------------------------------------------------------------------
SUBJECT = "subject_id : int32\n---\nname : varchar(32)\n"


def test_a_new_key_attribute_is_marked_and_the_drop_asks_with_counts(nb) -> None:
    ip = nb.ip
    ip.run_cell_magic("dj_table", "Animal", SUBJECT)
    ip.run_cell_magic("dj_table", "Visit", "-> Animal\nday : int16\n")
    ip.user_ns["Animal"].insert([{"subject_id": 1, "name": "a"}, {"subject_id": 2, "name": "b"}])
    ip.user_ns["Visit"].insert1({"subject_id": 1, "day": 1})
    panel = ip.run_cell_magic("dj_table", "Animal",
                              "subject_id : int32\nvisit : int16\n---\nname : varchar(32)\n")
    html = panel.message.value
    # the whole definition, the new line marked and badged as primary key
    assert '<span class="dj-diff-same dj-diff-in-key">  subject_id : int32</span>' in html
    assert ('<span class="dj-diff-add dj-diff-in-key">+ visit : int16 <span class="dj-diff-key">'
            "primary key</span></span>") in html
    assert '<span class="dj-diff-same">  name : varchar(32)</span>' in html
    assert "+ visit : int16   <- primary key" in panel.report.text()
    assert panel.button.layout.width == "auto"
    panel.click()  # safemode: asks again with the rows per table
    assert panel.confirm.layout.display is None and panel.button.layout.display == "none"
    assert panel.confirm_go.description == "Drop 2 tables and re-declare"
    assert len(ip.user_ns["Animal"]()) == 2
    panel.cancel_drop()
    assert "nothing changed" in panel.result.value and len(ip.user_ns["Animal"]()) == 2
    panel.click()
    panel.confirm_drop()
    assert ip.user_ns["Animal"]().heading.primary_key == ["subject_id", "visit"]
    assert not ip.user_ns["Visit"]().is_declared and "Done." in panel.result.value
    assert "was applied" in panel.message.value and "would be deleted" not in panel.message.value


def test_redeclare_drops_nothing_if_the_counts_changed(nb, other) -> None:
    ip = nb.ip
    ip.run_cell_magic("dj_table", "Pet", SUBJECT)
    panel = ip.run_cell_magic("dj_table", "Pet", SUBJECT.replace("int32", "int64"))
    assert "0 rows in 1 table" in panel.message.value
    dj.FreeTable(other, ip.user_ns["Pet"]().full_name).insert1({"subject_id": 1, "name": "x"})
    panel.click()
    panel.confirm_drop()
    assert "nothing was dropped" in panel.result.value and "Re-run this cell" in panel.result.value
    assert len(ip.user_ns["Pet"]()) == 1


def test_without_safemode_drop_and_redeclare_is_one_click(nb) -> None:
    ip = nb.ip
    ip.run_cell_magic("dj_table", "Cage", SUBJECT)
    panel = ip.run_cell_magic("dj_table", "Cage", SUBJECT.replace("int32", "int64"))
    assert "text/html" in panel._repr_mimebundle_()
    with dj.config.override(safemode=False):
        panel.click()
    assert "Done." in panel.result.value and panel.confirm.layout.display == "none"


# -- %dj_schema ---------------------------------------------------------------------------------
def test_dj_schema_binds_schema_and_a_chosen_name(nb, schema_name) -> None:
    ip = nb.ip
    assert ip.user_ns["schema"] is nb.schema
    other = ip.run_line_magic("dj_schema", f"{schema_name}_b --as lab_b")
    assert ip.user_ns["lab_b"] is other and ip.user_ns["schema"] is nb.schema
    with pytest.raises(Exception, match="--as variable"):
        ip.run_line_magic("dj_schema", f"{schema_name} --as 1x")


# -- the diff, as a property --------------------------------------------------------------------
_LINES = st.lists(st.sampled_from(["a : int32", "b : int16", "---", "c : float64", "# note",
                                   "d = 1 : int8"]), max_size=8)


@given(old=_LINES, new=_LINES)
def test_the_diff_holds_both_definitions_whole(old: list[str], new: list[str]) -> None:
    lines = diff_lines(old, new)
    assert [line.text for line in lines if line.mark != "-"] == new
    assert [line.text for line in lines if line.mark != "+"] == old
    divider = new.index("---") if "---" in new else len(new)
    new_side = [line for line in lines if line.mark != "-"]
    assert [line.key for line in new_side] == [
        i < divider and not text.startswith("#") for i, text in enumerate(new)]
