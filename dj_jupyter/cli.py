"""``dj-jupyter``: command-line entry points.

``dj-jupyter populate package.module:Table --reserve-jobs`` runs a populate
worker; start it on any number of machines that reach the shared database.

``dj.cli(args)`` (this module is callable, as DataJoint's ``dj.cli`` function is) and
``python -m dj_jupyter.cli`` start DataJoint 2.x's interactive console: a Python prompt with
``dj`` imported, the credentials given as options, and schemas loaded as virtual modules
(``-s schema_name:alias``).
"""

from __future__ import annotations

import argparse
import code
import json
import sys
import types

from .pipeline.schema import VirtualModule
from .settings import config
from .version import __version__

__all__ = ["main", "cli"]


def _console_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dj", description="DataJoint console: a Python prompt with dj_jupyter as `dj`.",
        epilog="Example: dj -s my_lab:lab --host localhost:3306")
    parser.add_argument("-V", "--version", action="version", version=f"{__package__} "
                                                                     f"{__version__}")
    parser.add_argument("-u", "--user", help="database user (default: dj.config)")
    parser.add_argument("-p", "--password", help="database password (default: dj.config)")
    parser.add_argument("--host", help="database host[:port] (default: dj.config)")
    parser.add_argument("-s", "--schemas", nargs="+", metavar="SCHEMA:ALIAS", default=[],
                        help="load existing schemas as virtual modules named ALIAS")
    return parser


def cli(args: list[str] | None = None) -> None:
    """DataJoint's console: set the credentials given, load the schemas asked for, then
    run an interactive prompt; ends with ``SystemExit`` (``-V`` and ``--help`` print and
    exit at once, as argparse does)."""
    parser = _console_parser()
    options = parser.parse_args(args)
    for key, value in (("user", options.user), ("password", options.password),
                       ("host", options.host)):
        if value:
            config[f"database.{key}"] = value
    modules: dict[str, VirtualModule] = {}
    lines = [f"dj_jupyter {__version__} console (DataJoint 2.x API as `dj`)"]
    for item in options.schemas:
        schema_name, colon, alias = item.partition(":")
        if not colon or not schema_name or not alias:
            parser.error(f"schema {item!r}: write it as schema_name:alias")
        modules[alias] = VirtualModule(alias, schema_name)
        lines.append(f"  {alias} -> schema {schema_name}")
    banner = "\n".join(lines)
    code.interact(banner, local={"dj": sys.modules[__package__], **modules})
    raise SystemExit


class _CallableModule(types.ModuleType):
    """``dj.cli(args)`` runs the console, as DataJoint's ``dj.cli`` function does, while
    ``dj.cli`` stays this module (``dj.cli.main``)."""

    def __call__(self, args: list[str] | None = None) -> None:
        cli(args)


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


sys.modules[__name__].__class__ = _CallableModule

if __name__ == "__main__":  # pragma: no cover
    # `python -m dj_jupyter.cli populate ...`: the worker; anything else: the console
    if sys.argv[1:2] == ["populate"]:
        sys.exit(main())
    cli()
