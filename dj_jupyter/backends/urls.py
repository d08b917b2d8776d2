"""Which database a ``Connection`` means: a URL, the DataJoint host form, an SQLite file, or
``dj.config``'s ``database.*`` settings, refused with the fix when it means nothing.
"""

from __future__ import annotations

import getpass
from typing import Any

import sqlalchemy as sa

from ..errors import ConfigError

__all__ = ["as_url", "url_from_config", "backend_of_call"]

DATAJOINT_DEFAULT_BACKEND = "mysql"  # what DataJoint 2.x connects to when nothing says otherwise

_DRIVERS = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql", "sqlite": "sqlite"}


def url_from_config(config: Any) -> sa.URL:
    """The SQLAlchemy URL described by ``dj.config``."""
    backend = config["database.backend"]
    if backend == "sqlite":
        return sa.URL.create("sqlite", database=config["database.path"])
    user = config["database.user"] or getpass.getuser()
    # database.name names the PostgreSQL database; MySQL has none to select (DataJoint too)
    database = (config["database.name"] or user) if backend == "postgresql" else None
    return sa.URL.create(
        _DRIVERS[backend], username=user, password=config["database.password"],
        host=config["database.host"], port=config["database.port"], database=database,
    )


def backend_of_call(target: Any, user: str | None, password: str | None, backend: str | None,
                    configured: str, configured_explicitly: bool) -> str | None:
    """The backend ``dj.Connection(target, user, password)`` means when no URL says it.

    A host with credentials is DataJoint's server form: it honours ``database.backend`` and is
    never taken for an SQLite file named after the host. Left at its default, the backend of
    that form is DataJoint's own default, MySQL. Without credentials a name is an SQLite
    file, unless ``database.backend`` was set to a server and the name is not a file path.
    """
    if backend is not None or not isinstance(target, str) or "://" in target:
        return backend
    server_form = user is not None or password is not None
    if configured != "sqlite":
        return configured if server_form or not _looks_like_file(target) else backend
    if not server_form:
        return backend
    if configured_explicitly:
        raise ConfigError(
            f"dj.Connection({target!r}, user, password) names a database server, but "
            "dj.config['database.backend'] is 'sqlite'; set it to 'mysql' or 'postgresql' "
            "(or pass backend=...), or give an SQLite file without a user: "
            + _SQLITE_PATH_EXAMPLE)
    return DATAJOINT_DEFAULT_BACKEND


def _looks_like_file(target: str) -> bool:
    return target == ":memory:" or "/" in target or "\\" in target \
        or target.lower().endswith((".db", ".sqlite", ".sqlite3", ".db3"))


_SQLITE_PATH_EXAMPLE = "e.g. dj.Connection('pipeline.db') or dj.Connection('sqlite:///pipeline.db')"


def as_url(target: str | sa.URL, user: str | None, password: str | None,
            port: int | None, backend: str | None, database: str | None) -> sa.URL:
    """The URL a constructor call means; anything it cannot mean is refused here."""
    if isinstance(target, sa.URL):
        return _known_backend(target)
    if not isinstance(target, str) or not target.strip() or "\x00" in target \
            or not target.encode("utf-8", "replace").decode("utf-8") == target:
        raise ConfigError(
            f"dj.Connection takes a URL, a host name or an SQLite file path, not "
            f"{target!r}; e.g. dj.Connection('postgresql://user@host/db'), "
            f"dj.Connection('host', user, backend='mysql'), {_SQLITE_PATH_EXAMPLE}")
    if backend is not None and backend not in _DRIVERS:
        raise ConfigError(f"backend={backend!r} is not one of {', '.join(_DRIVERS)}")
    if "://" in target:
        try:
            url = sa.make_url(target)
            url.port  # noqa: B018 - an invalid port raises only when read
        except (sa.exc.ArgumentError, ValueError):
            raise ConfigError(f"{target!r} is not a database URL; write "
                              "'postgresql://user@host/db', 'mysql://user@host' or "
                              "'sqlite:///file.db'") from None
        driver = _DRIVERS.get(url.drivername)
        return _known_backend(url.set(drivername=driver) if driver else url)
    if backend is None or backend == "sqlite":
        return sa.URL.create("sqlite", database=_sqlite_path(target))
    host, _, host_port = target.partition(":")
    if host_port and not (host_port.isdigit() and 1 <= int(host_port) <= 65535):
        raise ConfigError(f"{target!r}: the port after ':' must be a number from 1 to 65535, "
                          "e.g. 'db.example.org:3306'")
    return sa.URL.create(
        _DRIVERS[backend], username=user or getpass.getuser(), password=password, host=host,
        port=int(host_port) if host_port else port,  # the host's own port wins, as in DataJoint
        database=database or ((user or getpass.getuser()) if backend == "postgresql" else None),
    )


def _known_backend(url: sa.URL) -> sa.URL:
    """``url`` when it names a backend we support (else a ConfigError listing them)."""
    if url.get_backend_name() not in ("sqlite", "postgresql", "mysql", "mariadb"):
        raise ConfigError(f"unsupported database {url.drivername!r} in the URL; use one of "
                          "postgresql://, mysql:// or sqlite:///")
    return url


def _sqlite_path(target: str) -> str:
    """A bare string is an SQLite file; one that looks like ``host:port`` or garbage is not."""
    is_drive = len(target) > 2 and target[1] == ":" and target[0].isalpha() \
        and target[2] in "\\/"
    if target != ":memory:" and ":" in target and not is_drive:
        raise ConfigError(
            f"{target!r} is neither a URL nor an SQLite file name; for a server pass "
            f"backend='postgresql' or 'mysql' (or a URL such as 'mysql://user@{target}'); "
            f"for SQLite, {_SQLITE_PATH_EXAMPLE}")
    return target
