"""DataJoint 2.x's Diagram API on every backend: cascade (what a delete removes, counted),
trace (where rows come from), collapse, prune, context, indexing and iteration."""

from __future__ import annotations

import types

import pytest

import dj_jupyter as dj
from tests import diagram_pipeline


@pytest.fixture
def filled(schema):
    t = diagram_pipeline.declare(schema)
    t["Kind"].insert([{"kind": "a"}, {"kind": "b"}])
    t["Subject"].insert([{"subject": s} for s in (1, 2, 3)])
    t["Session"].insert([{"subject": 1, "session": 1, "kind": "a"},
                         {"subject": 1, "session": 2, "kind": "b"},
                         {"subject": 2, "session": 1, "kind": "a"}])
    t["Pair"].insert([{"mother": 1, "child": 2}, {"mother": 3, "child": 1}])
    t["Scan"].insert([{"subject": 1, "session": 1, "frames": 5},
                      {"subject": 1, "session": 2, "frames": 6},
                      {"subject": 2, "session": 1, "frames": 7}], allow_direct_insert=True)
    t["Stats"].insert([{"subject": 1, "session": 1, "mean": 0.5}], allow_direct_insert=True)
    t["Stats"].Unit.insert([{"subject": 1, "session": 1, "unit": u} for u in range(4)],
                           allow_direct_insert=True)
    return t


def short(counts: dict[str, int]) -> dict[str, int]:
    """Table names without schema, from the quoted full names counts() is keyed by."""
    return {name.replace("`", "").replace('"', "").partition(".")[2]: n
            for name, n in counts.items()}


def test_cascade_counts_what_a_delete_would_remove(filled):
    t = filled
    cascade = dj.Diagram.cascade(t["Subject"] & {"subject": 1})
    expected = {"subject": 1, "session": 2, "pair": 2, "_scan": 2, "__stats": 1,
                "__stats__unit": 4}
    assert short(cascade.counts()) == expected
    assert {n.class_name for n in cascade.nodes} == {
        "Subject", "Session", "Pair", "Scan", "Stats", "Stats.Unit"}
    assert {n.rows for n in cascade.nodes if n.class_name == "Session"} == {2}
    assert 'Session (2)' in cascade.make_mermaid()
    assert len(t["Subject"]()) == 3  # nothing deleted
    session = cascade[t["Session"]]
    assert sorted(session.to_arrays("session").tolist()) == [1, 2]
    assert [len(q) for q in cascade] == [cascade.counts()[q.full_table_name] for q in cascade]
    with pytest.raises(dj.DataJointError, match="cascade whole"):
        cascade.prune()
    (t["Subject"] & {"subject": 1}).delete()  # the delete removes what the cascade showed
    assert len(t["Session"]()) == 1 and len(t["Stats"].Unit()) == 0


def test_trace_restricts_every_ancestor(filled):
    t = filled
    trace = dj.Diagram.trace(t["Stats"].Unit & {"unit": 2})
    assert short(trace.counts()) == {"subject": 1, "#kind": 1, "session": 1, "_scan": 1,
                                     "__stats": 1, "__stats__unit": 1}
    assert trace[t["Session"]].to_dicts() == [{"subject": 1, "session": 1, "kind": "a"}]
    assert trace[t["Kind"]().full_name].to_arrays("kind").tolist() == ["a"]
    with pytest.raises(dj.DataJointError, match="not in this trace"):
        trace[t["Pair"]]
    renamed = dj.Diagram.trace(t["Pair"] & {"child": 2})  # through two renamed foreign keys
    assert sorted(renamed[t["Subject"]].to_arrays("subject").tolist()) == [1, 2]


def test_counts_need_a_cascade_or_trace(filled):
    with pytest.raises(dj.DataJointError, match="Diagram.cascade"):
        dj.Diagram(filled["Subject"]).counts()


def test_prune_drops_empty_tables(schema):
    t = diagram_pipeline.declare(schema)
    t["Subject"].insert1({"subject": 1})
    t["Session"].insert1({"subject": 1, "session": 1})
    pruned = dj.Diagram(schema).prune()
    assert {n.class_name for n in pruned.nodes} == {"Subject", "Session"}
    trace = dj.Diagram.trace(t["Session"]).prune()  # Kind is an ancestor with no rows
    assert {n.class_name for n in trace.nodes} == {"Subject", "Session"}


def test_collapse_folds_schemas_and_expanded_tables_win(schema, schema2):
    t = diagram_pipeline.declare(schema)
    folded = dj.Diagram(schema).collapse()
    assert all(n.folded for n in folded.nodes)
    text = folded.make_mermaid()
    assert f"{schema.database} (8 tables)" in text and "Session" not in text
    assert "shape=box3d" in folded.make_dot().to_string()
    mixed = dj.Diagram(schema).collapse() + dj.Diagram(t["Session"])
    assert {n.class_name for n in mixed.nodes if not n.folded} == {"Session"}
    assert "Session" in mixed.make_mermaid() and "(7 tables)" in mixed.make_mermaid()
    assert [n["folded"] for n in mixed.to_dict()["nodes"]].count(False) == 1


def test_context_names_the_classes(filled):
    t = filled
    module = types.ModuleType("acq")
    module.Session = t["Session"]
    diagram = dj.Diagram(t["Session"], context={"acq": module,
                                                            "Animal": t["Subject"]}) + 1 - 1
    names = {n.class_name for n in diagram.nodes}
    assert {"acq.Session", "Animal"} <= names
    assert isinstance(dj.Diagram(t["Scan"]).add_parts(), dj.Diagram)


def test_restrict_propagates_downstream_with_and(filled):
    t = filled
    diagram = dj.Diagram(t["Subject"]) + 4
    one = diagram.restrict(t["Subject"] & {"subject": 1})
    # Pair needs its mother AND its child among the restricted subjects
    assert short(one.counts()) == {"subject": 1, "session": 2, "pair": 0, "_scan": 2,
                                   "__stats": 1, "__stats__unit": 4}
    two = diagram.restrict(t["Subject"] & "subject < 3")
    assert short(two.counts())["pair"] == 1
    both = one.restrict(t["Session"] & {"session": 1})
    assert short(both.counts())["_scan"] == 1 and short(both.counts())["session"] == 1
    assert short(dj.Diagram(t["Subject"]).restrict(t["Subject"] & "subject > 1").counts()) \
        == {"subject": 2}
    pruned = diagram.restrict(t["Subject"] & {"subject": 3}).prune()
    assert {n.class_name for n in pruned.nodes} == {"Subject"}
    with pytest.raises(dj.DataJointError, match="cascade"):
        dj.Diagram.cascade(t["Subject"]).restrict(t["Subject"])
    with pytest.raises(dj.DataJointError, match="not in this diagram"):
        dj.Diagram(t["Scan"]).restrict(t["Subject"])
