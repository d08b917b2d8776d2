"""``dj-jupyter``: command-line entry points.

``dj-jupyter populate package.module:Table --reserve-jobs`` runs a populate
worker; start it on any number of machines that reach the shared database.
"""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dj-jupyter", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    populate = commands.add_parser("populate", help="compute the missing rows of a table")
    populate.add_argument("table", help="the table class, as package.module:ClassName")
    populate.add_argument("--url", help="database URL (default: dj.config / DJ_* variables)")
    populate.add_argument("--reserve-jobs", action="store_true",
                          help="take keys from the job queue (for many workers)")
    populate.add_argument("--max-calls", type=int, default=None)
    populate.add_argument("--processes", type=int, default=1)
    populate.add_argument("--priority", type=int, default=None)
    populate.add_argument("--suppress-errors", action="store_true",
                          help="record failures and go on instead of stopping")
    populate.add_argument("--restriction", action="append", default=[],
                          help="a JSON object or SQL condition restricting the keys (repeatable)")
    return parser


def _restriction(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main(argv: list[str] | None = None) -> int:
    """Exit status: 0 all computed, 1 some make failed (keys printed), 2 a usage error
    (bad table path, no database), 130/143 interrupted (Ctrl-C / SIGTERM; the running key
    was rolled back and its job put back to pending)."""
    arguments = _parser().parse_args(argv)
    from .backends import connection as connections
    from .errors import DataJointError
    from .populate.workers import load_class

    try:
        if arguments.url:
            connections.set_default(connections.Connection(arguments.url))
        table = load_class(arguments.table)()
    except DataJointError as error:
        print(f"dj-jupyter: {error}", file=sys.stderr)
        return 2
    failed: list[tuple] = []

    def observe(event) -> None:
        if event.kind == "key_failed":
            failed.append((event.key, event.error))

    try:
        result = table.populate(
            *[_restriction(r) for r in arguments.restriction],
            reserve_jobs=arguments.reserve_jobs, max_calls=arguments.max_calls,
            processes=arguments.processes, priority=arguments.priority,
            suppress_errors=arguments.suppress_errors, observers=(observe,))
    except KeyboardInterrupt:
        print(f"dj-jupyter: {arguments.table}: interrupted", file=sys.stderr)
        return 130
    except SystemExit as stop:
        if not str(stop).startswith("terminated by signal"):
            raise
        print(f"dj-jupyter: {arguments.table}: {stop}", file=sys.stderr)
        return 143
    except Exception as error:  # noqa: BLE001 - a make failed (or the database did)
        print(f"dj-jupyter: {arguments.table}: stopped by {type(error).__name__}: {error}",
              file=sys.stderr)
        for key, message in failed:
            print(f"  failed {key}: {message}", file=sys.stderr)
        return 1
    print(f"{arguments.table}: {result['success_count']} computed, "
          f"{len(result['error_list'])} failed")
    for key, message in result["error_list"]:
        print(f"  failed {key}: {message}", file=sys.stderr)
    return 1 if result["error_list"] else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
