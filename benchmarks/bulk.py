"""Bulk insert and fetch: dj_jupyter against the bare DB-API driver, per backend.

Per backend, one schema ``bench_<hex>`` holds two identical tables:

* ``bulk``         declared through dj_jupyter (a Manual table), and
* ``driver_bulk``  created by plain SQL with the same column types, for the driver baseline.

Measured (best of ``repeat`` runs each, tables emptied between insert runs):

* insert  ``Bulk.insert(rows)`` with rows as a list of dicts, and as a pandas DataFrame,
          vs one ``cursor.executemany(INSERT ..., tuples)`` + ``commit()`` on a bare driver
          connection. The baseline's tuples are built from the same rows *before* the clock
          starts, so it measures the driver alone.
* fetch   ``Bulk.to_pandas()`` vs ``cursor.execute(SELECT ...)``, ``fetchall()``,
          ``pd.DataFrame(rows, columns=...).set_index("id")`` on the same table.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import string
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

COLUMNS = ("id", "a", "b", "c", "d")
DJ_TABLE = "bulk"
DRIVER_TABLE = "driver_bulk"
DEFINITION = """
# bulk benchmark rows
id: int64
---
a: int32
b: float64
c: varchar(32)
d: datetime
"""

# Plain-SQL twins of what dj_jupyter declares for DEFINITION (checked against the catalog).
CREATE_SQL = {
    "sqlite": ('CREATE TABLE {table} (id BIGINT NOT NULL, a INTEGER NOT NULL, b DOUBLE NOT NULL, '
               'c VARCHAR(32) NOT NULL, d DATETIME NOT NULL, PRIMARY KEY (id))'),
    "postgresql": ('CREATE TABLE {table} (id bigint NOT NULL, a integer NOT NULL, '
                   'b double precision NOT NULL, c varchar(32) NOT NULL, d timestamp(0) NOT NULL, '
                   'PRIMARY KEY (id))'),
    "mysql": ('CREATE TABLE {table} (id bigint NOT NULL, a int NOT NULL, b double NOT NULL, '
              'c varchar(32) NOT NULL, d datetime NOT NULL, PRIMARY KEY (id)) ENGINE=InnoDB '
              'DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin'),
}
PLACEHOLDER = {"sqlite": "?", "postgresql": "%s", "mysql": "%s"}
BACKENDS = ("sqlite", "postgresql", "mysql")


# -- data ------------------------------------------------------------------------------------

def make_rows(n: int, seed: int = 12345) -> list[dict]:
    """``n`` reproducible rows; datetimes are whole seconds so every backend round-trips them."""
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits
    start = dt.datetime(2015, 1, 1)
    span = 10 * 365 * 86400
    return [
        {
            "id": i,
            "a": rng.randint(-2**31, 2**31 - 1),
            "b": rng.uniform(-1e6, 1e6),
            "c": "".join(rng.choices(alphabet, k=rng.randint(1, 32))),
            "d": start + dt.timedelta(seconds=rng.randrange(span)),
        }
        for i in range(n)
    ]


def make_frame(rows: list[dict]):
    """The same rows as a DataFrame (``d`` as datetime64, default RangeIndex)."""
    import pandas as pd

    return pd.DataFrame.from_records(rows, columns=list(COLUMNS))


# -- one backend -------------------------------------------------------------------------------

@dataclass
class Target:
    """Where one backend's benchmark runs: a dj_jupyter target and a bare-driver factory."""

    backend: str
    dj_target: str                       # URL (or SQLite file path) for dj.Connection
    driver_connect: Callable[[], Any]    # a new bare DB-API connection, autocommit off
    stop: Callable[[], None] = field(default=lambda: None)

    def table(self, schema: str, name: str) -> str:
        """The table's qualified name, quoted, in the backend's plain SQL."""
        if self.backend == "sqlite":
            return f'"{schema}.{name}"'
        if self.backend == "postgresql":
            return f'"{schema}"."{name}"'
        return f"`{schema}`.`{name}`"


def sqlite_target(workdir: Path) -> Target:
    import sqlite3

    path = workdir / "bench.sqlite"

    def connect():
        connection = sqlite3.connect(path, timeout=60)
        # The pragmas dj_jupyter sets on its own connections (WAL is stored in the file).
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        return connection  # default isolation: executemany opens a transaction, commit() ends it

    return Target("sqlite", str(path), connect)


