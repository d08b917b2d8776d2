"""Entry point: ``python -m benchmarks.run [--backends sqlite,postgresql,mysql] [--rows 100000]
[--repeat 3] [--algebra] [--populate] [--objects]``. See benchmarks/README.md."""

from __future__ import annotations

import argparse
import os
import sys

from .algebra import format_algebra, run_algebra
from .bulk import BACKENDS, format_results, run_bulk
from .importtime import format_breakdown, format_import, import_breakdown, measure_import
from .objects import format_objects, run_objects
from .populate import format_populate, run_populate
from .populate_panel import format_panel, run_panel
from .scaleout import format_scaleout, run_scaleout


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help="comma list of sqlite, postgresql, mysql (default: all)")
    parser.add_argument("--rows", type=int, default=100_000, help="rows per insert (100000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; best is kept")
    parser.add_argument("--postgresql-url", default=os.environ.get("DJ_BENCH_POSTGRESQL_URL"),
                        help="SQLAlchemy URL of a PostgreSQL server to use (else "
                             "DJ_TEST_POSTGRESQL_URL, else a throwaway server is started)")
    parser.add_argument("--mysql-url", default=os.environ.get("DJ_BENCH_MYSQL_URL"),
                        help="SQLAlchemy URL of a MySQL/MariaDB server (likewise)")
    parser.add_argument("--import-runs", type=int, default=5,
                        help="fresh processes timing `import dj_jupyter` (0 skips)")
    parser.add_argument("--importtime", action="store_true",
                        help="also print the top of `python -X importtime -c 'import dj_jupyter'`")
    parser.add_argument("--skip-bulk", action="store_true", help="only measure the import")
    parser.add_argument("--algebra", action="store_true",
                        help="also run the restrict + join + proj + aggr query benchmark")
    parser.add_argument("--algebra-rows", type=int, default=100_000,
                        help="Sale rows for --algebra (100000)")
    parser.add_argument("--algebra-items", type=int, default=1_000,
                        help="Item rows for --algebra (1000)")
    parser.add_argument("--show-sql", action="store_true",
                        help="with --algebra, print the SQL each side ran, per backend")
    parser.add_argument("--populate", action="store_true",
                        help="also run the populate benchmark (direct and reserve_jobs=True)")
    parser.add_argument("--populate-keys", type=int, default=2_000,
                        help="keys for --populate (2000)")
    parser.add_argument("--datajoint-python", default=os.environ.get("DJ_BENCH_DATAJOINT_PYTHON"),
                        help="with --populate or --objects, the python of an environment with "
                             "datajoint 2.x installed: its populate and <blob> write are "
                             "measured as baselines")
    parser.add_argument("--profile", action="store_true",
                        help="with --populate, print cProfile's top functions of each mode")
    parser.add_argument("--panel", action="store_true",
                        help="also measure what the populate panel costs (SQLite direct; uses "
                             "--populate-keys)")
    parser.add_argument("--scaleout", action="store_true",
                        help="also compare populate(processes=2) with one process (SQLite, "
                             "CPU-bound make of 50 ms)")
    parser.add_argument("--scaleout-keys", type=int, default=200,
                        help="keys for --scaleout (200: the workers' start is ~0.6 s)")
    parser.add_argument("--objects", action="store_true",
                        help="also run the object-store benchmark (<npy@>, <blob>, <zarr@>)")
    parser.add_argument("--objects-count", type=int, default=100,
                        help="arrays per operation for --objects (100)")
    parser.add_argument("--objects-mib", type=float, default=8.0,
                        help="MiB per <npy@>/<zarr@> array for --objects (8; <blob>: 1)")
    args = parser.parse_args(argv)
    args.backends = [b.strip().lower() for b in args.backends.split(",") if b.strip()]
    unknown = sorted(set(args.backends) - set(BACKENDS))
    if unknown:
        parser.error(f"unknown backend(s) {', '.join(unknown)}; choose from {', '.join(BACKENDS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    if args.import_runs:
        log("timing `import dj_jupyter` ...")
        print(format_import(measure_import(args.import_runs)), flush=True)
        if args.importtime:
            print(format_breakdown(import_breakdown()), flush=True)
        print(flush=True)
    urls = {"postgresql": args.postgresql_url, "mysql": args.mysql_url}
    if not args.skip_bulk:
        results = run_bulk(args.backends, args.rows, args.repeat, urls, log)
        print(format_results(results, args.rows, args.repeat), flush=True)
    if args.algebra:
        if not args.skip_bulk:
            print(flush=True)
        sql: dict[str, tuple[str, str]] = {}
        results = run_algebra(args.backends, args.algebra_rows, args.algebra_items,
                              args.repeat, urls, log, sql)
        print(format_algebra(results, args.algebra_rows, args.algebra_items, args.repeat,
                             sql=sql if args.show_sql else None), flush=True)
    if args.populate:
        if args.algebra or not args.skip_bulk:
            print(flush=True)
        results = run_populate(args.backends, args.populate_keys, args.repeat, urls, log,
                               profile=args.profile, datajoint_python=args.datajoint_python)
        print(format_populate(results, args.populate_keys, args.repeat,
                              show_profile=args.profile), flush=True)
    if args.panel:
        print(format_panel(run_panel(args.populate_keys, args.repeat, log), args.repeat),
              flush=True)
    if args.scaleout:
        print(format_scaleout(run_scaleout(args.scaleout_keys, args.repeat, log), args.repeat),
              flush=True)
    if args.objects:
        if args.populate or args.algebra or not args.skip_bulk:
            print(flush=True)
        results = run_objects(args.backends, args.objects_count, args.repeat, urls, log,
                              big_mib=args.objects_mib, datajoint_python=args.datajoint_python)
        print(format_objects(results, args.objects_count, args.repeat), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
