"""SQL fragments: parsing, column extraction, aggregate detection, errors and rendering."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from dj_jupyter.algebra.fragments import (
    Fragment,
    parse_fragment,
    render_fragment,
)
from dj_jupyter.backends.sqlite.functions import register_sqlite_functions
from dj_jupyter.errors import RestrictionError

DIALECTS = ("sqlite", "postgresql", "mysql")


def render(text: str, dialect: str, **columns: str) -> str:
    fragment = parse_fragment(text)
    mapping = {name: name for name in fragment.columns}
    mapping.update(columns)
    return render_fragment(fragment, dialect, mapping)


# --- parsing -------------------------------------------------------------------------------


def test_importing_the_package_does_not_import_sqlglot():
    code = (
        "import sys, dj_jupyter, dj_jupyter.algebra.fragments\n"
        "assert 'sqlglot' not in sys.modules, 'sqlglot imported eagerly'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_parse_records_text_columns_and_aggregation():
    fragment = parse_fragment("YEAR(dob) > 2020 AND name LIKE 'A%'")
    assert isinstance(fragment, Fragment)
    assert fragment.text == "YEAR(dob) > 2020 AND name LIKE 'A%'"
    assert fragment.columns == frozenset({"dob", "name"})
    assert not fragment.is_aggregate


def test_parse_is_cached_and_fragments_compare_by_text():
    assert parse_fragment("a + 1") is parse_fragment("a + 1")
    assert parse_fragment("a + 1") == Fragment("a + 1", None, frozenset({"a"}), False)


@pytest.mark.parametrize("text, columns", [
    ("count(*)", set()),
    ("TIMESTAMPDIFF(YEAR, dob, NOW())", {"dob"}),
    ("Name = 'x' AND `MixedCase` > 1", {"name", "MixedCase"}),
    ('name = "Alice"', {"name"}),
    ("GROUP_CONCAT(name ORDER BY session_date DESC SEPARATOR ', ')", {"name", "session_date"}),
    ("CASE WHEN a IS NULL THEN b ELSE c END", {"a", "b", "c"}),
    ("x IN (1, 2) OR y BETWEEN 3 AND 4", {"x", "y"}),
    ("'just a string'", set()),
    ("REPLACE(name, 'a', 'b')", {"name"}),
])
def test_columns(text, columns):
    assert parse_fragment(text).columns == frozenset(columns)


@pytest.mark.parametrize("text, aggregate", [
    ("count(*)", True),
    ("count(distinct x)", True),
    ("max(session_date)", True),
    ("GROUP_CONCAT(name SEPARATOR ', ')", True),
    ("std(x)", True),
    ("stddev(x) / avg(x)", True),
    ("IFNULL(sum(x), 0) + 1", True),
    ("max(x) > 3", True),
    ("VARIANCE(x)", True),
    ("x > 3", False),
    ("TIMESTAMPDIFF(YEAR, dob, NOW())", False),
    ("CONCAT(a, b)", False),
    ("count(*) OVER ()", False),
])
def test_aggregate_detection(text, aggregate):
    assert parse_fragment(text).is_aggregate is aggregate


@pytest.mark.parametrize("text, message", [
    ("x >", "cannot parse"),
    ("x > 1, y", "exactly one expression"),
    ("count(", "cannot parse"),
    ("", "empty"),
    ("   ", "empty"),
    ("x > 1; DROP TABLE t", "exactly one expression"),
    ("SELECT 1", "cannot parse"),
    ("DISTINCT x", "not a query"),
    ("x FROM t", "not a query"),
    ("*", "expected an expression"),
    ("'unterminated", "unterminated"),
    ("a b", "alias"),
    ("x AS y", "alias"),
    ("x IN (SELECT y FROM t)", "subqueries"),
    ("t.x = 1", "qualified column"),
])
def test_parse_errors(text, message):
    with pytest.raises(RestrictionError) as info:
        parse_fragment(text)
    assert message in str(info.value)
    assert repr(text) in str(info.value)
    assert "Check the SQL" in str(info.value)


def test_parse_error_carries_parser_message():
    with pytest.raises(RestrictionError, match="line 1, column"):
        parse_fragment("a = = 1")


# --- rendering -------------------------------------------------------------------------------


def test_unknown_column_names_it_and_lists_the_available_ones():
    fragment = parse_fragment("age > 3 AND name = 'x'")
    with pytest.raises(RestrictionError) as info:
        render_fragment(fragment, "sqlite", {"name": '"name"', "dob": '"dob"'})
    assert "'age'" in str(info.value)
    assert "available: dob, name" in str(info.value)


def test_unknown_dialect():
    with pytest.raises(ValueError, match="unknown dialect"):
        render_fragment(parse_fragment("1"), "oracle", {})


def test_column_names_match_case_insensitively_when_unambiguous():
    assert render_fragment(parse_fragment("NAME = 'x'"), "mysql", {"name": "`name`"}) == (
        "`name` = 'x'")


@pytest.mark.parametrize("rendered, expected", [
    ('"lab.subject".name', '"lab.subject".name > 1'),
    ("anon_1.dob", "anon_1.dob > 1"),
    ("`lab`.`subject`.`dob`", "`lab`.`subject`.`dob` > 1"),
    ('"dob"', '"dob" > 1'),
    ("(price * 2)", "((price * 2)) > 1"),
    ("price * 2", "(price * 2) > 1"),
    ("COALESCE(a, b)", "(COALESCE(a, b)) > 1"),
])
def test_column_substitution(rendered, expected):
    assert render_fragment(parse_fragment("x > 1"), "postgresql", {"x": rendered}) == expected


def test_substitution_keeps_precedence():
    assert render("x * 2", "sqlite", x="a + b") == "(a + b) * 2"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_string_literals_are_preserved(dialect):
    assert render("name LIKE 'A%'", "postgresql") == "name LIKE 'A%'"  # `%` is not doubled
    assert render('name = "Alice"', dialect) == "name = 'Alice'"
    assert render("name = 'it''s'", dialect) == "name = 'it''s'"
    assert render('name = "it\'s"', dialect) == "name = 'it''s'"
    assert render("name = '100%%'", dialect) == "name = '100%%'"
    backslash = "'a\\\\b'" if dialect == "mysql" else "'a\\b'"
    assert render("name = 'a\\\\b'", dialect) == f"name = {backslash}"


@pytest.mark.parametrize("text, dialect, expected", [
    ("count(*)", "postgresql", "COUNT(*)"),
    ("avg(x)", "sqlite", "AVG(x)"),
    ("avg(x)", "postgresql", "CAST(AVG(x) AS DOUBLE PRECISION)"),
    ("avg(x)", "mysql", "CAST(AVG(x) AS DOUBLE)"),
    ("std(x)", "sqlite", "STDDEV_POP(x)"),
    ("stddev(x)", "postgresql", "CAST(STDDEV_POP(x) AS DOUBLE PRECISION)"),
    ("std(x)", "mysql", "CAST(STDDEV_POP(x) AS DOUBLE)"),
    ("YEAR(d)", "sqlite", "CAST(STRFTIME('%Y', d) AS INTEGER)"),
    ("YEAR(d)", "postgresql", "CAST(EXTRACT(YEAR FROM CAST(d AS TIMESTAMP)) AS INT)"),
    ("YEAR(d)", "mysql", "YEAR(d)"),
    ("NOW()", "sqlite", "DATETIME('now')"),
    ("NOW()", "postgresql", "DATE_TRUNC('second', LOCALTIMESTAMP)"),
    ("NOW()", "mysql", "NOW()"),
    ("CURDATE()", "sqlite", "DATE('now')"),
    ("CURDATE()", "postgresql", "CURRENT_DATE"),
    ("TIMESTAMPDIFF(YEAR, a, b)", "sqlite", "DJ_TIMESTAMPDIFF('YEAR', a, b)"),
    ("TIMESTAMPDIFF(YEAR, a, b)", "mysql", "TIMESTAMPDIFF(YEAR, a, b)"),
    ("TIMESTAMPDIFF(DAY, a, b)", "postgresql",
     "CAST(TRUNC(EXTRACT(EPOCH FROM (CAST(b AS TIMESTAMP) - CAST(a AS TIMESTAMP))) / 86400)"
     " AS BIGINT)"),
    ("a / b", "sqlite", "(CAST(a AS REAL) / b)"),
    ("a / b", "postgresql", "(CAST(a AS DOUBLE PRECISION) / NULLIF(b, 0))"),
    ("a / b", "mysql", "(CAST(a AS DOUBLE) / b)"),
    ("CONCAT(a, '-', b)", "sqlite", "DJ_CONCAT(a, '-', b)"),
    ("CONCAT(a, '-', b)", "postgresql", "(CAST(a AS TEXT) || '-' || CAST(b AS TEXT))"),
    ("CONCAT(a, '-', b)", "mysql", "CONCAT(a, '-', b)"),
    ("IF(c, a, b)", "sqlite", "CASE WHEN c THEN a ELSE b END"),
    ("IF(c, a, b)", "postgresql", "CASE WHEN c THEN a ELSE b END"),
    ("IF(c, a, b)", "mysql", "IF(c, a, b)"),
    ("IFNULL(a, 0)", "postgresql", "COALESCE(a, 0)"),
    ("CAST(a AS CHAR)", "postgresql", "CAST(a AS TEXT)"),
    ("name LIKE 'A%'", "sqlite", "name LIKE 'A%' ESCAPE '\\'"),
    ("GROUP_CONCAT(x)", "sqlite", "DJ_GROUP_CONCAT(x, ',', '-a', x)"),
    ("GROUP_CONCAT(x)", "mysql", "GROUP_CONCAT(x ORDER BY x ASC SEPARATOR ',')"),
    ("GROUP_CONCAT(name ORDER BY y DESC SEPARATOR ', ')", "sqlite",
     "DJ_GROUP_CONCAT(name, ', ', '-da', y, name)"),
    ("GROUP_CONCAT(name ORDER BY y DESC SEPARATOR ', ')", "postgresql",
     "CASE WHEN COUNT(name) = 0 THEN NULL ELSE ARRAY_TO_STRING(ARRAY_AGG(name ORDER BY y DESC "
     "NULLS LAST, name ASC NULLS FIRST), ', ') END"),
    ("GROUP_CONCAT(name ORDER BY y DESC SEPARATOR ', ')", "mysql",
     "GROUP_CONCAT(name ORDER BY y DESC, name ASC SEPARATOR ', ')"),
    ("x IN (1, 2) AND y BETWEEN 1 AND 2 AND z IS NULL", "postgresql",
     "x IN (1, 2) AND y BETWEEN 1 AND 2 AND z IS NULL"),
])
def test_golden(text, dialect, expected):
    assert render(text, dialect) == expected


def test_nested_functions_are_all_rewritten():
    assert render("YEAR(IFNULL(d, NOW()))", "sqlite") == (
        "CAST(STRFTIME('%Y', COALESCE(d, DATETIME('now'))) AS INTEGER)")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_render_does_not_change_the_parsed_fragment(dialect):
    fragment = parse_fragment("YEAR(d) + a / b")
    before = fragment.ast.sql("mysql")
    render_fragment(fragment, dialect, {"d": "x.d", "a": "x.a", "b": "x.b"})
    assert fragment.ast.sql("mysql") == before


@pytest.mark.parametrize("text, message", [
    ("GROUP_CONCAT(DISTINCT x ORDER BY y)", "not portable"),
    ("TIMESTAMPDIFF(FORTNIGHT, a, b)", "unit"),
])
def test_render_errors(text, message):
    with pytest.raises(RestrictionError, match=message):
        render(text, "postgresql")


# --- SQLite functions ------------------------------------------------------------------------


@pytest.fixture
def lite():
    connection = sqlite3.connect(":memory:")
    register_sqlite_functions(connection)
    yield connection
    connection.close()


def one(connection, sql, *params):
    return connection.execute(sql, params).fetchone()[0]


@pytest.mark.parametrize("unit, a, b, expected", [
    ("YEAR", "2000-02-29", "2020-02-28", 19),
    ("YEAR", "2000-02-29", "2020-02-29", 20),
    ("YEAR", "2020-02-29", "2000-02-29", -20),
    ("MONTH", "2020-01-31 10:00:00", "2020-02-29 09:00:00", 0),
    ("MONTH", "2020-01-31 10:00:00", "2020-03-31 09:59:59", 1),
    ("MONTH", "2021-06-15 12:00:00", "2019-06-15 12:00:01", -23),
    ("QUARTER", "2020-01-01", "2020-12-31", 3),
    ("DAY", "2020-01-01 12:00:00", "2020-01-02 11:59:59", 0),
    ("DAY", "2020-01-02 11:59:59", "2020-01-01 12:00:00", 0),
    ("DAY", "2020-01-01", "2020-03-01", 60),
    ("HOUR", "2020-01-01T00:00:00", "2020-01-01 05:59:59.999999", 5),
    ("SECOND", "2020-01-01 00:00:00.900000", "2020-01-01 00:00:01", 0),
    ("MICROSECOND", "2020-01-01 00:00:00", "2020-01-01 00:00:00.25", 250000),
    ("WEEK", "2020-01-01", "2020-01-15", 2),
    ("YEAR", None, "2020-01-01", None),
    ("YEAR", "not a date", "2020-01-01", None),
])
def test_sqlite_timestampdiff(lite, unit, a, b, expected):
    assert one(lite, "SELECT DJ_TIMESTAMPDIFF(?, ?, ?)", unit, a, b) == expected


def test_sqlite_functions_are_deterministic(lite):
    lite.execute("CREATE TABLE z (a TEXT, b TEXT)")
    lite.execute("CREATE INDEX z_diff ON z (DJ_TIMESTAMPDIFF('DAY', a, b))")
    lite.execute("CREATE INDEX z_concat ON z (DJ_CONCAT(a, b))")


def test_sqlite_statistics(lite):
    lite.execute("CREATE TABLE v (g INTEGER, x REAL)")
    lite.executemany("INSERT INTO v VALUES (?, ?)",
                     [(1, 1.0), (1, 2.0), (1, 4.0), (1, None), (2, 5.0), (3, None)])
    rows = lite.execute(
        "SELECT g, STDDEV_POP(x), STD(x), STDDEV(x), VAR_POP(x), VARIANCE(x), STDDEV_SAMP(x),"
        " VAR_SAMP(x) FROM v GROUP BY g ORDER BY g"
    ).fetchall()
    pop_var = 14 / 9
    assert rows[0][1:] == pytest.approx(
        (pop_var ** 0.5,) * 3 + (pop_var,) * 2 + ((7 / 3) ** 0.5, 7 / 3))
    assert rows[1][1:] == (0.0, 0.0, 0.0, 0.0, 0.0, None, None)
    assert rows[2][1:] == (None,) * 7


def test_sqlite_group_concat(lite):
    lite.execute("CREATE TABLE v (g INTEGER, k INTEGER, s TEXT)")
    lite.executemany("INSERT INTO v VALUES (?, ?, ?)", [
        (1, 2, "b"), (1, None, "n"), (1, 1, "a"), (1, 2, "a"), (1, 3, None), (2, 1, None)])
    result = [row[0] for row in lite.execute(
        "SELECT DJ_GROUP_CONCAT(s, '; ', '-da', k, s) FROM v GROUP BY g ORDER BY g")]
    assert result == ["a; b; a; n", None]
    result = one(lite, "SELECT DJ_GROUP_CONCAT(s, ',', 'dd', s) FROM v WHERE g = 1")
    assert result == "n,b,a"
    assert one(lite, "SELECT DJ_GROUP_CONCAT(x, ',', '-a', x) FROM (SELECT 2.0 AS x UNION "
                     "SELECT 1.5 UNION SELECT -3)") == "-3,1.5,2"


def test_sqlite_concat_if_regexp(lite):
    assert one(lite, "SELECT DJ_CONCAT('a', 2.0, 3, -1.5, 'z')") == "a23-1.5z"
    assert one(lite, "SELECT DJ_CONCAT('a', NULL)") is None
    assert one(lite, "SELECT IF(2 > 1, 'yes', 'no')") == "yes"
    assert one(lite, "SELECT IF(NULL, 'yes', 'no')") == "no"
    assert one(lite, "SELECT IF('0', 'yes', 'no')") == "no"
    assert one(lite, "SELECT 'abc' REGEXP '^a.c$'") == 1
    assert one(lite, "SELECT NULL REGEXP 'a'") is None


@pytest.mark.parametrize("text, expected", [
    ("TIMESTAMPDIFF(YEAR, dob, '2024-06-01')", [24, 33]),
    ("YEAR(dob) * 100 + MONTH(dob)", [200002, 199012]),
    ("CONCAT(name, ': ', score / 4)", ["al: 0.75", "bo: 2"]),
    ("IF(score > 4, 'high', 'low')", ["low", "high"]),
    ("score DIV 2", [1, 4]),
    ("CONCAT(LEFT(name, 1), RIGHT(dob, 2), LEFT(name, 0), RIGHT(name, 9))", ["a29al", "b31bo"]),
])
def test_rendered_sql_runs_on_sqlite(lite, text, expected):
    lite.execute("CREATE TABLE s (name TEXT, dob TEXT, score INTEGER)")
    lite.executemany("INSERT INTO s VALUES (?, ?, ?)",
                     [("al", "2000-02-29", 3), ("bo", "1990-12-31", 8)])
    sql = render(text, "sqlite")
    assert [row[0] for row in lite.execute(f"SELECT {sql} FROM s ORDER BY name")] == expected
