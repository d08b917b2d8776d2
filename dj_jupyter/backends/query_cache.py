"""DataJoint's query cache: ``conn.set_query_cache("name")`` answers reads from files.

While a cache name is set, every query a fetch sends is answered from a file in
``dj.config["query_cache"]`` (keyed by the name, the SQL and its parameters) when one exists,
and otherwise run and then saved there; writes are refused, so results cannot go stale
without notice. ``set_query_cache()`` (no name) turns it off; the files stay until
``purge_query_cache()``. A new name starts a new set of results.

The files hold the driver's rows as tagged JSON (never pickle: a cache folder may be shared).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import DataJointError
from ..settings import config

__all__ = ["QueryCache", "refuse_write", "purge"]

_READS = ("SELECT", "SHOW", "WITH", "PRAGMA", "EXPLAIN")


def refuse_write(sql: str) -> None:
    """Writes are refused while the cache answers reads (DataJoint's rule)."""
    if not sql.lstrip().lstrip("(").upper().startswith(_READS):
        raise DataJointError("Only SELECT queries are allowed when query caching is on: "
                             "call conn.set_query_cache() (no name) to turn it off before "
                             "writing, and set it again to read the cached results")


def _folder() -> Path:
    folder = config["query_cache"]
    if not folder:
        raise DataJointError("query caching needs a folder: set dj.config['query_cache'] "
                             "to one (e.g. '~/dj_query_cache')")
    path = Path(folder).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


class QueryCache:
    """The cached results of one cache name."""

    def __init__(self, name: str):
        self.name = name

    def _file(self, sql: str, params: Any) -> Path:
        if isinstance(params, dict):
            params = sorted(params.items())
        text = json.dumps([self.name, sql, params], default=repr)
        return _folder() / hashlib.sha256(text.encode()).hexdigest()

    def load(self, sql: str, params: Any) -> tuple[list, int, list[str]] | None:
        """(rows, rowcount, column names) saved for this query, or None."""
        try:
            saved = json.loads(self._file(sql, params).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        rows = [tuple(_untagged(value) for value in row) for row in saved["rows"]]
        return rows, saved["rowcount"], saved["names"]

    def save(self, sql: str, params: Any, result: tuple[list, int, list[str]]) -> None:
        rows, rowcount, names = result
        target = self._file(sql, params)
        partial = target.with_suffix(f".{os.getpid()}.part")
        partial.write_text(json.dumps({"rows": [[_tagged(v) for v in row] for row in rows],
                                       "rowcount": rowcount, "names": names}),
                           encoding="utf-8")
        os.replace(partial, target)  # whole or absent


def purge() -> None:
    """Remove every cached result (the files in ``dj.config["query_cache"]``)."""
    folder = config["query_cache"]
    if folder and Path(folder).expanduser().is_dir():
        for path in Path(folder).expanduser().iterdir():
            if path.is_file():
                path.unlink()


_TAGS: dict[type, tuple[str, Any]] = {
    bytes: ("bytes", lambda v: base64.b64encode(v).decode()),
    bytearray: ("bytes", lambda v: base64.b64encode(v).decode()),
    memoryview: ("bytes", lambda v: base64.b64encode(bytes(v)).decode()),
    dt.datetime: ("datetime", lambda v: v.isoformat()),
    dt.date: ("date", lambda v: v.isoformat()),
    dt.time: ("time", lambda v: v.isoformat()),
    dt.timedelta: ("timedelta", lambda v: [v.days, v.seconds, v.microseconds]),
    decimal.Decimal: ("decimal", str),
    uuid.UUID: ("uuid", str),
    dict: ("json", lambda v: v),  # a JSON column the driver parsed
    list: ("json", lambda v: v),
    tuple: ("tuple", lambda v: [_tagged(x) for x in v]),
}

_UNTAG: dict[str, Callable[[Any], Any]] = {
    "bytes": base64.b64decode,
    "datetime": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
    "time": dt.time.fromisoformat,
    "timedelta": lambda v: dt.timedelta(days=v[0], seconds=v[1], microseconds=v[2]),
    "decimal": decimal.Decimal,
    "uuid": uuid.UUID,
    "json": lambda v: v,
    "tuple": lambda v: tuple(_untagged(x) for x in v),
}


def _tagged(value: Any) -> Any:
    """A driver value as JSON: plain for None/bool/int/float/str, else ``{"$": tag, "v": ...}``."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    for plain in (bool, int, float, str):  # e.g. a driver's str or int subclass
        if isinstance(value, plain):
            return plain(value)
    for kind in type(value).__mro__:
        if kind in _TAGS:
            tag, encode = _TAGS[kind]
            return {"$": tag, "v": encode(value)}
    raise DataJointError(f"the query cache cannot hold a {type(value).__name__} value; turn "
                         "the cache off (conn.set_query_cache()) for this query")


def _untagged(value: Any) -> Any:
    if isinstance(value, dict):
        return _UNTAG[value["$"]](value["v"])
    return value
