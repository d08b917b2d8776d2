"""Worker leases: proof that a worker process lives, kept outside the database.

On SQLite a worker's heartbeat cannot advance while another worker holds the one
write lock (a tripartite make's insert, a make with ``populate.stage_writes`` off,
a long write elsewhere), so a stale heartbeat says little there, and a process id
says little anywhere (a killed worker not
yet reaped is a zombie that ``kill(pid, 0)`` calls alive; a pid is reused by
unrelated processes). So each worker process on an SQLite database holds a
*lease*: a file ``<token>.lease`` in the folder ``<database file>.workers``,
locked with ``flock`` for the life of the process, and its job rows carry the
token (in ``connection_id``). The kernel drops the lock the moment the process
ends — killed, crashed, or a zombie — so "the lease is locked" is exactly "the
worker lives". Where ``flock`` is missing (Windows) or the database is not a
file, there are no leases and heartbeats decide.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from pathlib import Path
from typing import TYPE_CHECKING

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no leases, heartbeats decide
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from ..backends.connection import Connection

__all__ = ["lease_folder", "hold", "state"]

_held: dict[str, tuple[int, int, int]] = {}  # folder -> (token, file descriptor, pid)
_lock = threading.Lock()


def lease_folder(connection: Connection) -> Path | None:
    """Where the leases of workers on this database live; None where there are none."""
    if fcntl is None or not connection.dialect.worker_leases:
        return None
    database = connection.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(os.path.abspath(database) + ".workers")


def hold(folder: Path) -> int:
    """This process's lease token in ``folder``: taken on first use, held until exit.

    A forked child does not inherit its parent's lease (it would keep it locked after the
    parent died): it takes its own.
    """
    key = str(folder)
    with _lock:
        held = _held.get(key)
        if held is not None and held[2] == os.getpid():
            return held[0]
        folder.mkdir(exist_ok=True)
        token = secrets.randbits(62) or 1
        descriptor = os.open(folder / f"{token}.lease", os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(descriptor, fcntl.LOCK_EX)  # a new file: nobody else holds it
        _held[key] = (token, descriptor, os.getpid())
        return token


def state(folder: Path, token: int) -> bool | None:
    """True if lease ``token`` is held (its worker lives), False if its worker has ended (the
    lease file is then removed), None if there is no such lease here."""
    path = folder / f"{int(token)}.lease"
    try:
        descriptor = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        with contextlib.suppress(OSError):
            path.unlink()
        return False
    finally:
        os.close(descriptor)
