"""What the populate panel costs: populate throughput with the panel watching, against the
same populate without it, in the same run (SQLite direct, trivial make: the fastest rate, so
the panel's share is the largest it gets).

Measured: wall time (throughput) and this process's CPU time (``time.process_time``, every
thread of it: the poller's reads too). This machine is shared, so wall times move with other
work; the CPU time of this process does much less, and shows what the panel itself adds.

The panel is attached as ``populate()`` attaches it in a notebook: its observer gets every
event, it pushes its state (traitlets, a comm message in a kernel) at most every
``interval`` seconds, and its poller thread reads the job tables through its own connection
while the populate runs. The two variants alternate, best of ``repeat`` each.
Goal: the panel costs at most 5 % of throughput.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .populate import declare

GOAL_OVERHEAD = 0.05


@dataclass
class PanelResult:
    keys: int
    bare_seconds: float
    panel_seconds: float
    bare_cpu: float
    panel_cpu: float
    pushes: int  # state messages of one watched run

    @property
    def overhead(self) -> float:
        return self.panel_seconds / self.bare_seconds - 1

    @property
    def cpu_overhead(self) -> float:
        return self.panel_cpu / self.bare_cpu - 1


def run_panel(n: int, repeat: int, log: Callable[[str], None] = print) -> PanelResult:
    import dj_jupyter as dj
    from dj_jupyter.jupyter.populate_panel import PopulatePanel

    with tempfile.TemporaryDirectory(prefix="dj_bench_panel_") as tmp:
        connection = dj.Connection(f"sqlite:///{Path(tmp) / 'bench.db'}")
        _, Source, Result = declare(connection, "bench_" + uuid.uuid4().hex[:8])
        Source.insert([{"k": k} for k in range(n)])
        Result.jobs.info  # noqa: B018 - declare the job queue outside the timing

        def bare() -> Callable[[], None]:
            Result.populate()
            return lambda: None

        pushes = [0]

        def watched() -> Callable[[], None]:
            panel = PopulatePanel(Result, read_now=False, controls=False)
            push = panel.push

            def counted() -> None:
                pushes[0] += 1
                push()

            panel.push = counted  # type: ignore[method-assign]
            Result.populate(observers=[panel.observer(Result)])
            panel.finish_display()  # its final read runs in the poller, after populate

            def after() -> None:  # untimed: the final read ends before the next run
                if panel._poller is not None:
                    panel._poller.join(30)
                panel.close()

            return after

        best = {"bare": float("inf"), "panel": float("inf")}
        cpu = dict(best)
        for attempt in range(repeat):
            for name, run in (("bare", bare), ("panel", watched)):
                Result.delete_quick()
                Result.jobs.delete()
                log(f"  [sqlite] {name}: run {attempt + 1} of {repeat}")
                pushes[0] = 0
                start, start_cpu = time.perf_counter(), time.process_time()
                after = run()
                best[name] = min(best[name], time.perf_counter() - start)
                cpu[name] = min(cpu[name], time.process_time() - start_cpu)
                after()
                if len(Result) != n:
                    raise AssertionError(f"{name}: {len(Result)} of {n} keys made")
        connection.close()
    return PanelResult(n, best["bare"], best["panel"], cpu["bare"], cpu["panel"], pushes[0])


def format_panel(result: PanelResult, repeat: int) -> str:
    flag = "" if result.overhead <= GOAL_OVERHEAD else "  > goal"
    return "\n".join([
        f"Populate panel cost: SQLite direct, {result.keys} keys, trivial make, best of {repeat}",
        f"  without panel {result.bare_seconds:8.3f} s  {result.keys / result.bare_seconds:8.0f} "
        f"jobs/s  CPU {result.bare_cpu:.3f} s",
        f"  with panel    {result.panel_seconds:8.3f} s  "
        f"{result.keys / result.panel_seconds:8.0f} jobs/s  CPU {result.panel_cpu:.3f} s  "
        f"({result.pushes} state messages)",
        f"  overhead {100 * result.overhead:+.1f} % of throughput (goal <= "
        f"{100 * GOAL_OVERHEAD:.0f} %){flag}, {100 * result.cpu_overhead:+.1f} % of CPU time",
    ])
