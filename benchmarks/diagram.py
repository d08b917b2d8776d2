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
"""

from __future__ import annotations

import argparse
import time

from dj_jupyter.display.diagram.svg import diagram_svg
from dj_jupyter.jupyter.diagram import DiagramWidget, diagram_esm
from tests.big_diagram import big_model
from tests.chromium import widget_page

GOAL_SECONDS = 1.0
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tables", type=int, default=300)
    parser.add_argument("--baseline-tables", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    figures = run(args.tables, args.baseline_tables, args.repeat)
    print(report(figures, args.tables, args.baseline_tables))


if __name__ == "__main__":
    main()
