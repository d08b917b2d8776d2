"""Job status of a pipeline's auto tables (what the live diagram shows), on every backend:
done counted from the tables, reserved and failed from the job tables, and a number of
statements per refresh that does not grow with the number of tables."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dj_jupyter as dj
from dj_jupyter.populate.status import StatusReader, TableStatus


def declare(schema: dj.Schema, fail: set[int]) -> dict[str, type]:
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
            if key["n"] in fail:
                raise ValueError(f"no square for {key['n']}")
            self.insert1({**key, "sq": key["n"] ** 2})

    @schema
    class Digits(dj.Computed):
        definition = """
        -> Sq
        ---
        count: int16
        """

        class Digit(dj.Part):
            definition = """
            -> master
            digit: int16
            """

        def make(self, key):
            sq = (Sq & key).fetch1("sq")
            self.insert1({**key, "count": len(str(sq))})
            self.Digit.insert([{**key, "digit": i} for i in range(len(str(sq)))])

    return {"Src": Src, "Sq": Sq, "Digits": Digits}


@pytest.fixture
def second(db_url: str) -> Iterator[dj.Connection]:
    connection = dj.Connection(db_url)
    yield connection
    connection.close()


def test_counts_after_a_populate_with_failures(schema):
    t = declare(schema, fail={2, 5})
    t["Src"].insert([{"n": n} for n in range(7)])
    reader = StatusReader(schema.connection)
    names = [t[n]().full_name for n in ("Src", "Sq", "Digits")]
    before = reader.read(names)
    assert set(before) == set(names[1:])  # a Manual table has no status
    assert before[names[1]] == TableStatus(total=7, done=0)

    result = t["Sq"].populate(reserve_jobs=True, suppress_errors=True)
    assert len(result["error_list"]) == 2
    t["Digits"].populate()
    status = reader.read(names)
    assert status[names[1]] == TableStatus(total=7, done=5, error=2)
    assert status[names[2]] == TableStatus(total=5, done=5)
    part = t["Digits"].Digit().full_name
    assert part not in reader.read([*names, part])  # a part is made with its master


def test_a_reservation_on_another_connection_shows_as_reserved(schema, second):
    t = declare(schema, fail=set())
    t["Src"].insert([{"n": n} for n in range(4)])
    t["Sq"].jobs.refresh()
    other = declare(dj.Schema(schema.database, connection=second), fail=set())
    assert other["Sq"].jobs.reserve({"n": 3}) is True
    name = t["Sq"]().full_name
    status = StatusReader(schema.connection).read([name])[name]
    assert status == TableStatus(total=4, done=0, reserved=1)
    assert status.in_flight
    t["Sq"].populate()  # direct mode makes the other three keys (n=3 is made too: unreserved)
    after = StatusReader(schema.connection).read([name])[name]
    assert after.done == 4 and after.total == 4


def test_done_follows_a_custom_key_source(schema):
    t = declare(schema, fail=set())
    t["Src"].insert([{"n": n} for n in range(6)])
    t["Sq"].populate()
    name = t["Sq"]().full_name
    source = t["Src"] & "n < 3"
    status = StatusReader(schema.connection).read([name], key_sources={name: source})[name]
    assert status == TableStatus(total=3, done=3)


@contextlib.contextmanager
def counted(connection: dj.Connection) -> Iterator[list[str]]:
    """Every statement sent: through SQLAlchemy (events) and the raw cursor path (``run``)."""
    statements: list[str] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    raw_run = connection.run

    def counting_run(sql, *args, **kwargs):
        statements.append(sql)
        return raw_run(sql, *args, **kwargs)

    sa.event.listen(connection.engine, "before_cursor_execute", on_execute)
    connection.run = counting_run
    try:
        yield statements
    finally:
        del connection.run
        sa.event.remove(connection.engine, "before_cursor_execute", on_execute)


def declare_chain(schema: dj.Schema, length: int) -> list[type]:
    """A Manual root and ``length`` Computed tables, each made from the one before."""

    @schema
    class Root(dj.Manual):
        definition = """
        r: int32
        """

    classes, parent = [], "Root"
    context: dict[str, type] = {"Root": Root}
    for i in range(length):
        cls = type(f"Step{i}", (dj.Computed,), {
            "definition": f"-> {parent}\n---\nv{i} = 0: int32\n",
            "make": lambda self, key: self.insert1(key)})
        context[cls.__name__] = cls
        schema(cls, context=context)
        classes.append(cls)
        parent = cls.__name__
    Root.insert([{"r": r} for r in range(3)])
    return classes


@pytest.mark.parametrize("length", [3, 24])
def test_statements_per_refresh_do_not_grow_with_tables(schema, length):
    steps = declare_chain(schema, length)
    steps[0].populate(reserve_jobs=True)  # made with jobs, so one job table exists
    names = [step().full_name for step in steps]
    reader = StatusReader(schema.connection)
    reader.read(names)  # the first read also lists the schema's job tables
    with counted(schema.connection) as statements:
        status = reader.read(names)
    assert len(status) == length
    assert status[names[0]] == TableStatus(total=3, done=3)
    assert status[names[1]].total == 3 and status[names[-1]].total == 0
    # one statement of counts, one listing of the schema whose job tables are missing
    assert 1 <= len(statements) <= 3, statements


KEYS = 8
job_states = st.lists(st.sampled_from(["none", "made", "reserved", "error", "ignore"]),
                      min_size=KEYS, max_size=KEYS)


def test_status_matches_counting_table_by_table(schema):
    """Whatever mix of made, reserved, failed and ignored keys (and keys made whose job record
    says otherwise), the one-statement reading equals counting each number on its own."""
    t = declare(schema, fail=set())
    t["Src"].insert([{"n": n} for n in range(KEYS)])
    sq, queue = t["Sq"], t["Sq"].jobs
    name = sq().full_name
    reader = StatusReader(schema.connection)

    @settings(max_examples=12, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(states=job_states, made_too=st.sets(st.integers(0, KEYS - 1)))
    def check(states: list[str], made_too: set[int]) -> None:
        sq.delete_quick()
        queue.delete()
        made = {n for n, s in enumerate(states) if s == "made"} | made_too
        if made:
            sq.insert([{"n": n, "sq": n * n} for n in sorted(made)], allow_direct_insert=True)
        for n, state in enumerate(states):
            if state in ("reserved", "error", "ignore"):
                queue.record({"n": n}, state)
        got = reader.read([name])[name]
        by_status = {s: len(queue & {"status": s}) for s in ("reserved", "error", "ignore")}
        assert got == TableStatus(total=len(t["Src"]()), done=len(sq.proj()), **by_status)

    check()
