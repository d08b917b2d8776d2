"""How a Diagram combines and draws, as DataJoint 2.x does, on every backend: a table alone
and add_parts(), nodes_to_show, make_dot() as a pydot graph whose edge weight is cardinality,
uniform bundles between collapsed schemas, entity clusters with short part labels, and the
light/dark/auto themes of svg_string()."""

from __future__ import annotations

import re

import pytest

import dj_jupyter as dj
from tests import diagram_pipeline

THICK, THIN = 2.0, 0.75

needs_graphviz = pytest.mark.skipif(not dj.diagram.diagram_active,
                                    reason="pydot and Graphviz's dot program draw make_dot()")


def edges_of(dot) -> list[tuple[str, str, float, str]]:
    """(parent id, child id, penwidth, style) of every edge, ids without DOT quotes."""
    return [(e.get_source().strip('"'), e.get_destination().strip('"'), float(e.get_penwidth()),
             (e.get_style() or "solid").strip('"')) for e in dot.get_edges()]


def test_a_table_alone_add_parts_and_nodes_to_show(schema):
    t = diagram_pipeline.declare(schema)
    stats, unit, scan = t["Stats"], t["Stats"].Unit, t["Scan"]
    assert dj.Diagram(stats).nodes_to_show == {stats.full_table_name}
    assert dj.Diagram(stats).add_parts().nodes_to_show == {stats.full_table_name,
                                                           unit.full_table_name}
    assert (dj.Diagram(scan) + 1).nodes_to_show == {scan.full_table_name, stats.full_table_name}
    assert (dj.Diagram(scan) + 2).nodes_to_show == {
        scan.full_table_name, stats.full_table_name, unit.full_table_name}
    upstream = dj.Diagram(unit) - 1
    assert upstream.nodes_to_show == {unit.full_table_name, stats.full_table_name}
    assert len(dj.Diagram(schema).nodes_to_show) == 8


@needs_graphviz
def test_make_dot_is_a_pydot_graph_with_cardinality_weights(schema):
    t = diagram_pipeline.declare(schema)
    Session = t["Session"]  # noqa: F841 - the definition below names it

    @schema
    class Replay(dj.Manual):  # a renamed foreign key that is the whole primary key: 1:1
        definition = """
        -> Session.proj(original='session')
        """

    dot = dj.Diagram(schema).make_dot()
    assert {"Subject", "Session", "Scan", "Stats", "Stats.Unit", "Replay"} <= {
        n.get_name().strip('"') for n in dot.get_nodes()}
    weights = {(p, c): (w, style) for p, c, w, style in edges_of(dot)}
    assert weights[("Session", "Scan")] == (THICK, "solid")  # the child's whole key
    assert weights[("Subject", "Session")] == (THIN, "solid")  # adds its own key attribute
    assert weights[("Stats", "Stats.Unit")] == (THIN, "solid")  # master -> part: thin too
    assert weights[("Kind", "Session")] == (THIN, "dashed")  # secondary
    assert weights[("Session", "Replay")][0] == THICK  # renamed, still 1:1
    assert Replay().heading.primary_key == ["subject", "original"]


@needs_graphviz
def test_master_and_parts_share_an_entity_cluster_with_short_part_labels(schema):
    diagram_pipeline.declare(schema)
    svg = dj.Diagram(schema).svg_string("light")
    assert "cluster_entity_" in svg
    texts = re.findall(r"<text[^>]*>([^<]+)</text>", svg)
    assert "Unit" in texts and "Stats.Unit" not in texts
    mermaid = dj.Diagram(schema).make_mermaid()
    assert "subgraph entity_" in mermaid and '"<u>Unit</u>"' in mermaid


@needs_graphviz
def test_bundles_between_collapsed_schemas_are_uniform(schema, schema2):
    @schema
    class Root(dj.Manual):
        definition = "root: int32"

    @schema
    class Tag(dj.Manual):
        definition = "tag: int32"

    @schema2
    class Mixed(dj.Manual):  # one primary 1:1 and one secondary foreign key into schema
        definition = """
        -> Root
        ---
        -> [nullable] Tag
        """

    @schema2
    class Multi(dj.Manual):
        definition = """
        -> Root
        sub: int32
        """

    both = dj.Diagram(schema) + dj.Diagram(schema2)
    bundles = edges_of(both.collapse().make_dot())
    assert bundles and {(w, style) for _, _, w, style in bundles} == {(THICK, "solid")}
    partly = both.collapse() + dj.Diagram(Multi)  # one end expanded: its own style
    into_multi = [(w, style) for _, child, w, style in edges_of(partly.make_dot())
                  if child == "Multi"]
    assert into_multi == [(THIN, "solid")]
    assert Mixed is not None


@needs_graphviz
@pytest.mark.parametrize("theme", ["light", "dark", "auto"])
def test_svg_follows_the_configured_theme(schema, theme):
    diagram_pipeline.declare(schema)
    with dj.config.override(display__diagram_theme=theme):
        svg = dj.Diagram(schema).svg_string().lower()
    light_manual, dark_manual, dark_background = "#e8f0e9", "#16281f", "#161a21"
    assert 'stroke-width="2"' in svg and 'stroke-width="0.75"' in svg
    if theme == "dark":
        assert dark_background in svg and dark_manual in svg and light_manual not in svg
    else:
        assert light_manual in svg
    assert ("@media (prefers-color-scheme: dark)" in svg) == (theme == "auto")
    assert (dark_manual in svg) == (theme != "light")


def test_a_bad_theme_names_the_choices(schema):
    diagram_pipeline.declare(schema)
    with pytest.raises(dj.DataJointError, match="'light', 'dark' or 'auto'"):
        dj.Diagram(schema).make_dot(theme="sepia")
