"""``_prov``: where a row entered into a Manual table came from (``provenance.capture``).

DataJoint 2.x declares Manual tables with a hidden ``_prov`` json column while
``provenance.capture`` is set and fills it on every insert, from nothing the caller passes:
the time, the connection's user, host and database, ``provenance.source`` (the deployment's
external system) and, when the insert runs inside a ``make``, the ingesting table, key and code
version. A payload with only the time is not worth a record: the column stays NULL.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..catalog.declare import PROVENANCE_COLUMN
from ..settings import config

if TYPE_CHECKING:
    from .table import Table

__all__ = ["ingesting", "captures", "payload"]

_INGESTING: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "dj_ingesting", default=None)


@contextlib.contextmanager
def ingesting(table_name: str, key: dict, version: str = "") -> Iterator[None]:
    """Inserts inside the block record that ``table_name``'s make of ``key`` wrote them."""
    context: dict[str, Any] = {"table": table_name,
                               "key": {k: _jsonable(v) for k, v in key.items()}}
    if version:
        context["version"] = version
    token = _INGESTING.set(context)
    try:
        yield
    finally:
        _INGESTING.reset(token)


def captures(table: Table) -> bool:
    """Whether inserts into ``table`` fill ``_prov`` now."""
    return PROVENANCE_COLUMN in table.info.hidden and config["provenance.capture"]


def payload(table: Table) -> dict | None:
    """The provenance of rows inserted now into ``table`` (None: nothing worth recording)."""
    record: dict[str, Any] = {"time": dt.datetime.now(dt.timezone.utc).isoformat()}
    url = table.connection.url
    agent = {"user": table.connection.get_user(), "host": url.host,
             "database_name": url.database}
    agent = {k: v for k, v in agent.items() if v}
    if agent:
        record["agent"] = agent
    source = config["provenance.source"]
    if source:
        record["source"] = source
    context = _INGESTING.get()
    if context:
        record["context"] = context
        if context.get("version"):
            record["version"] = context["version"]
    return record if len(record) > 1 else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)
