"""dj.Diagram on an embedded SQLite schema: the algebra, Mermaid text, Graphviz output."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dj_jupyter as dj
from dj_jupyter.display.diagram.model import Diagram
from tests import diagram_pipeline


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    connection = dj.Connection(f"sqlite:///{tmp_path_factory.mktemp('diagram') / 'lab.db'}")
    schema = dj.Schema("lab", connection=connection)
    tables = diagram_pipeline.declare(schema)
    yield schema, tables
    connection.close()


def names(diagram: Diagram) -> set[str]:
    return {node.class_name for node in diagram.nodes}


def test_schema_diagram_has_every_table_in_topological_order(lab):
    schema, _ = lab
    diagram = dj.Diagram(schema)
    assert names(diagram) == {"Subject", "Kind", "Experimenter", "Session", "Pair", "Scan",
                              "Stats", "Stats.Unit"}
    order = [n.class_name for n in diagram.nodes]
    assert order.index("Subject") < order.index("Session") < order.index("Scan") \
        < order.index("Stats") < order.index("Stats.Unit")


def test_a_table_is_drawn_alone_and_add_parts_adds_its_parts(lab):
    schema, t = lab
    assert names(Diagram(t["Stats"].Unit)) == {"Stats.Unit"}
    assert names(Diagram(t["Stats"])) == {"Stats"}
    assert names(Diagram(t["Stats"]).add_parts()) == {"Stats", "Stats.Unit"}
    assert names(Diagram(t["Scan"]).add_parts()) == {"Scan"}  # no parts: unchanged
    assert names((Diagram(t["Stats"]) + t["Scan"]).add_parts() - t["Stats"]) == {
        "Scan", "Stats.Unit"}


def test_union_difference_intersection(lab):
    schema, t = lab
    assert names(Diagram(t["Subject"]) + Diagram(t["Kind"])) == {"Subject", "Kind"}
    assert names(Diagram(schema) - Diagram(t["Stats"].Unit)) == {
        "Subject", "Kind", "Experimenter", "Session", "Pair", "Scan", "Stats"}
    downstream = Diagram(t["Session"]) + 5
    upstream = Diagram(t["Stats"]) - 5
    assert names(downstream * upstream) == {"Session", "Scan", "Stats"}
    assert names(Diagram(t["Subject"]) + t["Kind"]) == {"Subject", "Kind"}  # tables coerce


def test_generations_of_descendants_and_ancestors(lab):
    _, t = lab
    session = Diagram(t["Session"])
    assert names(session + 1) == {"Session", "Scan"}
    assert names(session + 2) == {"Session", "Scan", "Stats"}
    assert names(session + 3) == {"Session", "Scan", "Stats", "Stats.Unit"}
    assert names(Diagram(t["Scan"]) - 1) == {"Scan", "Session"}
    assert names(Diagram(t["Scan"]) - 2) == {"Scan", "Session", "Subject", "Kind"}
    assert names(Diagram(t["Stats"].Unit) - 1) == {"Stats", "Stats.Unit"}
    assert names(Diagram(t["Stats"].Unit) - 2) == {"Stats", "Stats.Unit", "Scan"}
    assert names(session + (-1)) == names(session - 1)
    # +1 -1 and -1 +1 differ
    assert names(session + 1 - 1) == {"Session", "Scan", "Subject", "Kind"}
    assert names(session - 1 + 1) == {"Session", "Scan", "Subject", "Kind", "Pair"}


def test_node_flags(lab):
    schema, _ = lab
    nodes = {n.class_name: n for n in Diagram(schema).nodes}
    assert {k: v.tier for k, v in nodes.items()} == {
        "Subject": "Manual", "Kind": "Lookup", "Experimenter": "Lookup", "Session": "Manual",
        "Pair": "Manual", "Scan": "Imported", "Stats": "Computed", "Stats.Unit": "Part"}
    new = {k for k, v in nodes.items() if v.new_dimension}
    assert new == {"Subject", "Kind", "Experimenter", "Session", "Stats.Unit"}
    assert nodes["Stats.Unit"].master == "lab.__stats"
    assert "unit : int16" in nodes["Stats.Unit"].definition
    assert "-> [nullable] Kind" in nodes["Session"].definition


def test_edge_flags(lab):
    schema, _ = lab
    edges = {(e.parent.split(".")[1], e.child.split(".")[1], e.attr_map): e
             for e in Diagram(schema).edges}
    session = edges[("subject", "session", (("subject", "subject"),))]
    assert session.primary and not session.one_to_one and not session.renamed
    scan = edges[("session", "_scan", (("subject", "subject"), ("session", "session")))]
    assert scan.primary and scan.one_to_one
    kind = edges[("#kind", "session", (("kind", "kind"),))]
    assert not kind.primary and kind.nullable
    mother = edges[("subject", "pair", (("mother", "subject"),))]
    assert mother.renamed and mother.primary and not mother.one_to_one
    assert ("subject", "pair", (("child", "subject"),)) in edges  # one edge per FK
    assert len(edges) == 7


def test_edges_only_between_shown_tables(lab):
    _, t = lab
    diagram = Diagram(t["Session"]) + 1
    assert [(e.parent, e.child) for e in diagram.edges] == [("lab.session", "lab._scan")]


def test_to_dict_is_json_ready(lab):
    import json

    schema, _ = lab
    model = json.loads(Diagram(schema, direction="TB").to_json())
    assert model["direction"] == "TB"
    assert len(model["nodes"]) == 8 and len(model["edges"]) == 7
    assert {"name", "tier", "class_name", "definition", "new_dimension", "master"} \
        <= set(model["nodes"][0])
    assert {"parent", "child", "primary", "one_to_one", "renamed", "attr_map"} \
        <= set(model["edges"][0])


def test_mermaid_follows_the_conventions(lab):
    schema, _ = lab
    text = Diagram(schema).make_mermaid()
    ids = {n.class_name: f"t{i}" for i, n in enumerate(Diagram(schema).nodes)}
    assert text.startswith("flowchart LR\n")
    assert "classDef manual fill:#E8F0E9,stroke:#3E7A52" in text
    assert "classDef computed fill:#FFEDE5,stroke:#FF5113" in text
    assert f'{ids["Stats"]}(["Stats"]):::computed' in text  # ellipse-like stadium
    assert f'{ids["Scan"]}(["Scan"]):::imported' in text
    assert f'{ids["Session"]}("<u>Session</u>"):::manual' in text  # new dimension underlined
    assert f'{ids["Pair"]}("Pair"):::manual' in text
    assert f'{ids["Stats.Unit"]}("<u>Unit</u>"):::part' in text  # in its master's cluster
    assert f'{ids["Session"]} === {ids["Scan"]}' in text  # one-to-one: thick
    assert f'{ids["Kind"]} -.- {ids["Session"]}' in text  # secondary: dashed
    assert f'{ids["Subject"]} --- {ids["Session"]}' in text  # primary one-to-many: solid
    assert "stroke:#C77D3A" in text and "stroke:#171C39" in text  # renamed amber, others navy
    assert "stroke-width:2px" in text and "stroke-width:1px" in text  # one-to-one, one-to-many
    assert 'subgraph s0["lab"]' in text and f'subgraph entity_{ids["Stats"]}[" "]' in text


def test_save_mermaid_and_svg(lab, tmp_path):
    schema, _ = lab
    Diagram(schema).save(tmp_path / "lab.mmd")
    assert (tmp_path / "lab.mmd").read_text().startswith("flowchart")
    Diagram(schema).save(tmp_path / "lab.svg")
    svg = (tmp_path / "lab.svg").read_text()
    assert "<svg" in svg and "Stats.Unit" in svg
    Diagram(schema).save(tmp_path / "lab.png")
    assert (tmp_path / "lab.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(dj.DataJointError, match=r"\.mmd"):
        Diagram(schema).save(tmp_path / "lab.gif")


def test_dot_follows_the_conventions(lab):
    schema, _ = lab
    source = Diagram(schema).make_dot().to_string()
    assert "shape=ellipse" in source and "style=dashed" in source and "penwidth=2" in source
    assert "arrowhead=none" in source and "<<u>Session</u>>" in source
    assert "rank=same" in source  # master and parts together


def test_missing_dot_program_names_the_fix(lab, tmp_path, monkeypatch):
    schema, _ = lab
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(dj.DataJointError, match="apt-get install graphviz"):
        Diagram(schema).make_dot()
    with pytest.raises(dj.DataJointError, match="apt-get install graphviz"):
        Diagram(schema).save(tmp_path / "lab.svg")
    Diagram(schema).save(tmp_path / "lab.mmd")  # Mermaid needs nothing


def test_bad_sources_and_operands(lab):
    schema, _ = lab
    with pytest.raises(dj.DataJointError, match="pass a schema"):
        Diagram(42)
    with pytest.raises(dj.DataJointError, match="direction"):
        Diagram(schema, direction="RL")


def test_static_display_without_anywidget(lab, monkeypatch):
    from dj_jupyter.display.diagram import bundle as display

    schema, _ = lab
    monkeypatch.setattr(display, "has_widget_support", lambda: False)
    bundle = Diagram(schema)._repr_mimebundle_()
    assert bundle["text/markdown"].startswith("```mermaid\nflowchart LR")
    assert "<svg" in bundle["image/svg+xml"]
    assert "Diagram(8 tables" in bundle["text/plain"]


def test_static_display_without_graphviz_draws_the_python_layout(lab, monkeypatch):
    from dj_jupyter.display.diagram import bundle as display

    schema, _ = lab

    def no_dot(self, theme="light"):
        raise dj.DataJointError("the Graphviz `dot` program is not installed")

    monkeypatch.setattr(display, "has_widget_support", lambda: False)
    monkeypatch.setattr(Diagram, "svg_string", no_dot)
    bundle = Diagram(schema)._repr_mimebundle_()
    assert 'class="dj-diagram-static"' in bundle["image/svg+xml"]
    assert bundle["image/svg+xml"].count('class="dj-node"') == 8


TABLES = ["Subject", "Kind", "Experimenter", "Session", "Pair", "Scan", "Stats", "Stats.Unit"]


def _table(t: dict, name: str):
    master, _, part = name.partition(".")
    return getattr(t[master], part) if part else t[master]


@settings(max_examples=60, deadline=None)
@given(left=st.sets(st.sampled_from(TABLES), min_size=1),
       right=st.sets(st.sampled_from(TABLES), min_size=1),
       steps=st.integers(0, 4))
def test_diagram_algebra_is_set_algebra_over_nodes_to_show(lab, left, right, steps):
    """+ - * are union, difference and intersection of the tables shown; add_parts() only
    adds parts and is idempotent; + n / - n only grow, one generation at a time."""
    _, t = lab
    a = Diagram.from_sequence(_table(t, n) for n in sorted(left))
    b = Diagram.from_sequence(_table(t, n) for n in sorted(right))
    assert names(a) == left  # a table is drawn alone
    assert names(a + b) == left | right
    assert names(a - b) == left - right
    assert names(a * b) == left & right
    assert (a + b).nodes_to_show == a.nodes_to_show | b.nodes_to_show
    with_parts = a.add_parts()
    assert names(with_parts) - left <= {"Stats.Unit"}
    assert names(with_parts.add_parts()) == names(with_parts)
    for grow in (lambda d, n: d + n, lambda d, n: d - n):
        assert names(grow(a, steps)) <= names(grow(a, steps + 1))
        assert names(grow(grow(a, steps), 1)) == names(grow(a, steps + 1))


def test_the_dark_override_maps_each_light_colour_to_one_dark_colour():
    """The auto theme recolours by attribute value, so a light colour used by two roles must
    have one dark counterpart (per attribute: fill and text share SVG's fill)."""
    from dj_jupyter.display.diagram.render import THEMES, adaptive_style

    light, dark = THEMES["light"], THEMES["dark"]
    for attribute, roles in (("fill", (0, 2)), ("stroke", (1,))):
        mapping: dict[str, str] = {}
        for tier, colours in light.palette.items():
            for role in roles:
                dark_colour = dark.palette[tier][role]
                assert mapping.setdefault(colours[role], dark_colour) == dark_colour, (
                    f"{attribute} {colours[role]} maps to two dark colours")
    block = adaptive_style()
    assert block.count('[fill="#e8f0e9"]') == 1 and "#16281F" in block
    assert f'[stroke="{light.edge.lower()}"] {{ stroke: {dark.edge}; }}' in block
