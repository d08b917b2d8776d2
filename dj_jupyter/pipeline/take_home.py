"""Take part of a server pipeline home: tables, rows and objects in one SQLite file and folder.

``dj.take_home(Session & {"subject": "m1"}, "m1.db", downstream=True)`` copies the rows the
queries select, everything computed from them (``downstream=True``: every table below, restricted
to rows that reference copied rows), and every row those rows reference upstream, so the copy is
referentially whole. Each table is declared again in SQLite from its stored definition, rows are
copied as stored (no codec runs: a ``<blob>`` keeps its bytes, an object's row its JSON), and the
objects the rows refer to are copied into ``<file stem>_stores/<store name>/`` at the same
relative paths. ``dj.open_home("m1.db")`` opens the copy with no server, pointing each store
name at its folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..algebra.compiler import compile_select
from ..algebra.nodes import base_table
from ..backends.connection import Connection
from ..catalog import naming
from ..catalog.catalog import catalog_of
from ..catalog.declare import ResolvedParent, create_table, plan_table
from ..catalog.dependencies import ForeignKey
from ..catalog.describe import stored_definition
from ..errors import DataJointError
from ..objects.codecs import referenced_paths, storage_spec
from ..objects.stores import get_store
from ..query.expression import QueryExpression
from ..settings import config
from ..tables.table import FreeTable
from .schema import Schema

__all__ = ["take_home", "open_home", "push_home", "HomeCopy"]

KEY_CHUNK = 500  # parent keys per restriction when following foreign keys upstream


class HomeCopy:
    """What :func:`take_home` copied: rows per table and objects per store."""

    def __init__(self, path: Path, rows: dict[str, int], objects: dict[str, int]):
        self.path, self.rows, self.objects = path, rows, objects

    def __repr__(self) -> str:
        tables = ", ".join(f"{name}: {n}" for name, n in self.rows.items())
        return f"HomeCopy({str(self.path)!r}; rows {tables}; objects {self.objects})"


def stores_folder(path: Path) -> Path:
    return path.with_name(path.stem + "_stores")


def take_home(queries: Any, path: str | Path, *, downstream: bool = False) -> HomeCopy:
    """Copy the rows of ``queries`` (a restricted table or a list of them, all on one server),
    everything upstream they reference and, with ``downstream``, everything computed from
    them, into the new SQLite file ``path`` and a folder of their objects beside it."""
    seeds = _seeds(queries)
    server = seeds[0].connection
    path = Path(path).expanduser().resolve()
    if path.exists():
        raise DataJointError(f"{path} exists already; take a pipeline home into a new file")
    graph = catalog_of(server).dependencies
    chosen = _choose(graph, seeds, downstream)
    rows = _collect(server, graph, chosen)
    path.parent.mkdir(parents=True, exist_ok=True)
    home = Connection(f"sqlite:///{path}")
    try:
        for name in graph.names:
            if name in rows:
                _declare_at(server, home, name)
                _insert_at(home, name, rows[name])
    finally:
        home.close()
    objects = _copy_objects(server, rows, stores_folder(path))
    _manifest(path).write_text(json.dumps({"stores": sorted(objects)}))
    return HomeCopy(path, {n: len(r) for n, r in rows.items()}, objects)


def open_home(path: str | Path) -> Connection:
    """A connection to a copy made by :func:`take_home`, its stores pointed at its folders
    (``dj.config["stores"]`` gains them)."""
    path = Path(path).expanduser().resolve()
    manifest = _manifest(path)
    if not manifest.exists():
        raise DataJointError(f"{path} is not a copy made by dj.take_home (no {manifest.name})")
    stores = dict(config["stores"])
    for name in json.loads(manifest.read_text())["stores"]:
        stores[name] = {"protocol": "file", "location": str(stores_folder(path) / name)}
    config["stores"] = stores
    return Connection(f"sqlite:///{path}")


def push_home(queries: Any, path: str | Path, connection: Connection) -> dict[str, int]:
    """Send rows made at home back to the server ``connection``: the rows of ``queries`` (home
    tables or restrictions of them, on the connection :func:`open_home` gave) that the server
    lacks, with their objects, into the stores ``dj.config["stores"]`` names for the server.
    A table the server lacks is declared there first. Returns the rows sent per table."""
    path = Path(path).expanduser().resolve()
    seeds = _seeds(queries)
    home = seeds[0].connection
    folder = stores_folder(path)
    graph = catalog_of(home).dependencies
    order = [n for n in graph.names if any(_base_name(s) == n for s in seeds)]
    sent: dict[str, int] = {}
    for name in order:
        if not _exists_at(connection, name):
            _declare_at(home, connection, name)
        rows = [row for seed in seeds if _base_name(seed) == name
                for row in _stored_rows(home, seed)]
        rows = _missing_at(connection, name, rows)
        _push_objects(home, name, rows, folder)
        with connection.transaction:
            _insert_at(connection, name, rows)
        sent[name] = len(rows)
    return sent


def _exists_at(connection: Connection, name: str) -> bool:
    schema, _, table = name.partition(".")
    return catalog_of(connection).table_info(schema, table) is not None


def _missing_at(connection: Connection, name: str, rows: list[dict]) -> list[dict]:
    """The rows whose primary key the table ``name`` on ``connection`` does not have yet."""
    table = FreeTable(connection, name)
    key = table.heading.primary_key
    there: set[tuple] = set()
    for start in range(0, len(rows), KEY_CHUNK):
        chunk = [{k: row[k] for k in key} for row in rows[start:start + KEY_CHUNK]]
        there |= {tuple(found[k] for k in key)
                  for found in _stored_rows(connection, (table & chunk).proj())}
    return [row for row in rows if tuple(row[k] for k in key) not in there]


def _push_objects(home: Connection, name: str, rows: list[dict], folder: Path) -> None:
    heading = FreeTable(home, name).heading
    for attribute in heading.attributes_:
        if not attribute.type.is_codec:
            continue
        for row in rows:
            for store_name, path in _objects_of(attribute.type, row[attribute.name]):
                store = get_store(store_name)
                local = folder / store.name / path.rstrip("/")
                files = sorted(p for p in local.rglob("*") if p.is_file()) \
                    if local.is_dir() else [local]
                for file in files:
                    relative = file.relative_to(folder / store.name).as_posix()
                    store.put_file(relative, file)


def _manifest(path: Path) -> Path:
    return path.with_name(path.name + ".home.json")


def _seeds(queries: Any) -> list[QueryExpression]:
    items = list(queries) if isinstance(queries, (list, tuple)) else [queries]
    seeds = []
    for item in items:
        expression = item() if isinstance(item, type) else item
        if not isinstance(expression, QueryExpression) or _base_name(expression) is None:
            raise DataJointError("dj.take_home takes tables or restrictions of tables, e.g. "
                                 "Session & {'subject': 'm1'}")
        seeds.append(expression)
    if len({id(s.connection) for s in seeds}) != 1:
        raise DataJointError("dj.take_home copies from one connection at a time")
    return seeds


def _base_name(expression: QueryExpression) -> str | None:
    base = base_table(expression.node)
    return None if base is None else base.info.full_name


def _choose(graph: Any, seeds: list[QueryExpression],
            downstream: bool) -> dict[str, list[QueryExpression]]:
    """The restrictions selecting each table's rows (OR-ed), before following keys upstream."""
    chosen: dict[str, list[QueryExpression]] = {}
    for seed in seeds:
        chosen.setdefault(_base_name(seed), []).append(seed)  # type: ignore[arg-type]
    if downstream:
        for name in graph.descendants(list(chosen)):
            if name in chosen:
                continue
            parents = [fk.parent for fk in graph.parents_of.get(name, ()) if fk.parent in chosen]
            expression: Any = FreeTable(seeds[0].connection, name)
            for parent in parents:
                expression = expression & _either(chosen[parent])
            chosen[name] = [expression]
    return chosen


