"""``connection.dependencies``: DataJoint's dependency graph of a connection, on three backends."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dj_jupyter as dj
from dj_jupyter.errors import DataJointError


def declare(schema: dj.Schema) -> dict[str, type]:
    """Animal -> Session -> Synapse (which references Cell twice, renamed), Session -> Cell;
    Note refers to Animal outside its key."""

    @schema
    class Animal(dj.Manual):
        definition = """
        animal : int32
        """

    @schema
    class Session(dj.Manual):
        definition = """
        -> Animal
        session : int16
        """

    @schema
    class Cell(dj.Manual):
        definition = """
        -> Session
        cell : int16
        """

    @schema
    class Synapse(dj.Manual):
        definition = """
        -> Cell.proj(pre='cell')
        -> Cell.proj(post='cell')
        """

    @schema
    class Note(dj.Manual):
        definition = """
        note : int32
        ---
        -> [nullable] Animal
        """

    return {"Animal": Animal, "Session": Session, "Cell": Cell, "Synapse": Synapse,
            "Note": Note}


@pytest.fixture
def t(schema):
    return type("Tables", (), declare(schema))


def test_the_graph_names_tables_as_full_table_name_does(t, conn):
    graph = conn.dependencies
    graph.load()
    names = [cls.full_table_name for cls in (t.Animal, t.Session, t.Cell, t.Synapse, t.Note)]
    assert sorted(graph.nodes) == sorted(names)
    assert all(name in graph for name in names)
    assert t.Animal.full_name in graph  # schema.table is understood too
    assert "nowhere.nothing" not in graph


def test_parents_and_children_give_one_entry_per_foreign_key(t, conn):
    graph = conn.dependencies
    cell, synapse = t.Cell.full_table_name, t.Synapse.full_table_name
    parents = graph.parents(synapse)
    assert [name for name, _ in parents] == [cell, cell]
    assert sorted(tuple(props["attr_map"].items()) for _, props in parents) == sorted(
        [(("animal", "animal"), ("session", "session"), ("pre", "cell")),
         (("animal", "animal"), ("session", "session"), ("post", "cell"))])
    assert all(props["primary"] and props["aliased"] and props["multi"]
               for _, props in parents)
    assert graph.number_of_edges(cell, synapse) == 2
    assert [name for name, _ in graph.children(cell)] == [synapse, synapse]
    note = graph.parents(t.Note.full_table_name)
    assert [(n, p["primary"], p["nullable"]) for n, p in note] == \
        [(t.Animal.full_table_name, False, True)]
    assert graph.parents(t.Note.full_table_name, primary=True) == []
    assert [n for n, _ in graph.children(t.Animal.full_table_name, primary=False)] == \
        [t.Note.full_table_name]


def test_descendants_and_ancestors_in_dependency_order(t, conn):
    graph = conn.dependencies
    animal, session, cell, synapse, note = (c.full_table_name for c in (
        t.Animal, t.Session, t.Cell, t.Synapse, t.Note))
    down = graph.descendants(animal)
    assert down[0] == animal and set(down) == {animal, session, cell, synapse, note}
    assert down.index(session) < down.index(cell) < down.index(synapse)
    up = graph.ancestors(synapse)
    assert up == [synapse, cell, session, animal]
    order = graph.topo_sort()
    for parent, child in graph.edges:
        assert order.index(parent) < order.index(child)


def test_a_table_names_its_relatives_as_the_graph_does(t, conn):
    """Table.parents/children/ancestors/descendants/parts answer with full_table_name, as
    connection.dependencies does; as_objects gives tables of those names."""
    graph = conn.dependencies
    for cls in (t.Animal, t.Session, t.Cell, t.Synapse, t.Note):
        table = cls()
        for primary in (None, True, False):
            assert table.parents(primary) == list(dict.fromkeys(
                n for n, _ in graph.parents(table.full_table_name, primary)))
            assert table.children(primary) == list(dict.fromkeys(
                n for n, _ in graph.children(table.full_table_name, primary)))
        assert table.ancestors() == graph.ancestors(table.full_table_name)
        assert table.descendants()[0] == table.full_table_name
        assert set(table.descendants()) == set(graph.descendants(table.full_table_name))
        for method in ("parents", "children", "ancestors", "descendants"):
            names = getattr(table, method)()
            assert [o.full_table_name for o in getattr(table, method)(as_objects=True)] == names
    entries = t.Synapse().parents(as_objects=True, foreign_key_info=True)
    assert sorted((o.full_table_name, sorted(info["attr_map"])) for o, info in entries) == [
        (t.Cell.full_table_name, ["animal", "post", "session"]),
        (t.Cell.full_table_name, ["animal", "pre", "session"])]
    assert [n for n, _ in t.Synapse().parents(foreign_key_info=True)] == \
        [t.Cell.full_table_name] * 2


def test_a_master_names_its_parts_as_full_table_name(schema):
    @schema
    class Probe(dj.Manual):
        definition = """
        probe : int32
        """

        class Channel(dj.Part):
            definition = """
            -> master
            channel : int16
            """

    assert Probe().parts() == [Probe.Channel().full_table_name]
    assert [p.full_table_name for p in Probe().parts(as_objects=True)] == Probe().parts()
    assert Probe.Channel().parents() == [Probe().full_table_name]


def test_the_graph_follows_declarations_without_a_reload(t, schema, conn):
    graph = conn.dependencies
    graph.load()
    assert graph.children(t.Synapse.full_table_name) == []

    @schema
    class Weight(dj.Manual):
        definition = """
        -> t.Synapse
        ---
        weight : float64
        """

    assert [n for n, _ in graph.children(t.Synapse.full_table_name)] == [Weight.full_table_name]
    Weight.drop()
    assert Weight.full_table_name not in graph


def test_load_reads_the_schemas_asked_for(t, schema, schema2, conn):
    @schema2
    class Remark(dj.Manual):
        definition = """
        -> t.Animal
        remark : int16
        """

    graph = conn.dependencies
    graph.load(schema_names=[schema.database])
    assert Remark.full_table_name not in graph
    graph.load_all_downstream()
    assert Remark.full_table_name in graph
    assert Remark.full_table_name in graph.descendants(t.Animal.full_table_name)
    graph.load(schema_names=[schema2.database])
    graph.load_all_upstream()
    assert t.Animal.full_table_name in graph
    with pytest.raises(DataJointError, match="not a table of the loaded dependency graph"):
        graph.parents("nowhere.nothing")


@settings(max_examples=5, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edges=st.sets(st.tuples(st.integers(0, 3), st.integers(0, 3))
                     .filter(lambda e: e[0] < e[1]), max_size=5))
def test_topo_sort_puts_every_parent_first(conn, schema_name, edges):
    """Any acyclic set of foreign keys: parents come before children, descendants are
    exactly the tables reachable downstream."""
    name = f"{schema_name}_{abs(hash(frozenset(edges))) % 10**6}"
    schema = dj.Schema(name, connection=conn)
    try:
        classes: list[type] = []
        for i in range(4):
            lines = [f"-> T{p}" for p, c in sorted(edges) if c == i]
            body = "\n".join([f"t{i} : int32", *lines]) if not lines else \
                "\n".join([*lines, f"t{i} : int32"])
            cls = type(f"T{i}", (dj.Manual,), {"definition": body})
            classes.append(schema(cls, context={c.__name__: c for c in classes}))
        graph = conn.dependencies
        order = graph.topo_sort()
        for parent, child in edges:
            assert order.index(classes[parent].full_table_name) < \
                order.index(classes[child].full_table_name)
        for i, cls in enumerate(classes):
            below = {j for j in range(4) if _reaches(edges, i, j)}
            assert set(graph.descendants(cls.full_table_name)) == \
                {classes[j].full_table_name for j in below | {i}}
            # the table's own answers: the same names (full_table_name), the same order
            table = cls()
            assert set(table.descendants()) == set(graph.descendants(cls.full_table_name))
            assert table.ancestors() == graph.ancestors(cls.full_table_name)
            assert sorted(table.parents()) == sorted(
                classes[p].full_table_name for p, c in edges if c == i)
            assert sorted(table.children()) == sorted(
                classes[c].full_table_name for p, c in edges if p == i)
    finally:
        schema.drop(prompt=False)


def _reaches(edges: set[tuple[int, int]], start: int, end: int) -> bool:
    frontier, seen = [start], set()
    while frontier:
        node = frontier.pop()
        if node == end and node != start:
            return True
        for parent, child in edges:
            if parent == node and child not in seen:
                seen.add(child)
                frontier.append(child)
    return False


def test_a_connection_without_schemas_says_how_to_get_a_graph(db_url):
    code = ("import dj_jupyter as dj, sys\n"
            "c = dj.Connection(sys.argv[1])\n"
            "try:\n    c.dependencies\nexcept dj.DataJointError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code, db_url], capture_output=True, text=True,
                         check=True).stdout
    assert "make a dj.Schema" in out
