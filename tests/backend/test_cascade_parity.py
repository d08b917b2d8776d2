"""Cascading delete and trace as DataJoint 2.x defines them, on every backend.

A part's deleted rows lift to the master rows they belong to by following the part's own
foreign keys (through other parts of the master, renamed or not); ``enforce`` refuses by the
data (master rows that would stay while their parts go), ``cascade`` adds those masters.
A ``dj.Top`` seed deletes and traces the rows it selects. ``Diagram.cascade/trace(...).counts()``
are keyed by ``full_table_name``. A bad ``part_integrity`` is a ValueError (and a
DataJointError) before anything is read.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dj_jupyter as dj
from dj_jupyter.errors import DataJointError


def chain(schema, renamed: bool = False):
    """Master with PartA (-> master) and PartB (-> PartA, optionally renamed: no master_id)."""

    @schema
    class Master(dj.Manual):
        definition = """
        master_id : int32
        """

        class PartA(dj.Part):
            definition = """
            -> master
            part_a_id : int32
            """

        if renamed:
            class PartB(dj.Part):
                definition = """
                -> Master.PartA.proj(src_master='master_id', src_part='part_a_id')
                part_b_id : int32
                """
        else:
            class PartB(dj.Part):
                definition = """
                -> Master.PartA
                part_b_id : int32
                """

    return Master


def test_part_of_part_lifts_to_its_master(schema):
    Master = chain(schema)
    Master.insert([{"master_id": 1}, {"master_id": 2}])
    Master.PartA.insert([{"master_id": m, "part_a_id": a} for m, a in ((1, 10), (1, 11), (2, 20))])
    Master.PartB.insert([{"master_id": m, "part_a_id": a, "part_b_id": b}
                         for m, a, b in ((1, 10, 100), (1, 10, 101), (1, 11, 110), (2, 20, 200))])
    seed = Master.PartB & {"master_id": 1, "part_a_id": 10, "part_b_id": 100}
    counts = dj.Diagram.cascade(seed, part_integrity="cascade").counts()
    assert counts == {Master.full_table_name: 1, Master.PartA.full_table_name: 2,
                      Master.PartB.full_table_name: 3}
    assert seed.delete(prompt=False, part_integrity="cascade") == 3  # all of master 1's
    assert Master.to_arrays("master_id").tolist() == [2]
    assert len(Master.PartA()) == len(Master.PartB()) == 1


def test_renamed_part_of_part_lifts_through_the_renames(schema):
    Master = chain(schema, renamed=True)
    Master.insert([{"master_id": 1}, {"master_id": 2}])
    Master.PartA.insert([{"master_id": 1, "part_a_id": 10}, {"master_id": 2, "part_a_id": 20}])
    Master.PartB.insert([{"src_master": 1, "src_part": 10, "part_b_id": 100},
                         {"src_master": 2, "src_part": 20, "part_b_id": 200}])
    seed = Master.PartB & {"src_master": 1}
    counts = dj.Diagram.cascade(seed, part_integrity="cascade").counts()
    assert counts[Master.full_table_name] == 1 and counts[Master.PartA.full_table_name] == 1
    seed.delete(prompt=False, part_integrity="cascade")
    assert Master.to_arrays("master_id").tolist() == [2]


def shared_ext(schema, secondary_master: bool = False):
    """Ext, and Master with parts referencing Ext (PartB only if not ``secondary_master``)."""

    @schema
    class Ext(dj.Manual):
        definition = """
        ext_id : int32
        """

    if secondary_master:
        @schema
        class Master(dj.Manual):
            definition = """
            master_id : int32
            """

            class P(dj.Part):
                definition = """
                -> Ext
                part_id : int32
                ---
                -> master
                """
    else:
        @schema
        class Master(dj.Manual):
            definition = """
            master_id : int32
            """

            class PartA(dj.Part):
                definition = """
                -> master
                -> Ext
                """

            class PartB(dj.Part):
                definition = """
                -> master
                -> Ext
                """

    return Ext, Master


def test_every_part_of_a_master_lifts_its_own_rows(schema):
    Ext, Master = shared_ext(schema)
    Ext.insert([{"ext_id": 1}, {"ext_id": 2}])
    Master.insert([{"master_id": m} for m in (1, 2, 3)])
    Master.PartA.insert([{"master_id": 1, "ext_id": 1}, {"master_id": 3, "ext_id": 2}])
    Master.PartB.insert([{"master_id": 2, "ext_id": 1}, {"master_id": 3, "ext_id": 2}])
    seed = Ext & {"ext_id": 1}
    assert dj.Diagram.cascade(seed, part_integrity="cascade").counts()[
        Master.full_table_name] == 2
    seed.delete(prompt=False, part_integrity="cascade")
    assert Master.to_arrays("master_id").tolist() == [3]
    assert len(Master.PartA()) == len(Master.PartB()) == 1 and len(Ext()) == 1


def test_enforce_refuses_by_the_data_before_anything_goes(schema):
    Ext, Master = shared_ext(schema)
    Ext.insert([{"ext_id": 1}, {"ext_id": 2}])
    Master.insert([{"master_id": 1}])
    Master.PartA.insert([{"master_id": 1, "ext_id": 1}])
    with pytest.raises(DataJointError, match="before its master"):
        (Ext & {"ext_id": 1}).delete(prompt=False)
    assert len(Ext()) == 2 and len(Master.PartA()) == 1 and len(Master()) == 1
    # no part row goes: nothing to refuse
    assert (Ext & {"ext_id": 2}).delete(prompt=False) == 1
    # the master goes in the same delete (through another path): allowed
    assert (Master & {"master_id": 1}).delete(prompt=False) == 1


def test_cascade_lists_a_master_with_no_rows(schema):
    Ext, Master = shared_ext(schema)
    Ext.insert([{"ext_id": 1}, {"ext_id": 2}])
    Master.insert([{"master_id": 1}])
    Master.PartA.insert([{"master_id": 1, "ext_id": 1}])
    seed = Ext & {"ext_id": 2}
    counts = dj.Diagram.cascade(seed, part_integrity="cascade").counts()
    assert counts[Master.full_table_name] == 0 and counts[Ext.full_table_name] == 1
    seed.delete(prompt=False, part_integrity="cascade")
    assert len(Ext()) == 1 and len(Master()) == 1 and len(Master.PartA()) == 1


def test_a_secondary_master_reference_lifts_only_its_master(schema):
    Ext, Master = shared_ext(schema, secondary_master=True)
    Ext.insert([{"ext_id": 1}, {"ext_id": 2}])
    Master.insert([{"master_id": 1}, {"master_id": 2}])
    Master.P.insert([{"ext_id": 1, "part_id": 10, "master_id": 1},
                     {"ext_id": 2, "part_id": 20, "master_id": 2}])
    counts = dj.Diagram.cascade(Ext & {"ext_id": 1}, part_integrity="cascade").counts()
    assert counts[Master.full_table_name] == 1


def items(schema):
    @schema
    class Item(dj.Manual):
        definition = """
        item_id : int32
        """

    @schema
    class Child(dj.Manual):
        definition = """
        -> Item
        child_id : int32
        """

    Item.insert([{"item_id": i} for i in range(5)])
    Child.insert([{"item_id": i, "child_id": 0} for i in range(5)])
    return Item, Child


def test_a_top_seed_deletes_and_traces_the_rows_it_selects(schema):
    Item, Child = items(schema)
    seed = Item & dj.Top(2, order_by="item_id")
    assert dj.Diagram.cascade(seed).counts() == {Item.full_table_name: 2,
                                                 Child.full_table_name: 2}
    traced = dj.Diagram.trace(Child & dj.Top(2, order_by="item_id desc")).counts()
    assert traced == {Item.full_table_name: 2, Child.full_table_name: 2}
    assert seed.delete_preview() == {Item().full_name: 2, Child().full_name: 2}
    assert seed.delete(prompt=False) == 2
    assert sorted(Item.to_arrays("item_id").tolist()) == [2, 3, 4]
    (Child & dj.Top(1, order_by="item_id")).delete_quick()
    assert sorted(Child.to_arrays("item_id").tolist()) == [3, 4]
    nothing = Item & "item_id > 100" & dj.Top(2, order_by="item_id")
    assert dj.Diagram.cascade(nothing).counts()[Child.full_table_name] == 0
    assert nothing.delete(prompt=False) == 0 and len(Item()) == 3


def test_bad_part_integrity_is_a_value_error_before_anything_happens(schema):
    Item, _ = items(schema)
    with pytest.raises(ValueError, match="part_integrity must be"):
        dj.Diagram.cascade(Item & {"item_id": 1}, part_integrity="casade")
    with pytest.raises(DataJointError, match="part_integrity must be"):
        (Item & {"item_id": 1}).delete(prompt=False, part_integrity="enforcee")
    for value in ("cascade", "enforcee"):  # cascade re-derives rows: delete only
        with pytest.raises(ValueError, match="part_integrity must be"):
            Item.drop(prompt=False, part_integrity=value)
    assert len(Item()) == 5


def test_trace_holds_the_seed_and_its_ancestors_only(schema):
    @schema
    class Parent(dj.Manual):
        definition = """
        parent_id : int32
        """

    @schema
    class Master(dj.Manual):
        definition = """
        master_id : int32
        """

        class P(dj.Part):
            definition = """
            -> master
            -> Parent
            """

    @schema
    class Child(dj.Manual):
        definition = """
        -> Master
        child_id : int32
        """

    Parent.insert1({"parent_id": 5})
    Master.insert([{"master_id": 10}, {"master_id": 11}])
    Master.P.insert1({"master_id": 10, "parent_id": 5})
    Child.insert([{"master_id": 10, "child_id": 1}, {"master_id": 11, "child_id": 1}])
    trace = dj.Diagram.trace(Child & {"master_id": 10})
    assert trace.counts() == {Master.full_table_name: 1, Child.full_table_name: 1}
    assert trace[Master.full_table_name].to_arrays("master_id").tolist() == [10]
    assert Master.full_table_name in trace and Parent.full_table_name not in trace
    for outside in (Master.P, Parent):  # a master's part is not an ancestor of its children
        with pytest.raises(DataJointError, match="not in this trace"):
            trace[outside]


# -- as a property: what the preview counts is what goes, and masters go with their parts ----
@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(links=st.lists(st.tuples(st.integers(1, 4), st.integers(1, 3), st.booleans()),
                      max_size=8, unique_by=lambda t: (t[0], t[1], t[2])),
       seed=st.sets(st.integers(1, 3), max_size=3),
       integrity=st.sampled_from(["enforce", "ignore", "cascade"]))
def test_the_preview_is_what_a_delete_removes_and_masters_stay_whole(schema, links, seed,
                                                                     integrity):
    """Masters 1..4 whose parts A and B reference Ext rows 1..3; delete some Ext rows."""
    Ext, Master = shared_ext(schema)  # declared by the first example, bound again after
    Master.delete(prompt=False)  # a fresh start per example (parts go with their masters)
    Ext.delete(prompt=False)
    Ext.insert([{"ext_id": e} for e in (1, 2, 3)])
    Master.insert([{"master_id": m} for m in (1, 2, 3, 4)])
    for master, ext, in_b in links:
        (Master.PartB if in_b else Master.PartA).insert1({"master_id": master, "ext_id": ext})
    hit = {m for m, e, _ in links if e in seed}  # masters with a part row that goes
    query = Ext & [{"ext_id": e} for e in seed]
    if integrity == "enforce" and hit:
        with pytest.raises(DataJointError, match="before its master"):
            query.delete(prompt=False)
        assert len(Ext()) == 3 and len(Master()) == 4
        return
    shown = dj.Diagram.cascade(query, part_integrity=integrity).counts()
    before = {t.full_table_name: len(t()) for t in (Ext, Master, Master.PartA, Master.PartB)}
    query.delete(prompt=False, part_integrity=integrity)
    after = {t.full_table_name: len(t()) for t in (Ext, Master, Master.PartA, Master.PartB)}
    assert {n: before[n] - after[n] for n in before} == {n: shown.get(n, 0) for n in before}
    remaining = set(Master.to_arrays("master_id").tolist())
    assert remaining == ({1, 2, 3, 4} - hit if integrity == "cascade" else {1, 2, 3, 4})


# -- dropping one table keeps what other tables share ---------------------------------------
def _enum_types(connection, schema_name: str) -> list[str]:
    """The schema's PostgreSQL enum types (other backends keep enums in the column)."""
    if connection.adapter.backend != "postgresql":
        return []
    rows = connection.query(
        "SELECT t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n "
        "ON n.oid = t.typnamespace WHERE t.typtype = 'e' AND n.nspname = %s",
        args=(schema_name,)).fetchall()
    return [row[0] for row in rows]


