"""Query algebra: one restrict + join + proj + aggr query, dj_jupyter against hand-written SQL.

Per backend, one schema ``bench_<hex>`` holds two dj_jupyter tables (Manual):

* ``item``  1,000 rows by default: ``item`` key, ``category``, ``price``;
* ``sale``  100,000 rows by default, referencing ``item``: ``sale`` key, ``qty``, ``day``.

Both are filled with the bulk insert, untimed. The query (see ``build_query``)::

    (Item & "price > 10").proj("category", p="price")
        .aggr(Sale & "qty > 2", "category", "p", n="count(*)", revenue="sum(qty)",
              avg_qty="avg(qty)")
        & "category <> 'c0'"

Measured (best of ``repeat`` runs each):

* dj_jupyter   ``query.to_pandas()`` on the query built beforehand: compiling the SQL, running
               it, fetching the rows and building the DataFrame.
* bare driver  the same query as one flat SELECT written by hand for the backend (``HAND_SQL``),
               ``cursor.execute``, ``fetchall()``, ``pd.DataFrame(rows, columns=...)
               .set_index("item")``, then ``commit()`` to end the read transaction.

Before timing, both results are checked against the answer computed in Python from the generated
rows (so also against each other).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from .bulk import Result, Target, best_of, targets_for

ITEM_DEFINITION = """
# algebra benchmark: things that are sold
item: int32
---
category: varchar(16)
price: float64
"""

SALE_DEFINITION = """
# algebra benchmark: one sale of an item
-> Item
sale: int32
---
qty: int32
day: date
"""

CATEGORIES = 10          # c0 .. c9
MIN_PRICE = 10.0         # the restriction on Item: price > MIN_PRICE
MIN_QTY = 2              # the restriction on Sale: qty > MIN_QTY
EXCLUDED = "c0"          # the restriction on the result: category <> EXCLUDED
RESULT_COLUMNS = ("item", "category", "p", "n", "revenue", "avg_qty")
OPERATION = "restrict+join+proj+aggr"

# The same query, written the way one would by hand: one SELECT, one join, no subqueries.
# The Sale restriction goes into the ON clause (the join keeps items without matching sales,
# as aggr does by default). AVG is cast to a float on PostgreSQL and MySQL so that both sides
# return the same types (dj_jupyter does the same).
_HAND = """SELECT i.item, i.category, i.price AS p, COUNT(*) AS n, SUM(s.qty) AS revenue,
       {avg} AS avg_qty
