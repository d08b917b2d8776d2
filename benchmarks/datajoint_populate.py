"""The populate benchmark's workload, written against DataJoint 2.x itself (the baseline).

Run by ``benchmarks/populate.py`` with the Python of a separate environment that has
``datajoint`` installed (``--datajoint-python``); it imports nothing from dj_jupyter.
Prints one JSON object: the best seconds of each mode for ``--keys`` keys.

    python benchmarks/datajoint_populate.py --backend postgresql --host 127.0.0.1 \\
        --port 5432 --user u --password p --keys 2000 --repeat 3
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
    parser.add_argument("--keys", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    return parser.parse_args()


def declare(dj, schema_name: str):
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
    schema, Source, Result = declare(dj, "djbase_" + uuid.uuid4().hex[:8])
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
    print(json.dumps({"version": dj.__version__, "keys": args.keys, "seconds": best}))


if __name__ == "__main__":
    main()