def test_drop_keeps_a_shared_enum_and_its_last_column_takes_it(schema, backend):
    @schema
    class Animal(dj.Manual):
        definition = """
        animal_id : int32
        ---
        species : enum('mouse', 'rat')
        """

    @schema
    class Cage(dj.Manual):
        definition = """
        cage_id : int32
        ---
        species : enum('mouse', 'rat')
        """

    Animal.insert([{"animal_id": 1, "species": "mouse"}, {"animal_id": 2, "species": "rat"}])
    Cage.insert1({"cage_id": 1, "species": "rat"})
    connection = schema.connection
    shared = _enum_types(connection, schema.database)
    assert len(shared) == (1 if backend == "postgresql" else 0)
    Cage().drop_quick()
    assert _enum_types(connection, schema.database) == shared
    assert Animal.to_dicts(order_by="animal_id") == [{"animal_id": 1, "species": "mouse"},
                                                     {"animal_id": 2, "species": "rat"}]
    Animal.insert1({"animal_id": 3, "species": "rat"})  # the column still checks its values
    with pytest.raises(DataJointError):
        Animal.insert1({"animal_id": 4, "species": "cat"})
    Animal().drop_quick()
    assert _enum_types(connection, schema.database) == []


def test_the_adapter_quotes_names_for_raw_sql(schema, backend):
    @schema
    class Animal(dj.Manual):
        definition = """
        animal_id : int32
        ---
        order : varchar(8)   # a reserved word as a column name
        """

    Animal.insert1({"animal_id": 1, "order": "first"})
    adapter = schema.connection.adapter
    assert adapter.backend == backend
    column = adapter.quote_identifier("order")
    assert column[0] == column[-1] and column[0] in "`\""
    rows = schema.connection.query(
        f"SELECT {column} FROM {Animal.full_table_name}").fetchall()
    assert [tuple(row) for row in rows] == [("first",)]


