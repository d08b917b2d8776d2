"""Populate throughput: jobs per second of a trivial ``make``, direct and with reservation.

Per backend, one schema ``bench_<hex>`` holds two dj_jupyter tables::

    Source (Manual)           Result (Computed)
    k: int32                  -> Source
                              ---
                              value: float64

``Source`` gets N keys (2,000 by default, untimed); ``Result.make(key)`` inserts the key and
one float, nothing else, so what is measured is the populate machinery: finding the keys,
one transaction per key, the job record, (with reservation) the queue refresh, the batches of
pending keys and the atomic reservation of each.

Measured (best of ``repeat`` runs, tables and job queue emptied before each, untimed):

* direct     ``Result.populate()``
* reserved   ``Result.populate(reserve_jobs=True)``, including its ``jobs.refresh()``

Reported: jobs/s (N / seconds), and, from one extra untimed run of each mode, the SQL
statements per key: every statement SQLAlchemy sends to the driver (its
``before_cursor_execute`` event on the connection's engine, which also sees the ``BEGIN`` that
dj_jupyter issues on SQLite) plus every statement of ``Connection.run`` and
``Connection.copy_rows``, the raw-cursor paths that bypass those events; ``COMMIT`` and
``ROLLBACK`` counted apart (driver calls, one round trip each). With ``profile=True``,
cProfile's top functions of one run of each mode.
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import pstats
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .baseline import datajoint_seconds
from .bulk import Target, targets_for

SOURCE_DEFINITION = """
# populate benchmark: the keys
k: int32
"""

RESULT_DEFINITION = """
# populate benchmark: one trivial result per key
-> Source
---
value: float64
"""

MODES = ("direct", "reserved")

# The goals of the issue: DataJoint 2.3.5 on this kind of machine made 870-1,130 jobs/s direct
# and 300-410 jobs/s with reservation (MariaDB, PostgreSQL); twice that, rounded. On SQLite,
# 2,000 jobs/s direct; no goal with reservation.
GOALS = {
    ("sqlite", "direct"): 2000, ("sqlite", "reserved"): None,
    ("postgresql", "direct"): 2000, ("postgresql", "reserved"): 700,
    ("mysql", "direct"): 2000, ("mysql", "reserved"): 700,
}


@dataclass
class PopulateResult:
    backend: str
    mode: str
    keys: int
    seconds: float
    statements: Counter = field(default_factory=Counter)  # by first word, for one run
    commits: int = 0
    rollbacks: int = 0
    profile: str = ""
    baseline_seconds: float | None = None  # DataJoint's best, same server, same run

    @property
    def jobs_per_second(self) -> float:
        return self.keys / self.seconds

    @property
    def baseline_jobs_per_second(self) -> float | None:
        return None if self.baseline_seconds is None else self.keys / self.baseline_seconds

    @property
    def statements_per_key(self) -> float:
        return sum(self.statements.values()) / self.keys


# -- counting statements ---------------------------------------------------------------------

@contextlib.contextmanager
def count_statements(connection) -> Iterator[dict]:
    """Count the statements ``connection`` sends (by first word), its commits and rollbacks."""
    import sqlalchemy as sa

    tally: dict = {"statements": Counter(), "commits": 0, "rollbacks": 0, "carried": 0}

    def verb(sql: str) -> str:
        words = sql.lstrip().split(None, 1)
        return words[0].upper() if words else "?"

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        tally["statements"][verb(statement)] += 1

    def on_commit(conn):  # on MySQL replaced by the server's count (below)
        tally["commits"] += 1

    def on_rollback(conn):
        tally["rollbacks"] += 1

    original_run = connection.run

    def run(sql, rows=None, *, many=False, fetch=False, **options):
        tally["statements"][verb(sql)] += len(rows) if many and rows is not None else 1
        return original_run(sql, rows, many=many, fetch=fetch, **options)

    dialect = connection.dialect
    original_last = dialect.run_last

    def run_last(cursor, sql, parameters, chain=False):  # a transaction's last statement
        tally["statements"][verb(sql)] += 1
        if connection.backend == "mysql":  # "...; COMMIT": the commit that follows is skipped
            tally["carried"] += 1
        return original_last(cursor, sql, parameters, chain=chain)

    original_chain = dialect.commit_and_chain

    def commit_and_chain(cursor):  # PostgreSQL, transactions in series: COMMIT AND CHAIN
        tally["commits"] += 1
        return original_chain(cursor)

    original_copy = connection.copy_rows

    def copy_rows(sql, rows):
        tally["statements"][verb(sql)] += 1  # COPY ... FROM STDIN (PostgreSQL bulk path)
        return original_copy(sql, rows)

    def on_begin(conn):  # SQLite's BEGIN goes to the driver directly (no cursor event)
        if connection.backend == "sqlite":
            tally["statements"]["BEGIN"] += 1

    def server_commits() -> int:  # MySQL: what the server counted, carried COMMITs too
        rows = connection.run("SHOW SESSION STATUS LIKE 'Com_commit'", fetch=True)[0]
        return int(rows[0][1])

    mysql = connection.backend == "mysql"
    before = server_commits() if mysql else 0
    engine = connection.engine
    sa.event.listen(engine, "begin", on_begin)
    sa.event.listen(engine, "before_cursor_execute", on_execute)
    sa.event.listen(engine, "commit", on_commit)
    sa.event.listen(engine, "rollback", on_rollback)
    connection.run = run  # instance attributes shadow the methods
    connection.copy_rows = copy_rows
    dialect.run_last = run_last
    dialect.commit_and_chain = commit_and_chain
    try:
        yield tally
    finally:
        del connection.run, connection.copy_rows, dialect.run_last, dialect.commit_and_chain
        sa.event.remove(engine, "begin", on_begin)
        sa.event.remove(engine, "before_cursor_execute", on_execute)
        sa.event.remove(engine, "commit", on_commit)
        sa.event.remove(engine, "rollback", on_rollback)
    if mysql:  # the first SHOW committed once (the statement counts end before this one)
        tally["commits"] = server_commits() - before - 1


# -- one backend -------------------------------------------------------------------------------

def declare(connection, schema_name: str):
    import dj_jupyter as dj

    schema = dj.Schema(schema_name, connection=connection)

    class Source(dj.Manual):
        definition = SOURCE_DEFINITION

    Source = schema(Source)

    class Result(dj.Computed):
        definition = RESULT_DEFINITION

        def make(self, key):
            self.insert1({"k": key["k"], "value": key["k"] * 0.5})

    Result = schema(Result)
    return schema, Source, Result


def bench_backend(target: Target, n: int, repeat: int, log: Callable[[str], None] = print,
                  profile: bool = False, profile_lines: int = 25,
                  datajoint_python: str | None = None) -> list[PopulateResult]:
    """Both modes on one backend; the schema is dropped afterwards."""
    import dj_jupyter as dj

    backend = target.backend
    schema_name = "bench_" + uuid.uuid4().hex[:8]
    connection = dj.Connection(target.dj_target)
    schema, Source, Result = declare(connection, schema_name)

    def reset() -> None:
        Result.delete_quick()
        Result.jobs.delete()

    def runner(mode: str) -> Callable[[], dict]:
        if mode == "direct":
            return lambda: Result.populate()
        return lambda: Result.populate(reserve_jobs=True)

    def check(outcome: dict) -> None:
        if outcome != {"success_count": n, "error_list": []} or len(Result) != n:
            raise AssertionError(f"populate computed {outcome['success_count']} of {n} keys "
                                 f"({len(Result)} rows), errors {outcome['error_list'][:3]}")

    results = []
    try:
        log(f"  [{backend}] inserting {n} keys (untimed)")
        Source.insert([{"k": k} for k in range(n)])
        Result.jobs.info  # noqa: B018 - declare the job queue outside the timing
        for mode in MODES:
            run = runner(mode)
            best = float("inf")
            for attempt in range(repeat):
                reset()
                log(f"  [{backend}] {mode}: run {attempt + 1} of {repeat}")
                start = time.perf_counter()
                outcome = run()
                best = min(best, time.perf_counter() - start)
                check(outcome)
            result = PopulateResult(backend, mode, n, best)
            reset()
            with count_statements(connection) as tally:
                check(run())
            result.statements = tally["statements"]
            result.commits = tally["commits"] - tally["carried"]  # carried: no round trip
            result.rollbacks = tally["rollbacks"]
            if profile:
                reset()
                profiler = cProfile.Profile()
                profiler.enable()
                check(run())
                profiler.disable()
                text = io.StringIO()
                stats = pstats.Stats(profiler, stream=text)
                stats.sort_stats("tottime").print_stats(profile_lines)
                stats.sort_stats("cumulative").print_stats(profile_lines)
                result.profile = text.getvalue()
            results.append(result)
    finally:
        try:
            schema.drop(prompt=False)
        finally:
            connection.close()
    if datajoint_python and backend != "sqlite":  # DataJoint 2.x has no SQLite backend
        log(f"  [{backend}] DataJoint baseline ({datajoint_python})")
        baseline = datajoint_seconds(datajoint_python, target.dj_target, "populate",
                                     "--keys", str(n), "--repeat", str(repeat))
        for result in results:
            result.baseline_seconds = baseline.get(result.mode)
    return results


# -- several backends ------------------------------------------------------------------------

def run_populate(backends: list[str], n: int, repeat: int, urls: dict[str, str | None],
                 log: Callable[[str], None] = print, profile: bool = False,
                 datajoint_python: str | None = None) -> list[PopulateResult]:
    results: list[PopulateResult] = []
    with tempfile.TemporaryDirectory(prefix="dj_bench_populate_") as tmp:
        targets = targets_for(backends, urls, Path(tmp), log)
        try:
            for target in targets:
                results.extend(bench_backend(target, n, repeat, log, profile,
                                             datajoint_python=datajoint_python))
        finally:
            for target in targets:
                target.stop()
    return results


def format_populate(results: list[PopulateResult], n: int, repeat: int,
                    show_profile: bool = False) -> str:
    header = (f"{'backend':<11} {'mode':<9} {'seconds':>8} {'jobs/s':>8} {'goal':>6} "
              f"{'DataJoint':>9} {'ratio':>6} {'stmts/key':>9} {'commits/key':>11}  "
              "statements per key, by kind")
    lines = [f"Populate benchmark: {n} keys, trivial make, best of {repeat} runs", header,
             "-" * len(header)]
    for r in results:
        goal = GOALS.get((r.backend, r.mode))
        flag = "" if goal is None or r.jobs_per_second >= goal else "  < goal"
        base = r.baseline_jobs_per_second
        ratio = f"{r.jobs_per_second / base:>6.2f}" if base else f"{'-':>6}"
        if base and r.jobs_per_second < 2 * base:
            flag += "  < 2x DataJoint"
        kinds = ", ".join(f"{verb} {count / r.keys:.2f}"
                          for verb, count in r.statements.most_common())
        lines.append(f"{r.backend:<11} {r.mode:<9} {r.seconds:>8.3f} {r.jobs_per_second:>8.0f} "
                     f"{goal if goal else '-':>6} {f'{base:.0f}' if base else '-':>9} {ratio} "
                     f"{r.statements_per_key:>9.2f} "
                     f"{(r.commits + r.rollbacks) / r.keys:>11.2f}  {kinds}{flag}")
    lines += [
        "direct: Result.populate(); reserved: Result.populate(reserve_jobs=True), its queue",
        "refresh included. Goals: >= 2,000 jobs/s direct; >= 700 jobs/s reserved on the servers",
        "(2x DataJoint 2.3.5 on this kind of machine). DataJoint: the same workload run by",
        "DataJoint in the same run on the same server (--datajoint-python), ratio = ours/theirs",
        "(the issue asks for >= 2). Statements counted in one extra run:",
        "SQLAlchemy's before_cursor_execute on the engine + Connection.run/copy_rows (raw",
        "cursor) + the dialect's run_last (a transaction's last statement, the job record);",
        "a BEGIN psycopg sends by itself is not seen (populate's keys need none on",
        "PostgreSQL: each COMMIT AND CHAIN opens the next transaction); commits/key counts",
        "COMMIT and ROLLBACK round trips apart (on MySQL the job record carries its COMMIT",
        "in the same round trip, so that one is not counted).",
    ]
    if show_profile:
        for r in results:
            if r.profile:
                lines += ["", f"[{r.backend}] {r.mode}: cProfile of one run", r.profile.rstrip()]
    return "\n".join(lines)
