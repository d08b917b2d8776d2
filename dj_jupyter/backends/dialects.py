"""Which dialect serves a connection: one per backend, each in its own folder."""

from __future__ import annotations

from .dialect import Dialect
from .mysql.dialect import MySQLDialect
from .postgresql.dialect import PostgreSQLDialect
from .sqlite.dialect import SQLiteDialect

__all__ = ["dialect_for"]


_DIALECTS: dict[str, type[Dialect]] = {
    "sqlite": SQLiteDialect,
    "postgresql": PostgreSQLDialect,
    "mysql": MySQLDialect,
    "mariadb": MySQLDialect,
}


def dialect_for(sa_dialect_name: str, *, fast_paths: bool = True, charset: str = "") -> Dialect:
    """Our dialect object for a SQLAlchemy dialect name (``fast_paths``, ``charset``: see
    :class:`Dialect`)."""
    try:
        return _DIALECTS[sa_dialect_name](fast_paths=fast_paths, charset=charset)
    except KeyError:
        supported = ", ".join(sorted(set(_DIALECTS) - {"mariadb"}))
        raise ValueError(
            f"unsupported database {sa_dialect_name!r}; use one of {supported}") from None
