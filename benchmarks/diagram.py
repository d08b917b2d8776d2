"""A 300-table diagram: layout and first paint of the live widget in headless chromium, against
baselines measured in the same run (the 30-table diagram, and dagre's layout alone), plus the
Python-side static SVG (the picture a saved notebook keeps).

Each figure is the best of ``--repeat`` renders into a fresh element of one page (dagre's module
is loaded once before, as it is after the first diagram of a notebook):

* first paint  ``render()`` (dagre layout, SVG drawing, toolbar, fit) until the second
               animation frame after it, i.e. the browser has painted the diagram
* dagre alone  ``layout()`` (dagre) of the same nodes and edges, no drawing: the baseline the
               widget beats above ``DAGRE_LIMIT`` tables, where it lays out with its own
               ``bandLayout`` (ranks, one band per schema, barycenter order)
* python svg   ``diagram_svg`` of the same model (layered layout + SVG text)

    python -m benchmarks.diagram --tables 300 --baseline-tables 30 --repeat 5

``--status``: the job-status refresh of the live diagram for a real pipeline of ``--tables``
tables (a fifth Manual, the rest Computed, some made, some failed, some reserved) on SQLite
(or ``--url``): database time per refresh of :class:`StatusReader` (best and median of
``--repeat`` refreshes) against the 50 ms goal, its statements per refresh, and the same
numbers read table by table (``len`` of the key source and its done part, ``jobs.progress()``)
as the baseline of the same run.

    python -m benchmarks.diagram --status --tables 100 --repeat 20
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dj_jupyter.display.diagram.svg import diagram_svg
from dj_jupyter.jupyter.diagram import DiagramWidget, diagram_esm
from tests.big_diagram import big_model
from tests.chromium import widget_page

GOAL_SECONDS = 1.0
STATUS_GOAL_SECONDS = 0.050  # database time per status refresh of a 100-table pipeline
MEASURE = """async ({esm, models, repeat}) => {
  const url = URL.createObjectURL(new Blob([esm], {type: "text/javascript"}));
  const module = await import(url);
  const widget = module.default;
  const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const fake = (state) => ({get: (n) => state[n], on() {}, off() {}, save_changes() {}});
  // warm up: load dagre once, as the first diagram of a notebook does
  const warm = document.createElement("div");
  document.body.appendChild(warm);
  await widget.render({model: fake(models[models.length - 1]), el: warm});
  warm.remove();
  const source = new Blob([window.DAGRE_SOURCE], {type: "text/javascript"});
  const dagre = await import(URL.createObjectURL(source));
  const results = {};
  for (const state of models) {
    const paint = [], layout = [];
    for (let i = 0; i < repeat; i++) {
      const el = document.createElement("div");
      document.body.appendChild(el);
      const t0 = performance.now();
      await widget.render({model: fake(state), el});
      el.getBoundingClientRect();
      await frames();
      paint.push(performance.now() - t0);
      const count = el.querySelectorAll(".dj-node").length;
      if (count !== state.nodes.length) throw new Error(`drew ${count} of ${state.nodes.length}`);
      el.remove();
      const t1 = performance.now();
      module.layout(dagre.default ?? dagre, state.nodes, state.edges, state.direction);
      layout.push(performance.now() - t1);
    }
    results[state.nodes.length] = {paint: Math.min(...paint), layout: Math.min(...layout)};
  }
  return results;
}"""


def run(tables: int, baseline_tables: int, repeat: int) -> dict[int, dict[str, float]]:
    models = [big_model(baseline_tables), big_model(tables)]
    states = [{**m, "theme": "light", "page_size": 10} for m in models]
    esm = diagram_esm()
    dagre_source = esm.split("\n", 1)[0][len("const DAGRE_SOURCE = "):-1]
    with widget_page(DiagramWidget._css, {"width": 1200, "height": 900}) as (page, errors):
        page.add_script_tag(content=f"window.DAGRE_SOURCE = {dagre_source};")
        results = page.evaluate(MEASURE, {"esm": esm, "models": states, "repeat": repeat})
        if errors:
            raise RuntimeError(f"page errors: {errors}")
    figures = {int(n): {k: v / 1000 for k, v in r.items()} for n, r in results.items()}
    for model in models:
        best = float("inf")
        for _ in range(repeat):
            started = time.perf_counter()
            diagram_svg(model)
            best = min(best, time.perf_counter() - started)
        figures[len(model["nodes"])]["python_svg"] = best
    return figures


def report(figures: dict[int, dict[str, float]], tables: int, baseline_tables: int) -> str:
    big, small = figures[tables], figures[baseline_tables]
    lines = [f"{'tables':>7} {'first paint':>12} {'dagre alone':>13} {'python svg':>11}"]
    for n in sorted(figures):
        f = figures[n]
        lines.append(f"{n:>7} {f['paint'] * 1000:>10.0f}ms {f['layout'] * 1000:>11.0f}ms "
                     f"{f['python_svg'] * 1000:>9.0f}ms")
    verdict = "meets" if big["paint"] <= GOAL_SECONDS else "MISSES"
    lines.append(f"{tables}-table first paint {big['paint']:.3f} s ({verdict} the "
                 f"{GOAL_SECONDS:.0f} s goal); {big['paint'] / small['paint']:.1f}x the "
                 f"{baseline_tables}-table diagram, {big['paint'] / big['layout']:.2f}x dagre's "
                 "layout alone")
    return "\n".join(lines)


# -- the job-status refresh of a pipeline --------------------------------------------------


def status_pipeline(connection: Any, tables: int, keys: int = 20) -> list[str]:
    """Declare ``tables`` tables (a fifth Manual roots, the rest Computed, each made from one
    earlier table), fill the roots, make half the Computed tables with a few failures, and
    reserve a key of some others; returns every table's full name."""
    import dj_jupyter as dj

    schema = dj.Schema("status_bench", connection=connection)
    context: dict[str, Any] = {}
    roots = max(1, tables // 5)
    classes: list[type] = []
    for i in range(tables):
        if i < roots:
            cls = type(f"Root{i}", (dj.Manual,), {"definition": f"k{i}: int32\n"})
        else:
            parent = classes[(i * 7) % i].__name__

            def make(self: Any, key: dict) -> None:
                if sum(v for v in key.values() if isinstance(v, int)) % 9 == 4:
                    raise ValueError("unlucky key")
                self.insert1(key)

            cls = type(f"Step{i}", (dj.Computed,), {"definition": f"-> {parent}\n", "make": make})
        context[cls.__name__] = cls
        schema(cls, context=context)
        classes.append(cls)
    for i, cls in enumerate(classes[:roots]):
        cls.insert([{f"k{i}": k} for k in range(keys)])
    for i, cls in enumerate(classes[roots:]):
        if i % 2 == 0:
            cls.populate(reserve_jobs=True, suppress_errors=True, display_progress=False)
        elif i % 5 == 1:
            cls.jobs.refresh()
            cls.jobs.reserve(cls.key_source.proj().keys(limit=1)[0])
    return [cls().full_name for cls in classes]


@contextlib.contextmanager
def counted_statements(connection: Any) -> Iterator[list[str]]:
    """Statements sent through ``connection.run`` (the raw path every query takes) and through
    SQLAlchemy (reflection)."""
    import sqlalchemy as sa

    statements: list[str] = []
    raw = connection.run

    def run(sql: str, *args: Any, **kwargs: Any) -> Any:
        statements.append(sql)
        return raw(sql, *args, **kwargs)

    def on_execute(*args: Any) -> None:
        statements.append(args[2])

    sa.event.listen(connection.engine, "before_cursor_execute", on_execute)
    connection.run = run
    try:
        yield statements
    finally:
        del connection.run
        sa.event.remove(connection.engine, "before_cursor_execute", on_execute)


def table_by_table(connection: Any, names: list[str]) -> dict[str, tuple]:
    """The baseline: the same numbers read with one query (or three) per table."""
    from dj_jupyter.populate.jobs import JobQueue
    from dj_jupyter.populate.status import auto_tables, natural_key_source
    from dj_jupyter.tables.table import FreeTable

    result = {}
    for name in auto_tables(names):
        table = FreeTable(connection, name)
        source = natural_key_source(table).proj()
        progress = JobQueue(table).progress()
        result[name] = (len(source), len(source & table.proj()), progress["reserved"],
                        progress["error"], progress["ignore"])
    return result


def run_status(tables: int, repeat: int, url: str | None) -> dict[str, Any]:
    import dj_jupyter as dj
    from dj_jupyter.populate.status import StatusReader

    with tempfile.TemporaryDirectory() as folder:
        connection = dj.Connection(url or f"sqlite:///{Path(folder) / 'status.db'}")
        try:
            names = status_pipeline(connection, tables)
            reader = StatusReader(connection)
            started = time.perf_counter()
            first = reader.read(names)  # builds and compiles the statement
            cold = time.perf_counter() - started
            baseline = table_by_table(connection, names)  # also makes every job table
            reader.read(names)
            timings, per_table = [], []
            for _ in range(repeat):
                started = time.perf_counter()
                with counted_statements(connection) as statements:
                    status = reader.read(names)
                timings.append(time.perf_counter() - started)
                started = time.perf_counter()
                with counted_statements(connection) as baseline_statements:
                    table_by_table(connection, names)
                per_table.append(time.perf_counter() - started)
            same = all(tuple(s.to_dict().values()) == baseline[n] for n, s in status.items())
            return {"tables": tables, "auto": len(first), "backend": connection.backend,
                    "best": min(timings), "cold": cold, "median": statistics.median(timings),
                    "statements": len(statements), "baseline_best": min(per_table),
                    "baseline_statements": len(baseline_statements), "agree": same,
                    "reserved": sum(s.reserved for s in status.values()),
                    "failed": sum(s.error for s in status.values())}
        finally:
            connection.close()


def report_status(f: dict[str, Any]) -> str:
    verdict = "meets" if f["median"] <= STATUS_GOAL_SECONDS else "MISSES"
    return (f"status refresh of a {f['tables']}-table pipeline ({f['auto']} Computed; "
            f"{f['reserved']} reserved, {f['failed']} failed keys) on {f['backend']}: "
            f"{f['median'] * 1000:.1f} ms median, {f['best'] * 1000:.1f} ms best, "
            f"{f['statements']} statement(s) per refresh ({verdict} the "
            f"{STATUS_GOAL_SECONDS * 1000:.0f} ms goal; the first read, which builds and "
            f"compiles the statement, {f['cold'] * 1000:.0f} ms); table by table: "
            f"{f['baseline_best'] * 1000:.1f} ms best, {f['baseline_statements']} statements "
            f"({f['baseline_best'] / f['best']:.1f}x slower); numbers agree: {f['agree']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tables", type=int, default=None,
                        help="tables (300 for the drawing, 100 with --status)")
    parser.add_argument("--baseline-tables", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--status", action="store_true",
                        help="measure the job-status refresh instead of the drawing")
    parser.add_argument("--url", default=None, help="with --status: a database URL "
                        "(default: a SQLite file in a temporary folder)")
    args = parser.parse_args(argv)
    if args.status:
        print(report_status(run_status(args.tables or 100, args.repeat, args.url)))
        return
    tables = args.tables or 300
    figures = run(tables, args.baseline_tables, args.repeat)
    print(report(figures, tables, args.baseline_tables))


if __name__ == "__main__":
    main()
