"""dj.Diagram from a real schema on every backend: nodes, edges and their flags, refresh."""

from __future__ import annotations

import dj_jupyter as dj
from tests import diagram_pipeline


def test_nodes_and_edges_of_a_schema(schema):
    diagram_pipeline.declare(schema)
    diagram = dj.Diagram(schema)
    db = schema.database
    assert diagram.node_names[0] in {f"{db}.subject", f"{db}.#kind", f"{db}.#experimenter"}
    tiers = {n.class_name: n.tier for n in diagram.nodes}
    assert tiers == {"Subject": "Manual", "Kind": "Lookup", "Experimenter": "Lookup",
                     "Session": "Manual", "Pair": "Manual", "Scan": "Imported",
                     "Stats": "Computed", "Stats.Unit": "Part"}
    flags = {(e.parent.split(".", 1)[1], e.child.split(".", 1)[1], e.attr_map):
             (e.primary, e.one_to_one, e.renamed) for e in diagram.edges}
    assert flags == {
        ("subject", "session", (("subject", "subject"),)): (True, False, False),
        ("#kind", "session", (("kind", "kind"),)): (False, False, False),
        ("subject", "pair", (("mother", "subject"),)): (True, False, True),
        ("subject", "pair", (("child", "subject"),)): (True, False, True),
        ("session", "_scan", (("subject", "subject"), ("session", "session"))):
            (True, True, False),
        ("_scan", "__stats", (("subject", "subject"), ("session", "session"))):
            (True, True, False),
        ("__stats", "__stats__unit", (("subject", "subject"), ("session", "session"))):
            (True, False, False),
    }
    new = {n.class_name for n in diagram.nodes if n.new_dimension}
    assert new == {"Subject", "Kind", "Experimenter", "Session", "Stats.Unit"}


def test_refresh_sees_a_new_table(schema):
    tables = diagram_pipeline.declare(schema)
    Scan = tables["Scan"]
    whole, downstream = dj.Diagram(schema), dj.Diagram(Scan) + 1
    assert len(whole) == 8

    @schema
    class Review(dj.Manual):
        definition = """
        -> Scan
        reviewer: varchar(16)
        """

    assert "Review" not in {n.class_name for n in whole.nodes}  # a snapshot until refreshed
    whole.refresh()
    downstream.refresh()
    assert len(whole) == 9
    assert {n.class_name for n in downstream.nodes} == {"Scan", "Stats", "Review"}
    review = [e for e in whole.edges if e.child.endswith(".review")]
    assert len(review) == 1 and review[0].primary and not review[0].one_to_one


def test_diagrams_across_schemas(schema, schema2):
    tables = diagram_pipeline.declare(schema)
    Subject = tables["Subject"]  # noqa: F841 - the definition below refers to it

    @schema2
    class Surgery(dj.Manual):
        definition = """
        -> Subject
        surgery: int16
        """

    both = dj.Diagram(schema) + dj.Diagram(schema2)
    assert len(both) == 9
    cross = [e for e in both.edges if e.child == f"{schema2.database}.surgery"]
    assert [e.parent for e in cross] == [f"{schema.database}.subject"]
    assert "subgraph s1" in both.make_mermaid()
    assert {n.class_name for n in (dj.Diagram(Surgery) - 1).nodes} == {"Surgery", "Subject"}
