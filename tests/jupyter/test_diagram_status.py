"""Job status on the diagram widget: the synced ``status`` after populates in this kernel
(heard through the populate events, no polling), the grouped errors a red badge opens, and
the static SVG that keeps the status a saved notebook shows."""

from __future__ import annotations

import pytest

import dj_jupyter as dj
from dj_jupyter.errors import DataJointError

pytest.importorskip("anywidget")

from dj_jupyter.jupyter.diagram import widget_for  # noqa: E402


def declare(schema: dj.Schema) -> dict[str, type]:
    @schema
    class Src(dj.Manual):
        definition = """
        n: int32
        """

    @schema
    class Sq(dj.Computed):
        definition = """
        -> Src
        ---
        sq: int64
        """

        def make(self, key):
            if key["n"] % 3 == 2:
                raise ValueError(f"unlucky {key['n']}")
            self.insert1({**key, "sq": key["n"] ** 2})

    return {"Src": Src, "Sq": Sq}


@pytest.fixture
def pipeline(tmp_path):
    connection = dj.Connection(f"sqlite:///{tmp_path / 'status.db'}")
    schema = dj.Schema("status", connection=connection)
    tables = declare(schema)
    tables["Src"].insert([{"n": n} for n in range(6)])
    yield schema, tables
    connection.close()


def test_a_populate_here_updates_the_status_without_polling(pipeline):
    schema, t = pipeline
    widget = widget_for(dj.Diagram(schema))
    name = t["Sq"]().full_name
    assert widget.status["tables"] == {name: {"total": 6, "done": 0, "reserved": 0,
                                              "error": 0, "ignore": 0}}
    assert not widget.in_flight
    seen: list[list[str]] = []
    widget.observe(lambda change: seen.append(change["new"]["running"]), "status")
    t["Sq"].populate(reserve_jobs=True, suppress_errors=True)
    assert [name] in seen and seen[-1] == []  # running while it ran, then not
    assert widget.status["tables"][name] == {"total": 6, "done": 4, "reserved": 0,
                                             "error": 2, "ignore": 0}
    widget.close()


def test_the_error_badge_opens_the_grouped_errors(pipeline):
    schema, t = pipeline
    t["Sq"].populate(reserve_jobs=True, suppress_errors=True)
    widget = widget_for(dj.Diagram(schema))
    answer = widget.error_groups(table=t["Sq"]().full_name)
    (group,) = answer["groups"]
    assert group["count"] == 2 and group["title"] == "ValueError: unlucky #"
    assert sorted(k["n"] for k in group["keys"]) == [2, 5]
    with pytest.raises(DataJointError, match="not an auto-populated table"):
        widget.error_groups(table=t["Src"]().full_name)
    widget.close()


def test_the_static_picture_keeps_the_status(pipeline):
    schema, t = pipeline
    widget = widget_for(dj.Diagram(schema))
    quiet = widget.static_bundle()["image/svg+xml"]
    assert 'class="dj-status"' in quiet and "dj-error-badge" not in quiet
    assert "0 of 6 done" in quiet
    t["Sq"].populate(reserve_jobs=True, suppress_errors=True)
    picture = widget.static_bundle()["image/svg+xml"]
    assert "4 of 6 done, 2 failed" in picture
    assert 'class="dj-error-badge"' in picture and ">2</text>" in picture
    widget.close()


def test_retry_and_ignore_a_group_from_the_diagram(pipeline):
    schema, t = pipeline
    t["Sq"].populate(reserve_jobs=True, suppress_errors=True)
    widget = widget_for(dj.Diagram(schema))
    name = t["Sq"]().full_name
    with pytest.raises(DataJointError, match="'retry' or 'ignore'"):
        widget.error_action(table=name, group=0, action="delete")
    with pytest.raises(DataJointError, match="no error group 3"):
        widget.error_action(table=name, group=3)
    answer = widget.error_action(table=name, group=0, action="ignore")
    assert answer["done"] == 2 and answer["groups"] == []
    assert widget.status["tables"][name]["error"] == 0
    assert widget.status["tables"][name]["ignore"] == 2
    widget.close()
