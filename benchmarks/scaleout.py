"""Populate on two worker processes against one, on SQLite, with a CPU-bound make.

``Burn.make`` (benchmarks/scaleout_pipeline.py) reads its key's row, burns 50 ms of CPU
time and inserts one row saying when (wall clock) and in which process it ran. Each run gets
a fresh schema with ``keys`` keys (untimed).

* one: ``Burn.populate(reserve_jobs=True)`` in this process (the loop each worker runs)
* two: ``Burn.populate(processes=2)``: two spawned worker processes share the job queue

Reported: wall seconds of each (best of ``repeat``), their ratio (goal: two >= 1.7x one on
2 cores), the same ratio over the makes alone (first make's start to last make's end: without
starting the worker interpreters), the most makes that ran at the same moment (from the rows'
start and end: 2 means the makes really overlapped; SQLite makes that held the write lock
for their whole length would show 1), the mean wall time of one make (50 ms of CPU: longer
when the cores are busy with other work) and between two makes of one worker (populate's own
work and any wait for the write lock), and the load average (the machine is shared).
"""

from __future__ import annotations

import importlib
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

GOAL = 1.7


@dataclass
class Run:
    seconds: float
    makes_seconds: float  # first make's start to last make's end
    overlap: int  # most makes running at one moment
    workers: int  # processes that made keys
    make_ms: float  # mean wall time of one make (50 ms of CPU: more when cores are busy)
    between_ms: float  # mean time between one worker's makes: populate's own work and waits


@dataclass
class ScaleoutResult:
    keys: int
    one: Run
    two: Run
    load_before: float
    load_after: float

    @property
    def ratio(self) -> float:
        return self.one.seconds / self.two.seconds

    @property
    def makes_ratio(self) -> float:
        return self.one.makes_seconds / self.two.makes_seconds


def _most_at_once(rows: list[dict]) -> int:
    edges = sorted([(r["started"], 1) for r in rows] + [(r["ended"], -1) for r in rows],
                   key=lambda e: (e[0], e[1]))
    now = most = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def _mean_gap(rows: list[dict]) -> float:
    """Mean time from the end of a make to the start of the same worker's next one."""
    gaps = []
    for pid in {r["pid"] for r in rows}:
        mine = sorted((r for r in rows if r["pid"] == pid), key=lambda r: r["started"])
        gaps += [b["started"] - a["ended"] for a, b in zip(mine, mine[1:])]
    return sum(gaps) / len(gaps) if gaps else 0.0


def _one_run(url: str, keys: int, processes: int) -> Run:
    os.environ["DJ_BENCH_SCALEOUT_URL"] = url
    os.environ["DJ_BENCH_SCALEOUT_SCHEMA"] = "bench_" + uuid.uuid4().hex[:8]
    from . import scaleout_pipeline

    module = importlib.reload(scaleout_pipeline)
    module.Source.insert([{"k": k} for k in range(keys)])
    module.Burn.jobs.refresh()
    started = time.perf_counter()
    if processes > 1:
        module.Burn.populate(processes=processes)
    else:
        module.Burn.populate(reserve_jobs=True)
    seconds = time.perf_counter() - started
    rows = module.Burn.to_dicts()
    assert len(rows) == keys, f"{len(rows)} of {keys} keys made"
    span = max(r["ended"] for r in rows) - min(r["started"] for r in rows)
    run = Run(seconds, span, _most_at_once(rows), len({r["pid"] for r in rows}),
              1000 * sum(r["ended"] - r["started"] for r in rows) / len(rows),
              1000 * _mean_gap(rows))
    module.schema.connection.close()
    return run


def run_scaleout(keys: int, repeat: int, log: Callable[[str], None] = print) -> ScaleoutResult:
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="dj_bench_scaleout_") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        ones, twos = [], []
        for attempt in range(repeat):  # alternate, so both see the same machine
            log(f"scale-out: run {attempt + 1} of {repeat}, one process ...")
            ones.append(_one_run(url, keys, 1))
            log(f"scale-out: run {attempt + 1} of {repeat}, processes=2 ...")
            twos.append(_one_run(url, keys, 2))
    for name in ("DJ_BENCH_SCALEOUT_URL", "DJ_BENCH_SCALEOUT_SCHEMA"):
        os.environ.pop(name, None)
    best = lambda runs: min(runs, key=lambda r: r.seconds)  # noqa: E731
    return ScaleoutResult(keys, best(ones), best(twos), load_before, os.getloadavg()[0])


def format_scaleout(result: ScaleoutResult, repeat: int) -> str:
    one, two = result.one, result.two
    verdict = "meets" if result.ratio >= GOAL else "below"
    return "\n".join([
        f"Scale-out on SQLite: {result.keys} keys, CPU-bound make of 50 ms, best of {repeat}",
        f"{'mode':<14}{'seconds':>9}{'makes s':>9}{'overlap':>9}{'workers':>9}"
        f"{'make ms':>9}{'between':>9}",
        *(f"{name:<14}{r.seconds:>9.2f}{r.makes_seconds:>9.2f}{r.overlap:>9}{r.workers:>9}"
          f"{r.make_ms:>9.0f}{r.between_ms:>9.1f}"
          for name, r in (("one process", one), ("processes=2", two))),
        f"ratio {result.ratio:.2f}x ({verdict} the goal of {GOAL}x; makes alone "
        f"{result.makes_ratio:.2f}x); load average {result.load_before:.1f} -> "
        f"{result.load_after:.1f} on {os.cpu_count()} cores",
    ])
