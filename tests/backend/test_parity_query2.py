"""DataJoint 2.x parity of the query algebra, the console, prompts and the server errors.

Each test states a behaviour DataJoint users rely on: key-only unions of attributes born in
different tables, the wording of refused left joins and ``dj.U`` operators, ``TypeError`` for
arguments of the wrong type, ``NotImplementedError`` for a class without a definition,
``tier_regexp``, ``dj.cli(args)``, answering safemode through ``dj.utils.input``, ``close()``
inside a transaction, ``conn_info``, ``original_type`` and privilege errors.
"""

from __future__ import annotations

import re
import uuid

import pytest

import dj_jupyter as dj
from dj_jupyter.backends import connection as connections
from dj_jupyter.errors import (
    AccessError,
    DataJointError,
    LostConnectionError,
    MissingDefinitionError,
    RestrictionError,
)


@pytest.fixture
def pairs(schema):
    """Two key-only tables whose ``i`` and ``j`` are born in each (different lineages)."""

    class IJ(dj.Lookup):
        definition = """
        i : int32
        j : int32
        """
        contents = [(i, j + 2) for i in range(3) for j in range(3)]

    class JI(dj.Lookup):
        definition = """
        j : int32
        i : int32
        """
        contents = [(j, i + 1) for i in range(3) for j in range(3)]

    context = {"IJ": IJ, "JI": JI}
    schema(IJ, context=context)
    schema(JI, context=context)
    return IJ, JI


def _pairs(query) -> set[tuple[int, int]]:
    return {(row["i"], row["j"]) for row in query.to_dicts()}


def test_key_only_union_unites_values_of_any_lineage(pairs):
    IJ, JI = pairs
    united = IJ + JI
    assert _pairs(united) == _pairs(IJ) | _pairs(JI)
    assert len(united) == len(_pairs(IJ) | _pairs(JI))
    # its key was born in two tables: it has no lineage, so joining it needs the caller's word
    assert united.heading["i"].lineage is None
    with pytest.raises(RestrictionError, match="lineage"):
        united * IJ
    assert _pairs(united.join(IJ, semantic_check=False)) == _pairs(IJ)


def test_outer_union_still_needs_one_lineage(pairs):
    IJ, JI = pairs
    with pytest.raises(RestrictionError, match="lineage"):
        IJ.proj(a="i + 1") + JI.proj(b="j + 1")


def test_refused_left_join_says_the_left_operand_must_determine_the_right(schema):
    class Topic(dj.Manual):
        definition = """
        topic_id : int32
        """

    class Item(dj.Manual):
        definition = """
        item_id : int32
        ---
        -> Topic
        """

    context = {"Topic": Topic, "Item": Item}
    schema(Topic, context=context)
    schema(Item, context=context)
    for refused in (lambda: Topic.join(Item, left=True), lambda: Topic.extend(Item)):
        with pytest.raises(RestrictionError, match="left operand to determine") as error:
            refused()
        assert "item_id" in str(error.value)
    Topic.insert1({"topic_id": 1})
    assert Item.join(Topic, left=True).to_dicts() == []


def test_universal_set_operators_say_why_they_are_refused(pairs):
    IJ, _ = pairs
    for refused in (lambda: dj.U("i") * IJ, lambda: IJ * dj.U("i")):
        with pytest.raises(DataJointError, match="no longer supported"):
            refused()
    with pytest.raises(DataJointError, match="infinite"):
        dj.U("i") - IJ
    assert len(dj.U("i") & IJ) == 3


@pytest.mark.parametrize("arguments", [dict(limit="1"), dict(order_by=1), dict(offset="1"),
                                       dict(limit=1.0), dict(order_by=["i", 2])])
def test_top_arguments_of_a_wrong_type_are_type_errors(pairs, arguments):
    IJ, _ = pairs
    with pytest.raises(TypeError) as error:
        IJ & dj.Top(**arguments)
    assert isinstance(error.value, DataJointError)