def test_a_diagram_hands_out_restricted_free_tables(schema):
    Item, Child = items(schema)
    trace = dj.Diagram.trace(Child & {"item_id": 1})
    for key in (Item, Item.full_table_name, Item().full_name):
        parent = trace[key]
        assert isinstance(parent, dj.FreeTable) and len(parent) == 1
        assert parent.to_arrays("item_id").tolist() == [1]
    with pytest.raises(DataJointError, match="cannot be dropped"):
        trace[Item].drop(prompt=False)
    cascade = dj.Diagram.cascade(Item & "item_id < 2")
    assert [len(t) for t in cascade] == [2, 2]
    assert (cascade[Child] & {"item_id": 0}).delete(prompt=False) == 1  # a restriction of it
    assert len(Item()) == 5 and len(Child()) == 4


def lookup_master(schema):
    """Kind (a lookup) referenced by Master outside its key and by Master.Item's rows too
    (the shape of DataJoint's test_delete_lookup_restricted)."""

    @schema
    class Kind(dj.Lookup):
        definition = """
        kind : int32
        """
        contents = [(k,) for k in (1, 2, 3, 4)]

    @schema
    class Master(dj.Manual):
        definition = """
        master_id : int32
        ---
        -> Kind
        """

        class Item(dj.Part):
            definition = """
            -> master
            item : int32
            ---
            -> Kind
            """

    return Kind, Master