FROM {item} AS i LEFT JOIN {sale} AS s ON s.item = i.item AND s.qty > {min_qty}
WHERE i.price > {min_price} AND i.category <> '{excluded}'
GROUP BY i.item, i.category, i.price"""
HAND_SQL = {
    "sqlite": _HAND.replace("{avg}", "AVG(s.qty)"),
    "postgresql": _HAND.replace("{avg}", "CAST(AVG(s.qty) AS double precision)"),
    "mysql": _HAND.replace("{avg}", "CAST(AVG(s.qty) AS DOUBLE)"),
}


# -- data ------------------------------------------------------------------------------------

def make_items(n_items: int, seed: int = 2024) -> list[dict]:
    """``n_items`` reproducible items; prices from 0 to 100, so about 90 % pass ``price > 10``."""
    rng = random.Random(seed)
    return [{"item": i, "category": f"c{rng.randrange(CATEGORIES)}",
             "price": round(rng.uniform(0.0, 100.0), 2)} for i in range(n_items)]


def make_sales(n_sales: int, n_items: int, seed: int = 4202) -> list[dict]:
    """``n_sales`` reproducible sales spread round-robin over the items; qty from 1 to 10."""
    rng = random.Random(seed)
    start = dt.date(2020, 1, 1)
    return [{"item": s % n_items, "sale": s // n_items, "qty": rng.randint(1, 10),
             "day": start + dt.timedelta(days=rng.randrange(5 * 365))} for s in range(n_sales)]


def expected_result(items: list[dict], sales: list[dict]) -> dict[int, tuple]:
    """The query's answer computed in Python: item -> (category, p, n, revenue, avg_qty).

    As in the SQL, an item without matching sales still counts one row (COUNT(*) over the outer
    join) and has NULL sum and average; with the default data every item has matching sales.
    """
    matching: dict[int, list[int]] = {}
    for sale in sales:
        if sale["qty"] > MIN_QTY:
            matching.setdefault(sale["item"], []).append(sale["qty"])
    answer = {}
    for item in items:
        if item["price"] > MIN_PRICE and item["category"] != EXCLUDED:
            qtys = matching.get(item["item"], [])
            answer[item["item"]] = (item["category"], item["price"], max(1, len(qtys)),
                                    sum(qtys) if qtys else None,
                                    sum(qtys) / len(qtys) if qtys else None)
    return answer


# -- the query ------------------------------------------------------------------------------

def build_query(Item, Sale):
    """The dj_jupyter query: restrict, proj (with a rename), aggr (a join), restrict again."""
    return (
        (Item & f"price > {MIN_PRICE}")
        .proj("category", p="price")
        .aggr(Sale & f"qty > {MIN_QTY}", "category", "p",
              n="count(*)", revenue="sum(qty)", avg_qty="avg(qty)")
        & f"category <> '{EXCLUDED}'"
    )


def hand_sql(target: Target, schema_name: str) -> str:
    return HAND_SQL[target.backend].format(
        item=target.table(schema_name, "item"), sale=target.table(schema_name, "sale"),
        min_qty=MIN_QTY, min_price=MIN_PRICE, excluded=EXCLUDED)


# -- one backend -----------------------------------------------------------------------------

def bench_backend(target: Target, items: list[dict], sales: list[dict], repeat: int,
                  log: Callable[[str], None] = print,
                  sql_out: dict[str, tuple[str, str]] | None = None) -> Result:
    """Time the query both ways on one backend; the schema is dropped afterwards.

    ``sql_out``, if given, receives ``backend -> (dj_jupyter SQL, hand-written SQL)``.
    """
    import pandas as pd

    import dj_jupyter as dj

    backend = target.backend
    schema_name = "bench_" + uuid.uuid4().hex[:8]
    connection = dj.Connection(target.dj_target)
    schema = dj.Schema(schema_name, connection=connection)

    class Item(dj.Manual):
        definition = ITEM_DEFINITION

    Item = schema(Item)

    class Sale(dj.Manual):
        definition = SALE_DEFINITION

    Sale = schema(Sale)
    assert (Item.table_name, Sale.table_name) == ("item", "sale"), \
        (Item.table_name, Sale.table_name)

    driver = target.driver_connect()
    statement = hand_sql(target, schema_name)

    def driver_query():
        cursor = driver.cursor()
        cursor.execute(statement)
        fetched = cursor.fetchall()
        cursor.close()
        driver.commit()  # end the read transaction, as dj_jupyter does
        return pd.DataFrame(fetched, columns=list(RESULT_COLUMNS)).set_index("item")

    try:
        log(f"  [{backend}] loading {len(items)} items and {len(sales)} sales (untimed)")
        Item.insert(items)
        Sale.insert(sales)
        query = build_query(Item, Sale)
        if sql_out is not None:
            sql_out[backend] = (query.make_sql(), statement)

        expected = expected_result(items, sales)
        check_frame(query.to_pandas(), expected, "dj_jupyter")
        check_frame(driver_query(), expected, "driver")

        log(f"  [{backend}] {OPERATION}: dj_jupyter to_pandas")
        dj_seconds = best_of(repeat, query.to_pandas)
        log(f"  [{backend}] {OPERATION}: driver")
        driver_seconds = best_of(repeat, driver_query)
    finally:
        driver.rollback()
        try:
            schema.drop(prompt=False)
        except RecursionError:
            # schema.drop reads the foreign-key graph of *every* schema on the server; a
            # foreign key left dangling by some other schema (e.g. a half-dropped test schema)
            # makes that recurse without end. Drop ours with plain SQL instead.
            log(f"  [{backend}] schema.drop failed (RecursionError); dropping with plain SQL")
            drop_with_driver(target, driver, schema_name)
            broken = True
        else:
            broken = False
        driver.close()
        close_connection(connection, broken, lambda text: log(f"  [{backend}] {text}"))
    return Result(backend, OPERATION, dj_seconds, driver_seconds)


def close_connection(connection, broken: bool, log: Callable[[str], None]) -> None:
    """Close the dj_jupyter connection; after the RecursionError it may be unusable."""
    if not broken:
        connection.close()
        return
    # The recursion can stop the driver mid-packet, so closing that connection fails, and
    # SQLAlchemy's pool logs the failed reset; keep that out of the benchmark's output.
    pool_logger = logging.getLogger("sqlalchemy.pool")
    level = pool_logger.level
    pool_logger.setLevel(logging.CRITICAL)
    try:
        connection.close()
    except Exception as error:  # noqa: BLE001
        log(f"closing the dj_jupyter connection failed ({type(error).__name__}); ignored")
    finally:
        pool_logger.setLevel(level)


def drop_with_driver(target: Target, driver, schema_name: str) -> None:
    """Drop the benchmark's schema on the bare driver connection (fallback cleanup)."""
    if target.backend == "sqlite":
        statements = [f"DROP TABLE IF EXISTS {target.table(schema_name, name)}"
                      for name in ("sale", "item", "~lineage")]
    elif target.backend == "postgresql":
        statements = [f'DROP SCHEMA IF EXISTS "{schema_name}" CASCADE']
    else:
        statements = [f"DROP DATABASE IF EXISTS `{schema_name}`"]
    cursor = driver.cursor()
    try:
        for statement in statements:
            cursor.execute(statement)
    finally:
        cursor.close()
    driver.commit()


