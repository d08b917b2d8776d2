"""Destructive actions (invariant 6): no DDL or prompt inside a transaction, a confirmation
binds what is deleted or dropped, and safemode without a terminal is a clear error."""

from __future__ import annotations

import builtins
import io
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dj_jupyter as dj
from dj_jupyter.errors import DataJointError, TransactionError
from dj_jupyter.tables.cascade import ChangedSinceShown
from dj_jupyter.tables.table import FreeTable
from tests.backend import pipeline


@pytest.fixture
def p(schema):
    lab = pipeline.lab(schema)
    pipeline.fill_lab(lab)
    return lab


@pytest.fixture
def other(db_url: str):
    """A second session on the same database (another user at another notebook)."""
    connection = dj.Connection(db_url)
    yield connection
    connection.close()


def _answer_after(action, answer: str = "yes"):
    """An ``input`` that first lets another session act (between prompt and answer)."""
    asked = []

    def fake_input(question: str = "") -> str:
        asked.append(question)
        action()
        return answer

    return fake_input, asked


# -- 3. Schema.drop refuses inside a transaction --------
@pytest.mark.parametrize("prompt", [False, True])
def test_schema_drop_is_refused_inside_a_transaction(p, schema, conn, monkeypatch, prompt):
    monkeypatch.setattr(builtins, "input", lambda question="": pytest.fail("asked"))
    with conn.transaction, pytest.raises(TransactionError, match="inside a transaction"):
        schema.drop(prompt=prompt)
    assert schema.exists and len(p.Subject) == 3


# -- 4. DDL inside a transaction is refused on every backend --------
def test_ddl_inside_a_transaction_is_refused_and_the_transaction_rolls_back(p, schema, conn,
                                                                             schema_name):
    with pytest.raises(TransactionError, match="inside a transaction"):
        with conn.transaction:
            p.Subject.insert1({"subject_id": 9, "species": "rat"})
            p.Score.drop_quick()  # MariaDB would commit the insert here
    assert not p.Subject & {"subject_id": 9}  # the insert was rolled back with the rest
    assert p.Score().is_declared and len(p.Score) == 4
    with pytest.raises(TransactionError, match="inside a transaction"):
        with conn.transaction:
            p.Subject.insert1({"subject_id": 9, "species": "rat"})
            dj.Schema(schema_name + "_new", connection=conn)
    assert not p.Subject & {"subject_id": 9}
    assert schema_name + "_new" not in dj.list_schemas(conn)


def test_raw_ddl_text_inside_a_transaction_is_refused(p, conn):
    with pytest.raises(TransactionError), conn.transaction:
        p.Subject.insert1({"subject_id": 9, "species": "rat"})
        conn.execute(sa.text("  create table t_ddl_probe (x integer)"))
    assert not p.Subject & {"subject_id": 9}
    assert len(p.Subject) == 3


# -- 5. the confirmation binds what is deleted --------
def test_delete_stops_if_another_session_added_a_matching_row(p, other, monkeypatch):
    subjects = FreeTable(other, p.Subject().full_name)
    fake, asked = _answer_after(lambda: subjects.insert1({"subject_id": 4, "species": "mouse"}))
    monkeypatch.setattr(builtins, "input", fake)
    with pytest.raises(ChangedSinceShown, match="nothing was deleted"):
        (p.Subject & "subject_id > 1").delete(prompt=True)
    assert asked
    assert len(p.Subject) == 4 and len(p.Session) == 4 and len(p.Session.Trial) == 12


def test_delete_stops_if_another_session_added_a_dependent_row(p, other, monkeypatch):
    trials = FreeTable(other, p.Session.Trial().full_name)
    fake, _ = _answer_after(lambda: trials.insert1(
        {"subject_id": 1, "session": 1, "trial": 7, "outcome": "miss"}))
    monkeypatch.setattr(builtins, "input", fake)
    with pytest.raises(ChangedSinceShown, match="session__trial had 6"):
        (p.Subject & {"subject_id": 1}).delete(prompt=True)
    assert len(p.Subject) == 3 and len(p.Session.Trial) == 13


def test_delete_goes_ahead_when_nothing_changed(p, monkeypatch):
    monkeypatch.setattr(builtins, "input", lambda question="": "yes")
    assert (p.Subject & {"subject_id": 1}).delete(prompt=True) == 1
    assert len(p.Subject) == 2 and len(p.Session.Trial) == 6


def test_drop_stops_if_another_session_changed_the_rows(p, other, monkeypatch):
    scores = FreeTable(other, p.Score().full_name)
    fake, _ = _answer_after(lambda: scores.delete_quick())
    monkeypatch.setattr(builtins, "input", fake)
    with pytest.raises(ChangedSinceShown, match="nothing was dropped"):
        p.Session.drop(prompt=True)
    assert p.Session().is_declared and p.Score().is_declared and len(p.Session) == 4


def test_schema_drop_stops_if_another_session_declared_a_table(p, schema, schema_name, other,
                                                              monkeypatch):
    def declare_elsewhere() -> None:
        late = dj.Schema(schema_name, connection=other)

        @late
        class Late(dj.Manual):
            definition = """
            late_id: int32
            """

    fake, _ = _answer_after(declare_elsewhere)
    monkeypatch.setattr(builtins, "input", fake)
    with pytest.raises(ChangedSinceShown, match="nothing was dropped"):
        schema.drop(prompt=True)
    assert schema.exists and len(p.Subject) == 3