def test_parts_going_with_their_masters_through_another_path_are_allowed(schema):
    """Every part row the lookup's delete removes belongs to a master row the same delete
    removes (through the master's own reference): enforce has nothing to refuse."""
    Kind, Master = lookup_master(schema)
    Master.insert([{"master_id": 1, "kind": 1}, {"master_id": 2, "kind": 3}])
    Master.Item.insert([{"master_id": 1, "item": 1, "kind": 1},
                        {"master_id": 1, "item": 2, "kind": 2},
                        {"master_id": 2, "item": 1, "kind": 3},
                        {"master_id": 2, "item": 2, "kind": 4}])
    assert (Kind & "kind <= 2").delete(prompt=False) == 2
    assert Master.to_arrays("master_id").tolist() == [2]
    assert len(Master.Item()) == 2 and len(Kind()) == 2


def test_parts_whose_masters_stay_are_refused_by_the_rows_not_the_tables(schema):
    """Deliberately stricter than DataJoint 2.3.5, which checks tables (some master row went,
    so any part rows may go): master 2 would stay with items it was made with removed."""
    Kind, Master = lookup_master(schema)
    Master.insert([{"master_id": 1, "kind": 1}, {"master_id": 2, "kind": 3}])
    Master.Item.insert([{"master_id": m, "item": k, "kind": k} for m in (1, 2)
                        for k in (1, 2, 3, 4)])
    with pytest.raises(DataJointError, match="before its master.*part_integrity='cascade'"):
        (Kind & "kind <= 2").delete(prompt=False)
    assert len(Kind()) == 4 and len(Master()) == 2 and len(Master.Item()) == 8  # nothing went
    assert (Kind & "kind <= 2").delete(prompt=False, part_integrity="cascade") == 2
    assert len(Master()) == 0 and len(Master.Item()) == 0 and len(Kind()) == 2