def check_frame(frame, expected: dict[int, tuple], side: str, tolerance: float = 1e-9) -> None:
    """``frame`` (indexed by item) holds exactly the expected rows; floats within tolerance."""
    columns = list(RESULT_COLUMNS[1:])
    if list(frame.index.names) != ["item"] or list(frame.columns) != columns:
        raise AssertionError(f"{side} frame has index {list(frame.index.names)} and columns "
                             f"{list(frame.columns)}, expected ['item'] and {columns}")
    if sorted(int(i) for i in frame.index) != sorted(expected):
        raise AssertionError(f"{side} frame has {len(frame)} rows, expected {len(expected)} "
                             "(or other items)")
    for item, row in zip(frame.index, frame.itertuples(index=False)):
        category, price, n, revenue, avg_qty = expected[int(item)]
        got_avg = None if row.avg_qty is None or row.avg_qty != row.avg_qty else float(row.avg_qty)
        same = (
            row.category == category
            and abs(float(row.p) - price) <= tolerance * max(1.0, abs(price))
            and int(row.n) == n
            and (int(row.revenue) if revenue is not None else None) == revenue
            and (got_avg is None) == (avg_qty is None)
            and (avg_qty is None or abs(got_avg - avg_qty) <= tolerance * max(1.0, avg_qty))
        )
        if not same:
            raise AssertionError(f"{side}: item {item} fetched as {tuple(row)}, expected "
                                 f"{(category, price, n, revenue, avg_qty)}")


# -- several backends ------------------------------------------------------------------------

def run_algebra(backends: list[str], n_sales: int, n_items: int, repeat: int,
                urls: dict[str, str | None], log: Callable[[str], None] = print,
                sql_out: dict[str, tuple[str, str]] | None = None) -> list[Result]:
    log(f"building {n_items} items and {n_sales} sales ...")
    items = make_items(n_items)
    sales = make_sales(n_sales, n_items)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="dj_bench_algebra_") as tmp:
        targets = targets_for(backends, urls, Path(tmp), log)
        try:
            for target in targets:
                results.append(bench_backend(target, items, sales, repeat, log, sql_out))
        finally:
            for target in targets:
                target.stop()
    return results


def format_algebra(results: list[Result], n_sales: int, n_items: int, repeat: int,
                   goal: float = 1.1, sql: dict[str, tuple[str, str]] | None = None) -> str:
    header = f"{'backend':<11} {'query':<24} {'dj_jupyter s':>12} {'driver s':>9} {'ratio':>6}"
    lines = [f"Algebra benchmark: {n_sales} sales x {n_items} items, best of {repeat} runs",
             header, "-" * len(header)]
    for r in results:
        flag = "" if r.ratio <= goal else "  > goal"
        lines.append(f"{r.backend:<11} {r.operation:<24} {r.dj_seconds:>12.4f} "
                     f"{r.driver_seconds:>9.4f} {r.ratio:>6.2f}{flag}")
    lines += [
        f"Goal: ratio (dj_jupyter / driver) <= {goal}.",
        "dj_jupyter: query.to_pandas() (compile + execute + fetch + DataFrame) on a prebuilt",
        "query. Driver: the same query as one hand-written SELECT, execute + fetchall +",
        "pd.DataFrame(...).set_index('item'). Both results checked equal before timing.",
    ]
    for backend, (dj_sql, driver_sql) in (sql or {}).items():
        lines += ["", f"[{backend}] dj_jupyter SQL:", dj_sql.strip(),
                  f"[{backend}] hand-written SQL:", driver_sql.strip()]
    return "\n".join(lines)