def _either(expressions: list[QueryExpression]) -> Any:
    return expressions[0] if len(expressions) == 1 else list(expressions)


def _collect(server: Connection, graph: Any,
             chosen: dict[str, list[QueryExpression]]) -> dict[str, list[dict]]:
    """Rows as stored, per table: children first, so each parent gets every key referenced."""
    wanted: dict[str, list[dict]] = {}  # parent -> keys its copied children reference
    rows: dict[str, list[dict]] = {}
    for name in reversed(graph.names):
        if name not in chosen and name not in wanted:
            continue
        table = FreeTable(server, name)
        found = {}
        for expression in chosen.get(name, []):
            for row in _stored_rows(server, expression):
                found[_key_of(table, row)] = row
        keys = wanted.get(name, [])
        for start in range(0, len(keys), KEY_CHUNK):
            for row in _stored_rows(server, table & keys[start:start + KEY_CHUNK]):
                found[_key_of(table, row)] = row
        rows[name] = list(found.values())
        for fk in graph.parents_of.get(name, ()):
            _want_parent(wanted, fk, rows[name])
    return rows


def _want_parent(wanted: dict[str, list[dict]], fk: ForeignKey, rows: list[dict]) -> None:
    seen = {tuple(sorted(k.items())) for k in wanted.get(fk.parent, [])}
    keys = wanted.setdefault(fk.parent, [])
    for row in rows:
        key = {parent: row[child] for child, parent in fk.attr_map}
        if any(value is None for value in key.values()):
            continue  # a nullable reference that is not set
        marker = tuple(sorted(key.items()))
        if marker not in seen:
            seen.add(marker)
            keys.append(key)


