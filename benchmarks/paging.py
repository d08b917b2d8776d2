"""Paged table displays on a large table: the 25-row page at the first, 10 %, middle, 90 % and
last position, by keyset (``display/seek.py``) with and without position anchors, against a
growing OFFSET measured in the same run; the row count, the anchors' build and the first paint.

The table ``event`` has a composite primary key (``session``, ``event``: 10,000 events per
session) and a float value; its rows are generated in the database (a recursive CTE, or
``generate_series`` on PostgreSQL). Measured per position, best of ``--repeat``, in ms of
``page_of`` (the database's work plus decoding 25 rows):

* offset    baseline: the rows of the page read with ``ORDER BY key LIMIT 25 OFFSET n``
            (what the widget did before keyset paging)
* next      the page reached from the page before it (the cursor on screen: a keyset seek)
* previous  the page reached from the page after it
* jump      the page reached from nowhere ("page N of M") without anchors: its first row is
            found by skipping rows over the primary key alone (from the nearer end)
* anchored  the same jump with the position anchors (every ``ANCHOR_EVERY`` rows): a skip of
            fewer than ``ANCHOR_EVERY / 2`` keys from the nearest anchor, then a keyset seek

Once per display (shown apart, ``-`` position):

* first paint       ``page_of(count=False)``: the first page as a display shows it, with its
                    bounded count (at most 10,000 rows; the full count is in the background)
* count             ``len(table)``: ``count(*)`` of the table (the display's background count)
* count, DISTINCT   ``len(table.proj())``: the count as it was compiled for every query before
                    (``count(*)`` of ``SELECT DISTINCT key``), the count's baseline
* anchors build     ``build_anchors``: the walk that reads every anchor (background, once)

    python -m benchmarks.paging --rows 10000000 --backends sqlite
    python -m benchmarks.paging --rows 1000000 --backends postgresql mysql
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.bulk import Target, best_of, targets_for

PAGE = 25
PER_SESSION = 10_000
CHUNK = 1_000_000  # rows generated per statement on MariaDB
DEFINITION = """
# paged-display benchmark rows
session: int32
event: int32
---
value: float64
"""


def _fill_sql(backend: str, table: str, rows: int) -> list[str]:
    """Statements that generate ``rows`` rows inside the database."""
    insert = f"INSERT INTO {table} (session, event, value) "
    if backend == "postgresql":
        return [insert + f"SELECT x / {PER_SESSION}, x % {PER_SESSION}, (x * 7 % 1000) / 10.0 "
                f"FROM generate_series(0, {rows - 1}) AS x"]
    divide, modulo = ("DIV", "MOD") if backend == "mysql" else ("/", "%")
    step = CHUNK if backend == "mysql" else rows  # MariaDB: its CTE's temporary table stays small
    fills = [(f"{insert}WITH RECURSIVE c(x) AS (SELECT {start} UNION ALL SELECT x + 1 FROM c "
              f"WHERE x < {min(start + step, rows) - 1}) SELECT x {divide} {PER_SESSION}, "
              f"x {modulo} {PER_SESSION}, (x * 7 % 1000) / 10.0 FROM c")
             for start in range(0, rows, step)]
    if backend == "mysql":  # MariaDB stops a recursive CTE early otherwise
        return ["SET SESSION max_recursive_iterations = 4294967295", *fills]
    return fills


def bench_backend(target: Target, rows: int, repeat: int,
                  log: Callable[[str], None] = print) -> list[tuple[str, str, float]]:
    """(position, way, ms) for one backend."""
    import dj_jupyter as dj
    from dj_jupyter.display.page import display_order, page_of
    from dj_jupyter.display.seek import build_anchors

    schema_name = "bench_" + uuid.uuid4().hex[:8]
    connection = dj.Connection(target.dj_target)
    schema = dj.Schema(schema_name, connection=connection)

    class Event(dj.Manual):
        definition = DEFINITION

    Event = schema(Event)
    started = time.perf_counter()
    for sql in _fill_sql(target.backend, target.table(schema_name, Event.table_name), rows):
        connection.run(sql)
    log(f"{target.backend}: {rows:,} rows generated in {time.perf_counter() - started:.1f} s")
    if target.backend == "postgresql":
        connection.run(f"ANALYZE {target.table(schema_name, Event.table_name)}")

    table = Event()
    results: list[tuple[str, str, float]] = []
    results.append(("-", "first paint", 1000 * best_of(
        repeat, lambda: page_of(table, limit=PAGE, count=False))))
    results.append(("-", "count", 1000 * best_of(repeat, lambda: len(table))))
    results.append(("-", "count, DISTINCT", 1000 * best_of(
        min(repeat, 2), lambda: len(table.proj()))))
    order = display_order(table, None, False)[1]
    started = time.perf_counter()
    anchors = build_anchors(table, order)
    results.append(("-", f"anchors build ({len(anchors.keys):,})",
                    1000 * (time.perf_counter() - started)))
    total = len(table)
    last = (total - 1) // PAGE * PAGE
    positions = [("first", 0)] + [(f"{p} %", total * p // 100 // PAGE * PAGE + 7 * PAGE)
                                  for p in (10, 50, 90)] + [("last", last)]
    for position, offset in positions:
        before = page_of(table, offset=max(offset - PAGE, 0), limit=PAGE, known_total=total)
        after = page_of(table, offset=min(offset + PAGE, last), limit=PAGE, known_total=total)
        expected = page_of(table, offset=offset, limit=PAGE, known_total=total).rows
        ways: dict[str, Callable[[], Any]] = {
            "offset": lambda o=offset: table.to_dicts(order_by="KEY", limit=PAGE, offset=o),
            "next": lambda o=offset, b=before: page_of(table, offset=o, limit=PAGE, near=b,
                                                      known_total=total),
            "previous": lambda o=offset, a=after: page_of(table, offset=o, limit=PAGE, near=a,
                                                         known_total=total),
            "jump": lambda o=offset: page_of(table, offset=o, limit=PAGE, known_total=total),
            "anchored": lambda o=offset: page_of(table, offset=o, limit=PAGE, known_total=total,
                                                 anchors=anchors),
        }
        for way, run in ways.items():
            if way != "offset" and run().rows != expected:
                raise AssertionError(f"{target.backend}: the {way} page at {offset} differs")
            results.append((position, way, 1000 * best_of(repeat, run)))
    schema.drop(prompt=False)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backends", nargs="+", default=["sqlite"])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dj_paging_") as tmp:
        targets = targets_for(args.backends, {}, Path(tmp))
        try:
            for target in targets:
                results = bench_backend(target, args.rows, args.repeat)
                baseline = {pos: ms for pos, way, ms in results if way == "offset"}
                print(f"\n{target.backend}, {args.rows:,} rows, {PAGE}-row pages, "
                      f"best of {args.repeat} (ms)")
                print(f"{'position':<8} {'way':<24} {'ms':>9} {'vs offset':>10}")
                for position, way, ms in results:
                    ratio = f"{ms / baseline[position]:.3f}" if position in baseline else ""
                    print(f"{position:<8} {way:<24} {ms:>9.2f} {ratio:>10}")
        finally:
            for target in targets:
                target.stop()


if __name__ == "__main__":
    main()
