"""A schema statement the database refuses for lack of a privilege, as ``AccessError``.

Creating or dropping a schema the database user may not touch fails in the driver with a
backend-specific code (MySQL 1044/1142, PostgreSQL 42501); users catch DataJoint's
``AccessError`` and need to know which privilege to ask for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..backends.dialect import ErrorKind
from ..catalog import metadata as catalog
from ..errors import AccessError, DataJointError

if TYPE_CHECKING:
    from ..backends.connection import Connection

__all__ = ["create_or_use", "refused_access"]

logger = logging.getLogger("dj_jupyter")


@contextmanager
def refused_access(connection: Connection, action: str) -> Iterator[None]:
    """Run the block; a refusal for lack of privilege becomes :class:`AccessError`."""
    try:
        yield
    except AccessError as error:  # the connection's own: say which action it refused
        raise AccessError(f"{action} was refused: {error}") from None
    except DataJointError:
        raise
    except Exception as error:
        if connection.dialect.classify(error) != ErrorKind.ACCESS_DENIED:
            raise
        reason = getattr(error, "orig", error)
        raise AccessError(
            f"{action} was refused: database user {connection.get_user()!r} lacks the "
            f"privilege ({reason}); ask the database administrator to grant it, or use a "
            "schema name you may create") from None


def create_or_use(connection: Connection, name: str, create: Callable[[], None]) -> None:
    """Run ``create()`` (the schema and its catalogue tables). If the database refuses for
    lack of privilege but the schema exists (``information_schema``, or a schema another
    user made), use it as it is; otherwise raise :class:`AccessError`."""
    try:
        with refused_access(connection, f"creating schema {name!r}"):
            create()
    except AccessError:
        if not catalog.database_exists(connection, name):
            raise
        logger.info("schema %r: no privilege to add catalogue tables; used as it is", name)
