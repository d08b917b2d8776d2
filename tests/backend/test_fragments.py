"""Portable SQL fragments give the same values on every backend (computed against Python)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from dj_jupyter.algebra.fragments import parse_fragment, render_fragment
from dj_jupyter.backends.sqlite.functions import register_sqlite_functions

D, T = dt.date, dt.datetime

# id, grp, name, n, x, d, ts
ROWS = [
    (1, 1, "alice", 3, 1.5, D(2000, 2, 29), T(2020, 1, 31, 10, 0, 0)),
    (2, 1, "bob", 5, 2.25, D(1999, 12, 31), T(2021, 6, 15, 12, 0, 0)),
    (3, 1, None, None, None, None, None),
    (4, 2, "carol", 7, -1.0, D(2010, 7, 4), T(2019, 12, 31, 23, 59, 59)),
    (5, 2, "dave", 7, 4.0, D(1985, 1, 15), T(2024, 2, 29, 6, 30, 15)),
    (6, 3, None, None, None, None, None),
    (7, 4, "erin", 10, 0.5, D(2023, 11, 30), T(2023, 3, 1, 0, 0, 0)),
]
COLUMNS = ("id", "grp", "name", "n", "x", "d", "ts")

# TIMESTAMPDIFF edge cases: (a, b, expected YEAR, expected MONTH), checked on MySQL as well.
PAIRS = [
    (T(2000, 2, 29), T(2020, 2, 28), 19, 239),
    (T(2000, 2, 29), T(2020, 2, 29), 20, 240),
    (T(2020, 1, 31, 10), T(2020, 2, 29, 9), 0, 0),
    (T(2020, 1, 31, 10), T(2020, 3, 31, 9, 59, 59), 0, 1),
    (T(2020, 3, 31, 10), T(2020, 1, 31, 10), 0, -2),
    (T(2021, 6, 15, 12), T(2019, 6, 15, 12, 0, 1), -1, -23),
    (T(2019, 12, 31, 23, 59, 59), T(2020, 1, 1), 0, 0),
    (T(1990, 5, 20), T(2024, 5, 19, 23, 59, 59), 33, 407),
    (T(2024, 5, 19, 23, 59, 59), T(1990, 5, 20), -33, -407),
    (T(2022, 8, 8, 8, 8, 8), T(2022, 8, 8, 8, 8, 8), 0, 0),
    (T(2020, 1, 1), T(2020, 1, 1, 0, 0, 59), 0, 0),
    (None, T(2020, 1, 1), None, None),
]


@pytest.fixture
def db(db_url: str, backend: str, schema_name: str) -> Iterator[SimpleNamespace]:
    engine = sa.create_engine(db_url)
    if backend == "sqlite":
        sa.event.listen(engine, "connect", lambda dbapi, _record: register_sqlite_functions(dbapi))
        schema, prefix = None, f"{schema_name}_"
    else:
        schema, prefix = schema_name, ""
        create = "CREATE SCHEMA" if backend == "postgresql" else "CREATE DATABASE"
        with engine.begin() as connection:
            connection.exec_driver_sql(f"{create} {schema_name}")
    metadata = sa.MetaData()
    t = sa.Table(
        f"{prefix}t", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("grp", sa.Integer, nullable=False),
        sa.Column("name", sa.String(32)),
        sa.Column("n", sa.Integer),
        sa.Column("x", sa.Double),
        sa.Column("d", sa.Date),
        sa.Column("ts", sa.DateTime),
        schema=schema,
    )
    pairs = sa.Table(
        f"{prefix}pairs", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("a", sa.DateTime),
        sa.Column("b", sa.DateTime),
        sa.Column("da", sa.Date),
        sa.Column("db", sa.Date),
        schema=schema,
    )
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(t.insert(), [dict(zip(COLUMNS, row)) for row in ROWS])
        connection.execute(pairs.insert(), [
            {"id": i, "a": a, "b": b, "da": a and a.date(), "db": b.date()}
            for i, (a, b, _y, _m) in enumerate(PAIRS)
        ])
    quote = engine.dialect.identifier_preparer.quote

    def table_sql(table: sa.Table) -> str:
        name = quote(table.name)
        return f"{quote(schema)}.{name}" if schema else name

    def render(text: str, names: tuple[str, ...] = COLUMNS) -> str:
        sql = render_fragment(parse_fragment(text), backend, {c: quote(c) for c in names})
        return sql

    def query(sql: str) -> list[tuple]:
        if engine.dialect.paramstyle in ("format", "pyformat"):
            sql = sql.replace("%", "%%")  # as any caller must: the drivers format the text
        with engine.connect() as connection:
            return [tuple(row) for row in connection.exec_driver_sql(sql)]

    def per_row(text: str) -> list:
        return [row[1] for row in query(
            f"SELECT id, {render(text)} FROM {table_sql(t)} ORDER BY id"
        )]

    def per_group(text: str) -> list:
        fragment = parse_fragment(text)
        assert fragment.is_aggregate
        return [row[1] for row in query(
            f"SELECT grp, {render(text)} FROM {table_sql(t)} GROUP BY grp ORDER BY grp"
        )]

    def where(text: str) -> list[int]:
        return [row[0] for row in query(
            f"SELECT id FROM {table_sql(t)} WHERE {render(text)} ORDER BY id"
        )]

    def per_pair(text: str) -> list:
        sql = render(text, ("a", "b", "da", "db"))
        return [row[1] for row in query(f"SELECT id, {sql} FROM {table_sql(pairs)} ORDER BY id")]

    yield SimpleNamespace(per_row=per_row, per_group=per_group, where=where,
                          per_pair=per_pair, query=query, render=render, backend=backend,
                          t=table_sql(t))
    engine.dispose()


def column(name: str) -> list:
    index = COLUMNS.index(name)
    return [row[index] for row in ROWS]


def groups() -> dict[int, list[tuple]]:
    result: dict[int, list[tuple]] = {}
    for row in ROWS:
        result.setdefault(row[1], []).append(dict(zip(COLUMNS, row)))
    return result


def by_group(function) -> list:
    return [function(rows) for _grp, rows in sorted(groups().items())]


def values(rows, name):
    return [r[name] for r in rows if r[name] is not None]


def pstdev(numbers):
    if not numbers:
        return None
    mean = math.fsum(numbers) / len(numbers)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in numbers) / len(numbers))


def assert_floats(actual, expected):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        if e is None:
            assert a is None
        else:
            assert type(a) is float, f"{a!r} is a {type(a).__name__}, expected a float"
            assert a == pytest.approx(e, rel=1e-12, abs=1e-12)


def assert_ints(actual, expected):
    assert actual == expected
    for a in actual:
        assert a is None or type(a) is int, f"{a!r} is a {type(a).__name__}, expected an int"


# --- aggregates ------------------------------------------------------------------------


def test_count_star(db):
    assert_ints(db.per_group("count(*)"), by_group(len))


def test_count_column(db):
    assert_ints(db.per_group("count(name)"), by_group(lambda rows: len(values(rows, "name"))))


def test_count_distinct(db):
    assert_ints(db.per_group("COUNT(DISTINCT n)"),
                by_group(lambda rows: len(set(values(rows, "n")))))


def test_sum(db):
    expected = by_group(lambda rows: sum(values(rows, "n")) if values(rows, "n") else None)
    actual = db.per_group("sum(n)")
    assert actual == expected  # MySQL gives a Decimal for integer sums: equal, other type
    assert all(a is None or type(a) in (int, Decimal) for a in actual)
    assert_floats(db.per_group("SUM(x)"), by_group(
        lambda rows: math.fsum(values(rows, "x")) if values(rows, "x") else None))


def test_avg_is_a_float(db):
    def mean(name):
        return lambda rows: (
            math.fsum(values(rows, name)) / len(values(rows, name)) if values(rows, name) else None
        )

    assert_floats(db.per_group("avg(n)"), by_group(mean("n")))
    assert_floats(db.per_group("AVG(x)"), by_group(mean("x")))


def test_min_max(db):
    assert db.per_group("min(x)") == by_group(lambda r: min(values(r, "x"), default=None))
    assert db.per_group("max(n)") == by_group(lambda r: max(values(r, "n"), default=None))
    assert db.per_group("MAX(name)") == by_group(lambda r: max(values(r, "name"), default=None))
    assert db.per_group("min(d)")[1] in (D(1985, 1, 15), "1985-01-15")


@pytest.mark.parametrize("function", ["std", "stddev", "STDDEV_POP"])
def test_population_standard_deviation(db, function):
    assert_floats(db.per_group(f"{function}(x)"), by_group(lambda r: pstdev(values(r, "x"))))
    assert_floats(db.per_group(f"{function}(n)"), by_group(lambda r: pstdev(values(r, "n"))))


def test_variance_and_sample_statistics(db):
    def var(sample):
        def compute(rows):
            numbers = values(rows, "x")
            if len(numbers) < (2 if sample else 1):
                return None
            mean = math.fsum(numbers) / len(numbers)
            return math.fsum((v - mean) ** 2 for v in numbers) / (len(numbers) - sample)
        return compute

    assert_floats(db.per_group("variance(x)"), by_group(var(False)))
    assert_floats(db.per_group("VAR_POP(x)"), by_group(var(False)))
    assert_floats(db.per_group("VAR_SAMP(x)"), by_group(var(True)))
    expected = [None if v is None else math.sqrt(v) for v in by_group(var(True))]
    assert_floats(db.per_group("STDDEV_SAMP(x)"), expected)


def test_group_concat_default(db):
    assert db.per_group("GROUP_CONCAT(name)") == by_group(
        lambda r: ",".join(sorted(values(r, "name"))) or None)
    assert db.per_group("group_concat(n)") == by_group(
        lambda r: ",".join(str(v) for v in sorted(values(r, "n"))) or None)


def test_group_concat_ordered_with_separator(db):
    def ordered(rows):
        named = [r for r in rows if r["name"] is not None]
        named.sort(key=lambda r: r["name"])
        named.sort(key=lambda r: -1 if r["n"] is None else r["n"], reverse=True)
        return ", ".join(r["name"] for r in named) or None

    assert db.per_group("GROUP_CONCAT(name ORDER BY n DESC SEPARATOR ', ')") == by_group(ordered)
    assert db.per_group("GROUP_CONCAT(name ORDER BY id DESC SEPARATOR ';')") == [
        "bob;alice", "dave;carol", None, "erin"]
    assert db.per_group("GROUP_CONCAT(x ORDER BY id)") == ["1.5,2.25", "-1,4", None, "0.5"]


def test_group_concat_distinct(db):
    assert db.per_group("GROUP_CONCAT(DISTINCT n SEPARATOR '|')") == ["3|5", "7", None, "10"]
    assert db.per_group("GROUP_CONCAT(DISTINCT n ORDER BY n DESC)") == ["5,3", "7", None, "10"]


def test_aggregate_expressions_and_having(db):
    assert_floats(db.per_group("sum(n) / count(*)"), [8 / 3, 7.0, None, 10.0])
    assert db.per_group("IFNULL(max(name), 'none')") == ["bob", "dave", "none", "erin"]
    having = db.render("count(name) > 1")
    assert db.query(f"SELECT grp FROM {db.t} GROUP BY grp HAVING {having} ORDER BY grp") == [
        (1,), (2,)]


# --- dates and times ---------------------------------------------------------------------


def test_year_month_day_are_integers(db):
    for function, part in (("YEAR", "year"), ("MONTH", "month"), ("DAY", "day"),
                           ("DAYOFMONTH", "day")):
        expected = [None if v is None else getattr(v, part) for v in column("d")]
        assert_ints(db.per_row(f"{function}(d)"), expected)
        expected = [None if v is None else getattr(v, part) for v in column("ts")]
        assert_ints(db.per_row(f"{function.lower()}(ts)"), expected)


def test_hour_minute_second(db):
    for function in ("hour", "minute", "second"):
        expected = [None if v is None else getattr(v, function) for v in column("ts")]
        assert_ints(db.per_row(f"{function.upper()}(ts)"), expected)


@pytest.mark.parametrize("columns", [("a", "b"), ("da", "db")])
def test_timestampdiff_months_and_years(db, columns):
    a, b = columns
    if a == "da":  # dates: the time of day drops out
        expected_years = [_mysql_months(p[0] and p[0].date(), p[1].date()) for p in PAIRS]
        expected_years, expected_months = (
            [None if m is None else int(m / 12) for m in expected_years], expected_years)
    else:
        expected_years = [p[2] for p in PAIRS]
        expected_months = [p[3] for p in PAIRS]
    assert_ints(db.per_pair(f"TIMESTAMPDIFF(YEAR, {a}, {b})"), expected_years)
    assert_ints(db.per_pair(f"TIMESTAMPDIFF(MONTH, {a}, {b})"), expected_months)
    assert_ints(db.per_pair(f"TIMESTAMPDIFF(QUARTER, {a}, {b})"),
                [None if m is None else int(m / 3) for m in expected_months])


def _mysql_months(a, b):
    if a is None or b is None:
        return None
    sign, lo, hi = (1, a, b) if a <= b else (-1, b, a)
    months = (hi.year * 12 + hi.month) - (lo.year * 12 + lo.month)
    return sign * (months - (hi.day < lo.day))


@pytest.mark.parametrize("unit, seconds", [
    ("WEEK", 604800), ("DAY", 86400), ("HOUR", 3600), ("MINUTE", 60), ("SECOND", 1),
])
def test_timestampdiff_clock_units(db, unit, seconds):
    expected = [
        None if a is None else int((b - a).total_seconds() / seconds) for a, b, _y, _m in PAIRS
    ]
    assert_ints(db.per_pair(f"TIMESTAMPDIFF({unit}, a, b)"), expected)
    expected = [
        None if a is None else int((b.date() - a.date()).total_seconds() / seconds)
        for a, b, _y, _m in PAIRS
    ]
    assert_ints(db.per_pair(f"TIMESTAMPDIFF({unit}, da, db)"), expected)


def test_timestampdiff_with_literal_and_now(db):
    expected = [None if d is None else int(_mysql_months(d, D(2020, 1, 1)) / 12)
                for d in column("d")]
    assert_ints(db.per_row("TIMESTAMPDIFF(YEAR, d, '2020-01-01')"), expected)
    today = dt.date.today()
    expected = [None if d is None else _age(d, today) for d in column("d")]
    assert_ints(db.per_row("TIMESTAMPDIFF(YEAR, d, NOW())"), expected)


def _age(born, today):
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def test_now_and_curdate(db):
    now, today = db.query(f"SELECT {db.render('NOW()')}, {db.render('CURDATE()')}")[0]
    if isinstance(now, str):  # SQLite has no date types: ISO text
        now, today = T.fromisoformat(now), D.fromisoformat(today)
    assert type(now) is T and now.tzinfo is None and now.microsecond == 0
    assert type(today) is D
    import datetime as _dt

    local = _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)  # SQLite's 'now' is UTC
    if db.backend == "postgresql":  # the session time zone: compare to the server's own clock
        local = db.query("SELECT LOCALTIMESTAMP")[0][0]
    if db.backend == "mysql":
        local = db.query("SELECT SYSDATE()")[0][0]
    assert abs((local - now).total_seconds()) < 5
    assert today == now.date() or abs((local.date() - today).days) <= 1
    assert db.where("d < CURDATE() AND ts <= NOW()") == [1, 2, 4, 5, 7]


# --- scalar functions ------------------------------------------------------------------------


def test_concat_is_null_if_any_argument_is(db):
    expected = [None if r[2] is None else f"{r[2]}-{r[3]}!" for r in ROWS]
    assert db.per_row("CONCAT(name, '-', n, '!')") == expected
    assert db.per_row('CONCAT("<", name, ">")') == [
        None if v is None else f"<{v}>" for v in column("name")]


def test_if_case_coalesce_ifnull(db):
    assert db.per_row("IF(n > 4, 'big', 'small')") == [
        "big" if v is not None and v > 4 else "small" for v in column("n")]
    assert db.per_row("CASE WHEN x > 2 THEN 'hi' WHEN x IS NULL THEN 'none' ELSE 'lo' END") == [
        "none" if v is None else "hi" if v > 2 else "lo" for v in column("x")]
    assert db.per_row("CASE grp WHEN 1 THEN 'one' WHEN 2 THEN 'two' END") == [
        {1: "one", 2: "two"}.get(v) for v in column("grp")]
    assert db.per_row("COALESCE(name, 'anon')") == [v or "anon" for v in column("name")]
    assert_ints(db.per_row("IFNULL(n, 0)"), [v or 0 for v in column("n")])


def test_arithmetic(db):
    assert_ints(db.per_row("n * 2 + 1"), [None if v is None else v * 2 + 1 for v in column("n")])
    assert_floats(db.per_row("n / 2"), [None if v is None else v / 2 for v in column("n")])
    assert_floats(db.per_row("(n + 1) / (grp * 2)"),
                  [None if r[3] is None else (r[3] + 1) / (r[1] * 2) for r in ROWS])
    assert db.per_row("n / (grp - grp)") == [None] * len(ROWS)
    assert_ints(db.per_row("n DIV 2"), [None if v is None else v // 2 for v in column("n")])
    assert_ints(db.per_row("n % 4"), [None if v is None else v % 4 for v in column("n")])
    assert_floats(db.per_row("x - n"),
                  [None if r[3] is None else r[4] - r[3] for r in ROWS])


# --- restrictions ------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("YEAR(d) > 1999 AND name LIKE 'a%'", [1]),
    ('name = "bob"', [2]),
    ("name = 'bob' OR n >= 7", [2, 4, 5, 7]),
    ("n IN (3, 7)", [1, 4, 5]),
    ("n NOT IN (3, 7)", [2, 7]),
    ("x BETWEEN 0 AND 2", [1, 7]),
    ("name IS NULL", [3, 6]),
    ("name IS NOT NULL AND NOT (n > 4)", [1]),
    ("name LIKE '%a%'", [1, 4, 5]),
    ("name LIKE 'c_rol'", [4]),
    ("name NOT LIKE '%o%'", [1, 5, 7]),
    ("CONCAT(name, '%') = 'bob%'", [2]),
    ("CONCAT(name, '100%') LIKE '%0\\%'", [1, 2, 4, 5, 7]),
    ("name <> 'bob' AND n >= 5", [4, 5, 7]),
    ("name != 'bob' && x < 0", [4]),
    ("d >= '2000-01-01'", [1, 4, 7]),
    ("ts BETWEEN '2020-01-01' AND '2023-12-31'", [1, 2, 7]),
    ("MONTH(ts) = 2 OR DAY(d) = 31", [2, 5]),
    ("TIMESTAMPDIFF(YEAR, d, ts) >= 20", [2, 5]),
    ("IF(n > 4, x, 0) > 1", [2, 5]),
    ("COALESCE(n, 0) = 0", [3, 6]),
    ("n / 2 = 1.5", [1]),
    ("name = 'it''s' OR name = \"o'neil\"", []),
    ("TRUE AND grp = 4", [7]),
])
def test_restriction(db, text, expected):
    assert db.where(text) == expected


def test_like_case_sensitivity_differs(db):
    # Documented difference: MySQL (default collation) and SQLite ignore case, PostgreSQL not.
    expected = [] if db.backend == "postgresql" else [1]
    assert db.where("name LIKE 'ALI%'") == expected


@pytest.mark.parametrize("literal, value", [
    ("'100%'", "100%"),
    ("'%d %s %%'", "%d %s %%"),
    ("'it''s'", "it's"),
    ("\"it's\"", "it's"),
    ('"say ""hi"""', 'say "hi"'),
    ("'a\\\\b'", "a\\b"),
    ("'50\\%'", "50\\%"),
    ("'tab\\there'", "tab\there"),
    ("'colon: :name'", "colon: :name"),
    ("''", ""),
])
def test_string_literals_keep_their_value(db, literal, value):
    assert db.query(f"SELECT {db.render(literal)}") == [(value,)]
    assert db.query(f"SELECT {db.render(f'CONCAT({literal}, name)')} FROM {db.t} WHERE id = 2") == [
        (value + "bob",)]


def test_quoted_names_casts_and_number_text(db):
    assert db.where("`name` = 'bob'") == [2]
    assert db.per_row("CONCAT('x', x)") == [
        None if v is None else f"x{v:g}" for v in column("x")]
    assert db.per_row("CAST(n AS CHAR)") == [None if v is None else str(v) for v in column("n")]
    assert db.per_row("CONCAT(LEFT(name, 2), RIGHT(name, 1))") == [
        None if v is None else v[:2] + v[-1:] for v in column("name")]
