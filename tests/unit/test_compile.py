"""Compile-only tests: the SQL each dialect gets for representative expressions.

No database: nodes are built from hand-made headings, compiled, and compared with
golden files in ``tests/unit/golden/`` (regenerate with ``DJ_UPDATE_GOLDEN=1`` and
review the diff). Every value must appear as a bound parameter, never inline.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dj_jupyter.algebra import conditions as c
from dj_jupyter.algebra.compiler import compile_count, compile_delete, compile_select
from dj_jupyter.algebra.heading import Attribute, Heading, TableInfo
from dj_jupyter.algebra.nodes import (
    Aggregate,
    Distinct,
    Join,
    Project,
    Restrict,
    TableNode,
    Top,
    Union,
)
from dj_jupyter.backends.dialects import dialect_for
from dj_jupyter.definition.model import TypeSpec

GOLDEN = Path(__file__).parent / "golden"
DIALECTS = ("sqlite", "postgresql", "mysql")


def table(schema: str, name: str, key: list[str], secondary: list[str]) -> TableNode:
    attributes = [Attribute(n, TypeSpec("int32", (), "int32"), True, lineage=f"{schema}.{name}.{n}")
                  for n in key]
    attributes += [Attribute(n, TypeSpec("varchar", (32,), "varchar(32)"), False)
                   for n in secondary]
    return TableNode(TableInfo(schema, name, Heading(tuple(attributes))))


STUDENT = table("uni", "student", ["student"], ["name"])
COURSE = table("uni", "#course", ["course"], ["title"])
ENROLL = TableNode(TableInfo("uni", "enroll", Heading((
    STUDENT.heading["student"], COURSE.heading["course"],
    Attribute("grade", TypeSpec("varchar", (2,), "varchar(2)"), False)))))

EXPRESSIONS = {
    "restrict_dict": lambda: Restrict(STUDENT, c.And((c.Equals("student", 7),
                                                      c.IsNull("name")))),
    "restrict_or_not": lambda: Restrict(STUDENT, c.Negation(c.Or((
        c.Equals("name", "x'; DROP TABLE student; --"), c.Equals("student", 2))))),
    "semijoin": lambda: Restrict(STUDENT, c.Exists(ENROLL, ("student",))),
    "antijoin": lambda: Restrict(STUDENT, c.Negation(c.Exists(ENROLL, ("student",)))),
    "join_rename": lambda: Join(Project(STUDENT, ("student",), (("who", "name"),)), ENROLL),
    "left_join": lambda: Join(ENROLL, STUDENT, left_outer=True),
    "outer_union": lambda: Union(STUDENT, Project(Restrict(ENROLL, c.Equals("course", 1)),
                                                  ("student",), ())),
    "distinct": lambda: Distinct(ENROLL, ("course",)),
    "top_then_restrict": lambda: Restrict(Top(STUDENT, 3, ("name DESC",), 1),
                                          c.Equals("student", 1)),
    "aggregate": lambda: Aggregate(STUDENT, ENROLL, (("n", "count(course)"),), ("name",)),
    "aggregate_by_u": lambda: Aggregate(None, ENROLL, (("n", "count(*)"),), by=("course",),
                                        keep_all=False),
}


def render(statement, dialect_name: str) -> str:
    dialect = dialect_for(dialect_name)
    compiled = statement.compile(dialect=dialect.sa_dialect,
                                 compile_kwargs={"render_postcompile": True})
    params = compiled.params
    return f"{compiled.string}\n-- params: {params!r}\n"


@pytest.mark.parametrize("dialect_name", DIALECTS)
@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_select_sql_matches_golden(name: str, dialect_name: str) -> None:
    sql = render(compile_select(EXPRESSIONS[name](), dialect_for(dialect_name)), dialect_name)
    golden = GOLDEN / f"{name}.{dialect_name}.sql"
    if os.environ.get("DJ_UPDATE_GOLDEN"):
        golden.write_text(sql)
    assert sql == golden.read_text()


@pytest.mark.parametrize("dialect_name", DIALECTS)
def test_values_are_bound_never_inlined(dialect_name: str) -> None:
    hostile = "x'; DROP TABLE student; --"
    node = Restrict(STUDENT, c.Equals("name", hostile))
    dialect = dialect_for(dialect_name)
    compiled = compile_select(node, dialect).compile(dialect=dialect.sa_dialect)
    assert hostile not in compiled.string
    assert hostile in compiled.params.values()


@pytest.mark.parametrize("dialect_name", DIALECTS)
def test_delete_targets_the_table_itself_and_count_counts_keys(dialect_name: str) -> None:
    dialect = dialect_for(dialect_name)
    delete = compile_delete(Restrict(STUDENT, c.Exists(ENROLL, ("student",))), dialect)
    text = str(delete.compile(dialect=dialect.sa_dialect))
    assert text.startswith("DELETE FROM") and " t1" not in text.split("WHERE")[0]
    count = str(compile_count(Join(STUDENT, ENROLL), dialect).compile(
        dialect=dialect.sa_dialect))
    assert "count(*)" in count and "DISTINCT" in count
    # a stored table (restricted or not) is distinct by its key: count(*) of the table itself
    for node in (ENROLL, Restrict(ENROLL, c.Equals("course", 1))):
        count = str(compile_count(node, dialect).compile(dialect=dialect.sa_dialect))
        assert "count(*)" in count and "DISTINCT" not in count and "(SELECT" not in count
