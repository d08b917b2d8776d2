"""Benchmark workloads written against DataJoint 2.x itself: the baselines of the ratios.

Run with the Python of a separate environment that has ``datajoint`` installed
(``--datajoint-python`` of ``benchmarks.run``); it imports nothing from dj_jupyter.
Prints one JSON object with the best seconds of each measurement.

* ``--workload populate``: ``--keys`` keys, a trivial ``make``; direct and ``reserve_jobs=True``
  (the same workload as ``benchmarks/populate.py``).
* ``--workload blob``: ``--arrays`` random float64 arrays of ``--mib`` MiB inserted into a
  ``<blob>`` column, about 8 MiB per ``insert`` (DataJoint sends one statement per insert,
  and the servers refuse statements over 64 MiB); the workload of the ``<blob>`` write of
  ``benchmarks/objects.py``.

    python benchmarks/datajoint_baseline.py --workload populate --backend postgresql \\
        --host 127.0.0.1 --port 5432 --user u --password p --keys 2000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import time
import uuid


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("postgresql", "mysql"), required=True)
    for name in ("host", "user", "password"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-name", default=None, help="PostgreSQL database")
    parser.add_argument("--workload", choices=("populate", "blob"), default="populate")
    parser.add_argument("--keys", type=int, default=2000)
    parser.add_argument("--arrays", type=int, default=100)
    parser.add_argument("--mib", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    return parser.parse_args()


def declare_populate(dj, schema_name: str):
    schema = dj.Schema(schema_name)

    @schema
    class Source(dj.Manual):
        definition = """
        k: int32
        """

    @schema
    class Result(dj.Computed):
        definition = """
        -> Source
        ---
        value: float64
        """

        def make(self, key):
            self.insert1({"k": key["k"], "value": key["k"] * 0.5})

    return schema, Source, Result


def populate_seconds(dj, args: argparse.Namespace, schema_name: str) -> dict[str, float]:
    schema, Source, Result = declare_populate(dj, schema_name)
    best: dict[str, float] = {}
    try:
        Source.insert([{"k": k} for k in range(args.keys)])
        for mode in ("direct", "reserved"):
            for _ in range(args.repeat):
                Result.delete_quick()
                Result.jobs.delete_quick()
                start = time.perf_counter()
                outcome = Result.populate(reserve_jobs=mode == "reserved")
                seconds = time.perf_counter() - start
                made = len(Result())
                if made != args.keys:
                    raise SystemExit(f"DataJoint made {made} of {args.keys} rows: {outcome}")
                best[mode] = min(best.get(mode, float("inf")), seconds)
    finally:
        schema.drop(prompt=False)
    return best


def blob_seconds(dj, args: argparse.Namespace, schema_name: str) -> dict[str, float]:
    import numpy as np

    schema = dj.Schema(schema_name)

    @schema
    class BlobBench(dj.Manual):
        definition = """
        id: int32
        ---
        data: <blob>
        """

    generator = np.random.default_rng(8)
    size = int(args.mib * 2**20) // 8
    arrays = [generator.standard_normal(size) for _ in range(min(args.arrays, 4))]
    rows = [{"id": i, "data": arrays[i % len(arrays)]} for i in range(args.arrays)]
    # DataJoint sends all rows of an insert as one statement; MySQL refuses statements over
    # max_allowed_packet (64 MiB on the test servers), so about 8 MiB of arrays at a time.
    chunk = max(1, int(8 / args.mib))
    best = float("inf")
    try:
        for _ in range(args.repeat):
            BlobBench.delete_quick()
            start = time.perf_counter()
            for first in range(0, len(rows), chunk):  # one INSERT per chunk, as in a make
                BlobBench.insert(rows[first:first + chunk])
            best = min(best, time.perf_counter() - start)
        if len(BlobBench()) != args.arrays:
            raise SystemExit(f"DataJoint stored {len(BlobBench())} of {args.arrays} arrays")
    finally:
        schema.drop(prompt=False)
    return {"blob write": best}


def main() -> None:
    args = parse()
    import datajoint as dj

    dj.config["database.backend"] = args.backend
    dj.config["database.host"] = args.host
    dj.config["database.port"] = args.port
    dj.config["database.user"] = args.user
    dj.config["database.password"] = args.password
    if args.database_name:
        dj.config["database.name"] = args.database_name
    dj.config["safemode"] = False
    dj.config["database.use_tls"] = False
    workload = populate_seconds if args.workload == "populate" else blob_seconds
    best = workload(dj, args, "djbase_" + uuid.uuid4().hex[:8])
    print(json.dumps({"version": dj.__version__, "workload": args.workload, "seconds": best}))


if __name__ == "__main__":
    main()