def _key_of(table: Any, row: dict) -> tuple:
    return tuple(row[n] for n in (table.heading.primary_key or table.heading.names))


def _stored_rows(server: Connection, expression: Any) -> list[dict]:
    """The rows of a query as stored (storage-level values: a codec's JSON, a blob's bytes)."""
    heading = expression.heading
    names = heading.names
    decoders = [server.dialect.decoder(storage_spec(heading[n].type)) for n in names]
    result = []
    for raw in server.fetch_all(compile_select(expression.node, server.dialect, names=names)):
        result.append({n: (v if d is None or v is None else d(v))
                       for n, v, d in zip(names, raw, decoders)})
    return result


def _declare_at(source: Connection, target: Connection, name: str) -> None:
    """Declare the table ``name`` of ``source`` on ``target`` (its parents are there)."""
    table = FreeTable(source, name)
    definition = stored_definition(table)
    info = table.info
    emitted: list[Any] = []  # the foreign keys in the order stored_definition emits them
    for attribute in info.heading.attributes_:
        owner = next((fk for fk in info.foreign_keys
                      if attribute.name in fk.child_attributes), None)
        if owner is not None and all(owner is not e for e in emitted):
            emitted.append(owner)
    parents = [ResolvedParent(spec, FreeTable(target, fk.parent).info)
               for spec, fk in zip(definition.foreign_keys, emitted)]
    tier = naming.tier_of(info.name)
    plan = plan_table(target, info.schema, info.name, definition, parents,
                      auto_populated=tier in ("Imported", "Computed"), allow_new_pk=True)
    _ensure_schema(target, info.schema)
    create_table(target, plan)


def _ensure_schema(home: Connection, schema: str) -> None:
    Schema(schema, connection=home)


def _insert_at(home: Connection, name: str, rows: list[dict]) -> None:
    """Insert rows as stored (no codec runs) into the table ``name`` of ``home``."""
    if not rows:
        return
    table = FreeTable(home, name)
    heading = table.heading
    names = list(rows[0])
    binders = [home.dialect.binder(storage_spec(heading[n].type)) for n in names]
    sa_schema, address = home.dialect.table_address(table.database, table.table_name)
    target = sa.table(address, *[sa.column(n) for n in names], schema=sa_schema)
    bound = [{n: (v if b is None or v is None else b(v))
              for n, b, v in zip(names, binders, (row[n] for n in names))} for row in rows]
    home.execute(sa.insert(target), bound)


def _copy_objects(server: Connection, rows: dict[str, list[dict]], folder: Path) -> dict:
    """Copy every object the rows refer to; the count per store name."""
    counts: dict[str, int] = {}
    for name, table_rows in rows.items():
        heading = FreeTable(server, name).heading
        for attribute in heading.attributes_:
            spec = attribute.type
            if not spec.is_codec:
                continue
            for row in table_rows:
                for store_name, path in _objects_of(spec, row[attribute.name]):
                    store = get_store(store_name)
                    _copy_one(store, path, folder / store.name)
                    counts[store.name] = counts.get(store.name, 0) + 1
    return counts


def _objects_of(spec: Any, stored: Any) -> Iterable[tuple[str | None, str]]:
    if stored is None:
        return []
    if spec.args[0] == "filepath" and isinstance(stored, dict):
        return [(stored.get("store"), stored["path"] + ("/" if stored.get("is_dir") else ""))]
    return referenced_paths(spec, stored)


def _copy_one(store: Any, path: str, target: Path) -> None:
    files = [item.path for item in store.list(path)] if path.endswith("/") else [path]
    for file in files:
        local = target.joinpath(*file.split("/"))
        local.parent.mkdir(parents=True, exist_ok=True)
        store.fs.get_file(store.full_path(file), str(local))