def test_top_with_a_negative_limit_is_not_a_type_error(pairs):
    with pytest.raises(RestrictionError) as error:
        dj.Top(limit=-1)
    assert not isinstance(error.value, TypeError)


def test_a_class_without_definition_is_not_implemented(schema):
    class Nameless(dj.Manual):
        definitions = """  # misspelled
        id : int32
        """

    with pytest.raises(NotImplementedError) as error:
        schema(Nameless, context={})
    assert isinstance(error.value, MissingDefinitionError)
    assert "definition" in str(error.value)


def test_tier_regexp_matches_the_tables_of_its_tier_only(schema):
    class Animal(dj.Manual):
        definition = """
        animal_id : int32
        """

    class Species(dj.Lookup):
        definition = """
        species : varchar(16)
        """

    class Scan(dj.Imported):
        definition = """
        -> Animal
        """

        def make(self, key):
            self.insert1(key)

    class Score(dj.Computed):
        definition = """
        -> Scan
        """

        class Part(dj.Part):
            definition = """
            -> master
            n : int32
            """

        def make(self, key):
            self.insert1(key)

    context = {"Animal": Animal, "Species": Species, "Scan": Scan, "Score": Score}
    for cls in context.values():
        schema(cls, context=context)
    tiers = (dj.Manual, dj.Lookup, dj.Imported, dj.Computed, dj.Part)
    for cls in (Animal, Species, Scan, Score, Score.Part):
        assert re.fullmatch(cls.tier_regexp, cls.table_name), cls.__name__
        for tier in tiers:
            assert issubclass(cls, tier) or not re.fullmatch(tier.tier_regexp, cls.table_name)
    groups = re.fullmatch(dj.Part.tier_regexp, Score.Part.table_name).groupdict()
    assert groups["master"] == Score.table_name and groups["computed"] == Score.table_name


