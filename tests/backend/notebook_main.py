"""A pipeline declared in ``__main__``, as in a notebook: run as a script by
tests/backend/test_notebook_workers.py (``python notebook_main.py URL SCHEMA MODE [PATH]``).

Everything sits under the ``__main__`` guard, so worker processes (``spawn`` re-runs this
file as ``__mp_main__``) never see the classes: they can only get them the way a notebook's
workers do, from the exported module source. ``make`` uses a helper function, a constant
and numpy from the notebook's namespace. Prints one JSON line.

MODE: ``processes`` (populate(processes=2)), ``dask`` (a LocalCluster executor),
``export`` (dj.export_module to PATH), ``unexportable`` (a make using an open file).
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

import dj_jupyter as dj
from dj_jupyter.backends import connection

FACTOR = 2.0


def scale(x):
    return float(np.sqrt(x)) * FACTOR


if __name__ == "__main__":
    url, name, mode = sys.argv[1:4]
    connection.set_default(dj.Connection(url))
    schema = dj.Schema(name)
    handle = open(os.devnull)  # noqa: SIM115 - not writable as source

    @schema
    class Number(dj.Lookup):
        definition = """
        n: int32
        """
        contents = [(i,) for i in range(8)]

    @schema
    class Root(dj.Computed):
        definition = """
        -> Number
        ---
        root: float64
        pid: int32
        """

        class Digit(dj.Part):
            definition = """
            -> master
            ---
            d: int32
            """

        def make(self, key):
            self.insert1({**key, "root": scale(key["n"]), "pid": os.getpid()})
            self.Digit.insert1({**key, "d": key["n"] % 10})

    if mode == "unexportable":
        @schema
        class Bad(dj.Computed):
            definition = """
            -> Number
            """

            def make(self, key):
                handle.read()
                self.insert1(key)

        try:
            Bad.populate(processes=2)
        except dj.DataJointError as error:
            print(json.dumps({"error": str(error)}))
        sys.exit()
    if mode == "export":
        dj.export_module(schema, sys.argv[4])
        print(json.dumps({"exported": sys.argv[4]}))
        sys.exit()
    if mode == "dask":
        import distributed

        with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                      dashboard_address=":0", host="127.0.0.1") as cluster, \
                distributed.Client(cluster) as client:
            result = Root.populate(executor=client.get_executor())
    else:
        result = Root.populate(processes=2)
    print(json.dumps({"result": dict(result), "pid": os.getpid()}))
