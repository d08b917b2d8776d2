"""Table classes that this module does not bind: a caller binds them to a schema it makes at
run time (``schema(unbound_pipeline.Source)``), as DataJoint's own test suite does with its
fixtures. ``populate(processes=N)`` must bind them the same way in its workers."""

from __future__ import annotations

import os

import dj_jupyter as dj


class Source(dj.Manual):
    definition = """
    n : int32
    """


class Doubled(dj.Computed):
    definition = """
    -> Source
    ---
    twice : int32
    pid : int32          # the process that made the row
    """

    def make(self, key):
        self.insert1({**key, "twice": 2 * key["n"], "pid": os.getpid()})