def test_cli_version_help_and_schemas(schema, db_url, capsys, monkeypatch):
    with pytest.raises(SystemExit) as stop:
        dj.cli(args=["-V"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"{dj.__name__} {dj.__version__}\n"
    with pytest.raises(SystemExit) as stop:
        dj.cli(args=["--help"])
    assert stop.value.code == 0 and "--schemas" in capsys.readouterr().out
    assert callable(dj.cli) and callable(dj.cli.main)  # the console; the worker command

    class Note(dj.Manual):
        definition = """
        note_id : int32
        """

    schema(Note, context={})
    Note.insert([{"note_id": 1}, {"note_id": 2}])
    typed = iter(["print('rows', len(lab.Note()))"])

    def console_input(prompt: str = "") -> str:
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr("builtins.input", console_input)
    connections.set_default(dj.Connection(db_url))  # the console's dj.conn()
    try:
        with pytest.raises(SystemExit):
            dj.cli(args=["-s", f"{schema.database}:lab"])
    finally:
        connections.set_default(None)
    output = capsys.readouterr()
    assert "rows 2" in output.out + output.err
    assert f"lab -> schema {schema.database}" in output.err


def test_cli_refuses_a_schema_without_alias():
    with pytest.raises(SystemExit) as stop:
        dj.cli(args=["-s", "no_alias"])
    assert stop.value.code == 2


@pytest.mark.parametrize("answer, dropped", [("yes", True), ("no", False), ("y", True),
                                             ("", False), ("maybe", False)])
def test_safemode_is_answered_through_dj_utils_input(schema, monkeypatch, answer, dropped):
    class Trash(dj.Manual):
        definition = """
        trash_id : int32
        """

    schema(Trash, context={})
    Trash.insert1({"trash_id": 1})
    asked = []

    def answering(prompt: str = "") -> str:
        asked.append(prompt)
        return answer

    monkeypatch.setattr(dj.utils, "input", answering, raising=False)
    with dj.config.override(safemode=True):
        Trash.drop()
    assert len(asked) == 1 and asked[0].endswith("[yes/No]: ")
    assert ("trash" in schema.list_tables()) is not dropped


def test_close_inside_a_transaction_loses_it(schema, conn):
    class Entry(dj.Manual):
        definition = """
        entry_id : int32
        """

    schema(Entry, context={})
    with conn.transaction:
        Entry.insert1({"entry_id": 1})
        conn.close()
        with pytest.raises(LostConnectionError):
            conn.query("SELECT 1")
    assert not conn.in_transaction
    assert len(Entry()) == 0  # the insert before close() was never committed
    with conn.transaction:
        Entry.insert1({"entry_id": 2})
    assert Entry.to_dicts() == [{"entry_id": 2}]


def test_conn_info_shows_tls_as_asked_and_never_the_password(db_url, backend):
    plain = dj.Connection(db_url)
    insecure = dj.Connection(db_url, use_tls=False)
    try:
        assert plain.conn_info["ssl_input"] is None and "ssl" not in plain.conn_info
        assert insecure.conn_info["ssl_input"] is False and "ssl" not in insecure.conn_info
        password = plain.url.password
        for info in (plain.conn_info, insecure.conn_info):
            assert info["host"] == plain.url.host and info["user"] == plain.url.username
            assert not password or password not in repr(info)
        assert insecure.query("SELECT 1").fetchone()[0] == 1
    finally:
        plain.close()
        insecure.close()


def test_original_type_is_the_definition_spelling(schema):
    class Subject(dj.Manual):
        definition = """
        subject_id : int32
        ---
        species : enum('mouse', 'rat')
        """

    schema(Subject, context={})
    Subject.definition = """
    subject_id : int32
    ---
    species : enum('mouse', 'rat')
    status : enum('active', 'retired', 'transferred')
    weight = null : float32
    """
    Subject.alter(prompt=False, context={})
    heading = Subject().heading
    assert heading["status"].original_type == "enum('active', 'retired', 'transferred')"
    assert heading["weight"].original_type == "float32"
    Subject.insert1({"subject_id": 1, "species": "rat", "status": "retired"})
    assert (Subject & {"subject_id": 1}).fetch1("status") == "retired"


def test_make_classes_fills_the_schema_context(schema, conn):
    class Language(dj.Lookup):
        definition = """
        language : varchar(16)
        """
        contents = [("Greek",), ("Latin",)]

    schema(Language, context={})
    namespace: dict = {}
    reader = dj.Schema(schema.database, namespace, connection=conn)
    reader.make_classes()
    assert len(namespace["Language"]()) == 2


def _declare_language(schema) -> None:
    class Language(dj.Lookup):
        definition = """
        language : varchar(16)
        """
        contents = [("Greek",)]

    schema(Language, context={})


def test_make_classes_without_a_namespace_fills_the_callers(schema, conn):
    _declare_language(schema)
    dj.Schema(schema.database, connection=conn).make_classes()
    made = locals()["Language"]  # put into this function's namespace, as in DataJoint
    assert issubclass(made, dj.Lookup) and len(made()) == 1


def test_dropping_a_schema_another_session_dropped_does_nothing(schema, db_url):
    class Kept(dj.Manual):
        definition = """
        kept_id : int32
        """

    schema(Kept, context={})
    assert len(Kept()) == 0  # the catalogue of this session knows the table
    other = dj.Connection(db_url)
    try:
        dj.Schema(schema.database, connection=other).drop(prompt=False)
    finally:
        other.close()
    with dj.config.override(safemode=True):
        schema.drop()  # nothing left: no question, no error
    assert schema.database not in dj.list_schemas(schema.connection)


@pytest.fixture
def Known(schema):
    class Known(dj.Lookup):
        definition = """
        known_id : int32
        """
        contents = [(1,)]

    schema(Known, context={})
    return Known


def test_a_user_without_privileges_meets_access_errors(backend, server, schema, Known):
    """MySQL: a new user with no privilege creates no schema and reads none."""
    if backend != "mysql":
        pytest.skip("a new user needs CREATE USER, which only the MySQL test server grants")
    user = f"nobody_{uuid.uuid4().hex[:8]}"
    admin = schema.connection
    admin.query(f"CREATE USER '{user}'@'%%' IDENTIFIED BY 'secret'")
    reader = dj.Connection(server.url.replace(f"{server.user}:{server.password}",
                                              f"{user}:secret", 1))
    try:
        for name in (f"t_{uuid.uuid4().hex[:12]}", schema.database):
            with pytest.raises(AccessError, match="privilege"):
                dj.Schema(name, connection=reader)
        with pytest.raises(AccessError):
            reader.query(f"INSERT INTO {Known().full_table_name} VALUES (2)")
    finally:
        reader.close()
        admin.query(f"DROP USER '{user}'@'%%'")
    assert len(Known()) == 1


def test_revoked_privileges_are_access_errors(backend, schema, Known):
    """PostgreSQL: the owner of a schema and a table, without its CREATE and INSERT
    privileges, declares no table and inserts no row."""
    if backend != "postgresql":
        pytest.skip("an owner revokes its own privileges only on PostgreSQL")
    table, run = Known().full_table_name, schema.connection.query
    run(f"REVOKE INSERT ON {table} FROM CURRENT_USER")
    run(f'REVOKE CREATE ON SCHEMA "{schema.database}" FROM CURRENT_USER')
    try:
        with pytest.raises(AccessError, match="privilege"):
            Known.insert1({"known_id": 2})

        class Refused(dj.Manual):
            definition = """
            refused_id : int32
            """

        with pytest.raises(AccessError):
            schema(Refused, context={})
    finally:
        run(f"GRANT INSERT ON {table} TO CURRENT_USER")
        run(f'GRANT CREATE ON SCHEMA "{schema.database}" TO CURRENT_USER')
    assert "refused" not in schema.list_tables()
    Known.insert1({"known_id": 2})
    assert len(Known()) == 2


def test_postgresql_indexes_foreign_keys_under_datajoints_names(backend, schema):
    """PostgreSQL indexes no foreign key by itself: a foreign key that no index leads with
    gets one, named as DataJoint names it (``idx_<table>_<columns>``), so both read one
    layout; a key the primary key or a declared index leads with gets none."""
    if backend != "postgresql":
        pytest.skip("MySQL indexes foreign keys itself; SQLite names indexes per file")

    class Master(dj.Manual):
        definition = """
        master_id : int32
        """

    class Child(dj.Manual):
        definition = """
        child_id : int32
        ---
        -> Master
        """

    class Pair(dj.Manual):
        definition = """
        pair_id : int32
        -> Master
        """

    class Leading(dj.Manual):
        definition = """
        -> Master
        leading_id : int32
        """

    class Noted(dj.Manual):
        definition = """
        noted_id : int32
        ---
        -> Master
        note : varchar(16)
        index (master_id, note)
        """

    context = {c.__name__: c for c in (Master, Child, Pair, Leading, Noted)}
    for cls in context.values():
        schema(cls, context=context)

    def indexes(cls) -> dict[str, str]:
        rows = schema.connection.query(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s "
            "AND tablename = %s AND indexname LIKE 'idx%%'", (schema.database, cls.table_name))
        return dict(rows.fetchall())

    assert set(indexes(Child)) == {"idx_child_master_id"}
    assert set(indexes(Pair)) == {"idx_pair_master_id"}
    assert indexes(Leading) == {}
    assert set(indexes(Noted)) == {"idx_noted_master_id_note"}
    Master.insert1({"master_id": 1})
    Child.insert1({"child_id": 1, "master_id": 1})
    assert len(Child * Master) == 1
