"""A schema statement the database refuses for lack of a privilege, as ``AccessError``.

Creating or dropping a schema the database user may not touch fails in the driver with a
backend-specific code (MySQL 1044/1142, PostgreSQL 42501); users catch DataJoint's
``AccessError`` and need to know which privilege to ask for.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..backends.dialect import ErrorKind
from ..errors import AccessError, DataJointError

if TYPE_CHECKING:
    from ..backends.connection import Connection

__all__ = ["refused_access"]


@contextmanager
def refused_access(connection: Connection, action: str) -> Iterator[None]:
    """Run the block; a refusal for lack of privilege becomes :class:`AccessError`."""
    try:
        yield
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