def server_target(backend: str, url: str, stop: Callable[[], None] = lambda: None) -> Target:
    from sqlalchemy import make_url

    parsed = make_url(url)
    if backend == "postgresql":
        def connect():
            import psycopg

            return psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                                   password=parsed.password, dbname=parsed.database)
    else:
        def connect():
            import pymysql

            connection = pymysql.connect(host=parsed.host, port=parsed.port or 3306,
                                         user=parsed.username, password=parsed.password,
                                         database=parsed.database, charset="utf8mb4")
            with connection.cursor() as cursor:  # the session dj_jupyter's connections get
                cursor.execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'")
                cursor.execute("SET SESSION time_zone = '+00:00'")
            connection.commit()
            return connection
    return Target(backend, url, connect, stop)


# -- timing ------------------------------------------------------------------------------------

def best_of(repeat: int, run: Callable[[], Any], before: Callable[[], Any] | None = None) -> float:
    """Shortest wall time of ``repeat`` calls of ``run`` (``before`` runs untimed each time)."""
    best = float("inf")
    for _ in range(repeat):
        if before is not None:
            before()
        gc.collect()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


@dataclass
class Result:
    backend: str
    operation: str
    dj_seconds: float
    driver_seconds: float

    @property
    def ratio(self) -> float:
        return self.dj_seconds / self.driver_seconds


def bench_backend(target: Target, rows: list[dict], repeat: int,
                  log: Callable[[str], None] = print) -> list[Result]:
    """Insert and fetch benchmarks on one backend; the schema is dropped afterwards."""
    import pandas as pd

    import dj_jupyter as dj

    backend = target.backend
    n = len(rows)
    frame = make_frame(rows)
    tuples = [tuple(row[c] for c in COLUMNS) for row in rows]   # the baseline's prepared data
    schema_name = "bench_" + uuid.uuid4().hex[:8]

    connection = dj.Connection(target.dj_target)
    schema = dj.Schema(schema_name, connection=connection)

    class Bulk(dj.Manual):
        definition = DEFINITION

    Bulk = schema(Bulk)
    assert Bulk.table_name == DJ_TABLE, Bulk.table_name

    driver = target.driver_connect()
    dj_table = target.table(schema_name, DJ_TABLE)
    driver_table = target.table(schema_name, DRIVER_TABLE)
    insert_sql = (f"INSERT INTO {driver_table} ({', '.join(COLUMNS)}) "
                  f"VALUES ({', '.join([PLACEHOLDER[backend]] * len(COLUMNS))})")
    select_sql = f"SELECT {', '.join(COLUMNS)} FROM {dj_table}"
    empty_sql = "DELETE FROM {}" if backend == "sqlite" else "TRUNCATE TABLE {}"

    def sql(statement: str) -> None:
        cursor = driver.cursor()
        try:
            cursor.execute(statement)
        finally:
            cursor.close()
        driver.commit()

    def empty_both() -> None:
        sql(empty_sql.format(dj_table))
        sql(empty_sql.format(driver_table))

    def driver_insert() -> None:
        cursor = driver.cursor()
        cursor.executemany(insert_sql, tuples)
        cursor.close()
        driver.commit()

    def driver_fetch():
        cursor = driver.cursor()
        cursor.execute(select_sql)
        fetched = cursor.fetchall()
        cursor.close()
        driver.commit()  # end the read transaction (as dj_jupyter does), releasing locks
        return pd.DataFrame(fetched, columns=list(COLUMNS)).set_index("id")

    results = []
    try:
        sql(CREATE_SQL[backend].format(table=driver_table))
        with warnings.catch_warnings():
            # Python >= 3.12 deprecates sqlite3's default datetime adapter the baseline uses.
            warnings.simplefilter("ignore", DeprecationWarning)

            log(f"  [{backend}] insert: list of dicts")
            dj_dicts = best_of(repeat, lambda: Bulk.insert(rows), empty_both)
            log(f"  [{backend}] insert: DataFrame")
            dj_frame = best_of(repeat, lambda: Bulk.insert(frame), empty_both)
            log(f"  [{backend}] insert: driver executemany")
            drv_insert = best_of(repeat, driver_insert, empty_both)

        results.append(Result(backend, "insert (list of dicts)", dj_dicts, drv_insert))
        results.append(Result(backend, "insert (DataFrame)", dj_frame, drv_insert))

        # The driver runs emptied the dj_jupyter table: refill it (untimed); both fetches read it.
        Bulk.insert(rows)
        check_contents(Bulk, driver, driver_table, n)
        log(f"  [{backend}] fetch")
        dj_fetch = best_of(repeat, Bulk.to_pandas)
        drv_fetch = best_of(repeat, driver_fetch)
        check_frames(Bulk.to_pandas(), driver_fetch(), rows)
        results.append(Result(backend, "fetch (to_pandas)", dj_fetch, drv_fetch))
    finally:
        driver.rollback()
        driver.close()
        schema.drop(prompt=False)
        connection.close()
    return results


