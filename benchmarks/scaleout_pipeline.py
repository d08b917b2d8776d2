"""The pipeline of the scale-out benchmark (benchmarks/scaleout.py), importable by worker
processes. Its schema is activated at import from ``DJ_BENCH_SCALEOUT_URL`` and
``DJ_BENCH_SCALEOUT_SCHEMA`` (workers inherit them); without them the classes wait."""

from __future__ import annotations

import os
import time

import dj_jupyter as dj

BURN_SECONDS = 0.05  # CPU seconds of one make

schema = dj.Schema()


@schema
class Source(dj.Manual):
    definition = """
    # scale-out benchmark: the keys
    k: int32
    """


@schema
class Burn(dj.Computed):
    definition = """
    # a CPU-bound make of BURN_SECONDS, with when and where it ran
    -> Source
    ---
    pid: int32
    started: float64
    ended: float64
    """

    def make(self, key):
        started = time.time()
        (Source & key).fetch1()  # a read, as real makes do
        spent = time.process_time()
        x = 0
        while time.process_time() - spent < BURN_SECONDS:
            x += sum(range(1000))
        self.insert1({**key, "pid": os.getpid(), "started": started, "ended": time.time()})


def _activate() -> None:
    name = os.environ.get("DJ_BENCH_SCALEOUT_SCHEMA")
    if name:
        schema.activate(name, connection=dj.Connection(os.environ["DJ_BENCH_SCALEOUT_URL"]))


_activate()