# -- 6. safemode without a terminal --------
@pytest.mark.parametrize("stdin", [io.StringIO(""), None], ids=["closed", "none"])
def test_prompt_without_a_terminal_names_prompt_false(p, schema, monkeypatch, stdin):
    monkeypatch.setattr(sys, "stdin", stdin)
    with dj.config.override(safemode=True):
        for action in (lambda: (p.Subject & {"subject_id": 1}).delete(),
                       lambda: p.Session.drop(), lambda: schema.drop()):
            with pytest.raises(DataJointError, match="prompt=False") as caught:
                action()
            assert not isinstance(caught.value, EOFError)
    assert len(p.Subject) == 3 and len(p.Session.Trial) == 12 and schema.exists


# -- 7. declarations are all or nothing -------------------------------------------------------
def _tables(conn, schema) -> set[str]:
    from dj_jupyter.catalog import metadata as catalog

    return set(catalog.table_names(conn, schema.database)), set(schema.lineage)


def test_master_with_a_bad_part_declares_nothing(schema, conn):
    before = _tables(conn, schema)

    class Recording(dj.Manual):
        definition = """
        recording_id: int32
        """

        class Channel(dj.Part):
            definition = """
            -> master
            channel int32
            """

    with pytest.raises(dj.errors.DefinitionError, match="channel int32"):
        schema(Recording)
    assert _tables(conn, schema) == before
    assert not Recording().is_declared and "recording" not in schema.list_tables()


@pytest.mark.parametrize("contents, message", [
    ([(1, "a", "extra")], "3 value"),
    ([(1,)], "1 value"),
    (5, "list of rows"),
    ([(1, "a"), ("x", "b")], "kind_id"),
])
def test_lookup_with_bad_contents_declares_nothing(schema, conn, contents, message):
    before = _tables(conn, schema)

    class Kind(dj.Lookup):
        definition = """
        kind_id: int32
        ---
        label: varchar(8)
        """

        class Alias(dj.Part):
            definition = """
            -> master
            alias: varchar(8)
            """

    Kind.contents = contents
    with pytest.raises(DataJointError, match=message):
        schema(Kind)
    assert _tables(conn, schema) == before
    assert not Kind().is_declared and not Kind.Alias().is_declared


def test_a_good_lookup_still_declares_with_its_contents(schema):
    @schema
    class Shape(dj.Lookup):
        definition = """
        shape: varchar(8)
        ---
        sides: int32
        """
        contents = [("triangle", 3), {"shape": "square", "sides": 4}]

    assert sorted(Shape.to_dicts(), key=lambda r: r["sides"]) == [
        {"shape": "triangle", "sides": 3}, {"shape": "square", "sides": 4}]


# -- 5, as a property: whatever the other session does, the delete is exactly what was shown ---
_ACTIONS = st.sampled_from(["nothing", "insert matching", "insert other", "delete matching",
                            "add a trial"])


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subjects=st.sets(st.integers(1, 9), min_size=1, max_size=6),
       threshold=st.integers(0, 9), action=_ACTIONS)
def test_a_confirmed_delete_is_what_was_shown_or_nothing(p, other, monkeypatch, subjects,
                                                         threshold, action):
    (p.Subject & "subject_id >= 0").delete(prompt=False)  # a fresh start per example
    p.Subject.insert([{"subject_id": s, "species": "mouse"} for s in subjects])
    p.Session.insert([{"subject_id": s, "session": 1} for s in subjects])
    full = {t: FreeTable(other, t().full_name) for t in (p.Subject, p.Session.Trial)}
    matching = sorted(s for s in subjects if s > threshold)

    def act() -> None:  # the other session, between the prompt and the answer
        if action == "insert matching":
            full[p.Subject].insert1({"subject_id": 10 + threshold, "species": "rat"})
        elif action == "insert other":
            full[p.Subject].insert1({"subject_id": 0, "species": "rat"})
        elif action == "delete matching" and matching:
            (full[p.Subject] & {"subject_id": matching[0]}).delete(prompt=False)
        elif action == "add a trial" and matching:
            full[p.Session.Trial].insert1({"subject_id": matching[0], "session": 1, "trial": 1,
                                           "outcome": "hit"})

    fake, _ = _answer_after(act)
    monkeypatch.setattr(builtins, "input", fake)
    query = p.Subject & f"subject_id > {threshold}"
    before_act = len(p.Subject)
    if not matching:
        assert query.delete(prompt=True) == 0  # nothing to delete: nothing asked
        return
    changed = action in ("insert matching", "delete matching", "add a trial")
    if changed:
        with pytest.raises(ChangedSinceShown):
            query.delete(prompt=True)
        expected = before_act + (1 if action == "insert matching" else
                                 -1 if action == "delete matching" else 0)
        assert len(p.Subject) == expected  # nothing was deleted
    else:
        assert query.delete(prompt=True) == len(matching)
        left = {r["subject_id"] for r in p.Subject.to_dicts()}
        assert left == ({s for s in subjects if s <= threshold}
                        | ({0} if action == "insert other" else set()))


def test_a_script_without_stdin_gets_the_datajoint_error(p, db_url, tmp_path):
    """A real script, stdin closed (as in CI): safemode's prompt is a DataJointError."""
    script = tmp_path / "delete.py"
    script.write_text(
        "import sys\nimport dj_jupyter as dj\n"
        "connection = dj.Connection(sys.argv[1])\n"
        "dj.FreeTable(connection, sys.argv[2]).delete()\n")
    env = {**os.environ, "DJ_SAFEMODE": "true"}
    done = subprocess.run([sys.executable, str(script), db_url, p.Subject().full_name],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("dj_jupyter.errors.DataJointError") and "prompt=False" in last, \
        done.stderr
    assert "EOFError" not in done.stderr
    assert len(p.Subject) == 3