def check_contents(table, driver, driver_table: str, n: int) -> None:
    count = len(table)
    cursor = driver.cursor()
    cursor.execute(f"SELECT COUNT(*) FROM {driver_table}")
    driver_count = cursor.fetchone()[0]
    cursor.close()
    driver.commit()
    if count != n or driver_count != n:
        raise AssertionError(f"expected {n} rows in both tables, found {count} and {driver_count}")


def check_frames(dj_frame, driver_frame, rows: list[dict]) -> None:
    """Both fetches hold the inserted values (SQLite's bare driver returns datetimes as text)."""
    if list(dj_frame.columns) != list(COLUMNS[1:]) or len(dj_frame) != len(rows):
        raise AssertionError(f"dj_jupyter frame has columns {list(dj_frame.columns)} and "
                             f"{len(dj_frame)} rows")
    if len(driver_frame) != len(rows):
        raise AssertionError("driver frame has the wrong number of rows")
    sample = rows[:: max(1, len(rows) // 100)]
    for row in sample:
        got = dj_frame.loc[row["id"]]
        if (int(got["a"]), float(got["b"]), got["c"]) != (row["a"], row["b"], row["c"]) or \
                got["d"] != row["d"]:
            raise AssertionError(f"row {row['id']} fetched as {dict(got)}, inserted {row}")


# -- several backends --------------------------------------------------------------------------

def targets_for(backends: list[str], urls: dict[str, str | None], workdir: Path,
                log: Callable[[str], None] = print) -> list[Target]:
    """A Target per backend: given URL, else ``DJ_TEST_<BACKEND>_URL``, else a new server."""
    targets = []
    for backend in backends:
        if backend == "sqlite":
            targets.append(sqlite_target(workdir))
            continue
        url = urls.get(backend)
        if url:
            targets.append(server_target(backend, url))
            continue
        from tests.servers import server_for

        log(f"starting a throwaway {backend} server (or using DJ_TEST_{backend.upper()}_URL)")
        server = server_for(backend, workdir / backend)
        targets.append(server_target(backend, server.url, server.stop))
    return targets


def run_bulk(backends: list[str], n: int, repeat: int, urls: dict[str, str | None],
             log: Callable[[str], None] = print) -> list[Result]:
    log(f"building {n} rows ...")
    rows = make_rows(n)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="dj_bench_") as tmp:
        targets = targets_for(backends, urls, Path(tmp), log)
        try:
            for target in targets:
                results.extend(bench_backend(target, rows, repeat, log))
        finally:
            for target in targets:
                target.stop()
    return results


def format_results(results: list[Result], n: int, repeat: int, goal: float = 1.3) -> str:
    header = f"{'backend':<11} {'operation':<24} {'dj_jupyter s':>12} {'driver s':>9} {'ratio':>6}"
    lines = [f"Bulk benchmark: {n} rows, best of {repeat} runs", header, "-" * len(header)]
    for r in results:
        flag = "" if r.ratio <= goal else "  > goal"
        lines.append(f"{r.backend:<11} {r.operation:<24} {r.dj_seconds:>12.3f} "
                     f"{r.driver_seconds:>9.3f} {r.ratio:>6.2f}{flag}")
    lines += [
        f"Goal: ratio (dj_jupyter / driver) <= {goal} for insert and fetch.",
        "Driver insert baseline: one executemany of tuples prepared from the same rows *before*",
        "timing (so it excludes row preparation), into an identical table created by plain SQL,",
        "in one transaction, committed. Driver fetch: execute + fetchall + pd.DataFrame(...)",
        ".set_index('id'); on SQLite it leaves datetimes as text, dj_jupyter parses them.",
    ]
    return "\n".join(lines)
