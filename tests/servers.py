"""Throwaway PostgreSQL and MariaDB servers for a test session.

Each server runs from the Debian binaries in its own temporary directory, listens on a free
loopback port (127.0.0.1) and belongs to whoever called ``start_*``: ``Server.stop()`` shuts it
down and deletes its data. An already-running server can be used instead by setting
``DJ_TEST_POSTGRESQL_URL`` / ``DJ_TEST_MYSQL_URL``.

Run ``python -m tests.servers`` to start both and print their URLs until Ctrl-C.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

ALL_BACKENDS = ("sqlite", "postgresql", "mysql")
SERVER_BACKENDS = ("postgresql", "mysql")
USER = "djtest"
PASSWORD = "dj-test-pass"
DATABASE = "djtest"
HOST = "127.0.0.1"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0

# Prefix of every schema (PostgreSQL) or database (MySQL) a test creates; see conftest.py.
TEST_SCHEMA_PREFIX = "t_"


@dataclass(frozen=True)
class Server:
    """A database server reachable over TCP; ``stop()`` releases it (a no-op if not ours)."""

    backend: str
    host: str
    port: int
    user: str
    password: str
    database: str | None
    stop: Callable[[], None] = field(repr=False, compare=False)

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the server (driver psycopg 3 or PyMySQL)."""
        driver = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql"}[self.backend]
        auth = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}"
        path = f"/{quote(self.database, safe='')}" if self.database else ""
        return f"{driver}://{auth}@{self.host}:{self.port}{path}"


# --- configuration from the environment --------------------------------------------------


def enabled_backends() -> list[str]:
    """Backends named in ``DJ_TEST_BACKENDS`` (comma list; default: all three)."""
    raw = os.environ.get("DJ_TEST_BACKENDS", ",".join(ALL_BACKENDS))
    names = [name.strip().lower() for name in raw.split(",") if name.strip()]
    unknown = sorted(set(names) - set(ALL_BACKENDS))
    if unknown or not names:
        raise ValueError(
            f"DJ_TEST_BACKENDS={raw!r}: expected a comma list of {', '.join(ALL_BACKENDS)}"
        )
    return [name for name in ALL_BACKENDS if name in names]


def server_for(backend: str, workdir: Path) -> Server:
    """The server for ``backend``: the one in ``DJ_TEST_<BACKEND>_URL``, else a new one."""
    url = os.environ.get(f"DJ_TEST_{backend.upper()}_URL")
    if url:
        return external_server(backend, url)
    start = {"postgresql": start_postgresql, "mysql": start_mysql}[backend]
    return start(workdir)


def external_server(backend: str, url: str) -> Server:
    """Describe an already-running server given by URL; stopping it does nothing."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != backend:
        raise ValueError(f"DJ_TEST_{backend.upper()}_URL={url!r} is not a {backend} URL")
    default_port = {"postgresql": 5432, "mysql": 3306}[backend]
    return Server(
        backend=backend,
        host=parsed.host or HOST,
        port=parsed.port or default_port,
        user=parsed.username or "",
        password=parsed.password or "",
        database=parsed.database,
        stop=lambda: None,
    )


# --- PostgreSQL ----------------------------------------------------------------------------


def start_postgresql(workdir: Path) -> Server:
    """Start a PostgreSQL cluster with role and database ``djtest`` (password auth on TCP)."""
    bindir = _postgresql_bindir()
    as_user = _postgres_os_user() if os.geteuid() == 0 else None
    workdir.mkdir(parents=True, exist_ok=True)
    # initdb/postgres refuse to run as root: as root the cluster lives in a directory the
    # postgres user owns and can reach (pytest's temp dirs are private to root).
    base = _short_dir(workdir, "pg", force_new=as_user is not None)
    if as_user:
        os.chown(base, as_user.pw_uid, as_user.pw_gid)
    data, log_path = base / "data", workdir / "postgresql.log"
    port = free_port()

    initdb = [
        str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8",
        "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256",
        "--no-sync", "--no-instructions",
    ]  # fmt: skip
    _run(initdb, log_path, as_user, cwd=base)
    settings = {
        "listen_addresses": f"'{HOST}'",
        "port": str(port),
        "unix_socket_directories": f"'{base}'",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "200",
    }
    with open(data / "postgresql.conf", "a") as conf:
        conf.write("\n# dj_jupyter test server\n")
        conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    proc = _spawn([str(bindir / "postgres"), "-D", str(data)], log_path, as_user, cwd=base)
    # SIGINT is PostgreSQL's "fast" shutdown (what `pg_ctl stop -m fast` sends).
    stop = _stopper(proc, signal.SIGINT, [data] if base == workdir else [base])

    def setup() -> None:
        import psycopg

        with psycopg.connect(
            host=str(base), port=port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'")
            conn.execute(f"CREATE DATABASE {DATABASE} OWNER {USER}")

    server = Server("postgresql", HOST, port, USER, PASSWORD, DATABASE, stop)
    _await_ready(server, proc, log_path, setup)
    return server


def _postgresql_bindir() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )
    on_path = shutil.which("postgres")
    candidates += [str(Path(on_path).resolve().parent)] if on_path else []
    for bindir in reversed(candidates):
        if all(os.access(Path(bindir) / exe, os.X_OK) for exe in ("initdb", "postgres")):
            return Path(bindir)
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, postgres) not found: "
        "install them with `apt-get install postgresql`"
    )


def _postgres_os_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError(
            "running as root, but there is no `postgres` OS user to run PostgreSQL as: "
            "`apt-get install postgresql` creates it"
        ) from None


# --- MariaDB / MySQL -----------------------------------------------------------------------


def start_mysql(workdir: Path) -> Server:
    """Start a MariaDB server with user ``djtest`` (all privileges, password auth)."""
    mariadbd, install_db = _mysql_binaries()
    workdir.mkdir(parents=True, exist_ok=True)
    data, log_path = workdir / "data", workdir / "mysql.log"
    sockdir = _short_dir(workdir, "mysql")
    sock = sockdir / "mysql.sock"
    port = free_port()
    common = [
        "--no-defaults",  # must come first
        f"--datadir={data}",
        "--skip-name-resolve",
        *(["--user=root"] if os.geteuid() == 0 else []),
    ]
    _run(
        [install_db, *common, "--auth-root-authentication-method=normal",
         "--skip-test-db"],
        log_path, None, cwd=workdir,
    )  # fmt: skip
    server_args = [
        f"--socket={sock}",
        f"--port={port}",
        f"--bind-address={HOST}",
        f"--pid-file={workdir / 'mysql.pid'}",
        "--skip-log-bin",
        "--innodb-flush-log-at-trx-commit=2",
        "--innodb-doublewrite=0",
        "--max-allowed-packet=64M",
        "--max-connections=200",
        "--character-set-server=utf8mb4",  # its default collation: utf8mb4_general_ci
    ]
    proc = _spawn([mariadbd, *common, *server_args], log_path, None, cwd=workdir)
    stop = _stopper(proc, signal.SIGTERM, [data] if sockdir == workdir else [data, sockdir])

    def setup() -> None:
        import pymysql

        conn = pymysql.connect(unix_socket=str(sock), user="root", autocommit=True)
        with conn, conn.cursor() as cur:
            for host in ("127.0.0.1", "localhost"):
                cur.execute(f"CREATE USER '{USER}'@'{host}' IDENTIFIED BY '{PASSWORD}'")
                cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'{host}'")

    server = Server("mysql", HOST, port, USER, PASSWORD, None, stop)
    _await_ready(server, proc, log_path, setup)
    return server


def _mysql_binaries() -> tuple[str, str]:
    found = [
        shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"]))
        for name in ("mariadbd", "mariadb-install-db")
    ]
    if not all(found):
        raise RuntimeError(
            "MariaDB server binaries (mariadbd, mariadb-install-db) not found: "
            "install them with `apt-get install mariadb-server`"
        )
    return found[0], found[1]  # type: ignore[return-value]


def _short_dir(workdir: Path, name: str, force_new: bool = False) -> Path:
    """``workdir``, or a new dir in /tmp if forced or too long to hold a unix socket."""
    if len(str(workdir)) < 80 and not force_new:  # a socket path must fit in 108 bytes
        return workdir
    return Path(tempfile.mkdtemp(prefix=f"dj-test-{name}-", dir="/tmp"))


# --- processes -----------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _user_kwargs(as_user: pwd.struct_passwd | None) -> dict:
    if as_user is None:
        return {}
    env = {**os.environ, "HOME": as_user.pw_dir, "USER": as_user.pw_name}
    return {"user": as_user.pw_uid, "group": as_user.pw_gid, "extra_groups": [], "env": env}


def _run(cmd: list[str], log_path: Path, as_user: pwd.struct_passwd | None, cwd: Path) -> None:
    """Run a setup command to completion, its output appended to ``log_path``."""
    with open(log_path, "ab") as log:
        log.write(f"$ {' '.join(cmd)}\n".encode())
        log.flush()
        done = subprocess.run(
            cmd, check=False, stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
            **_user_kwargs(as_user),
        )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(
            f"{Path(cmd[0]).name} failed (exit {done.returncode}); {_log_tail(log_path)}"
        )


def _spawn(
    cmd: list[str], log_path: Path, as_user: pwd.struct_passwd | None, cwd: Path
) -> subprocess.Popen:
    """Start a server process in its own session (so a terminal's Ctrl-C reaches only us)."""
    with open(log_path, "ab") as log:
        log.write(f"$ {' '.join(cmd)}\n".encode())
        log.flush()
        return subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
            **_user_kwargs(as_user),
        )


def _stopper(proc: subprocess.Popen, sig: int, remove: list[Path]) -> Callable[[], None]:
    """An idempotent stop: ``sig``, wait, SIGKILL the process group on timeout, delete data."""

    def stop() -> None:
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                # The server and its helpers share a process group (own session); the leader
                # is not reaped yet, so its pid cannot have been reused.
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for path in remove:
            shutil.rmtree(path, ignore_errors=True)
        atexit.unregister(stop)

    atexit.register(stop)
    return stop


def _await_ready(
    server: Server, proc: subprocess.Popen, log_path: Path, setup: Callable[[], None]
) -> None:
    """Retry ``setup`` (admin login) until it works, then check the test user can log in."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            server.stop()
            raise RuntimeError(
                f"{server.backend} server exited with code {proc.returncode} while starting; "
                f"{_log_tail(log_path)}"
            )
        try:
            setup()
            break
        except Exception as exc:  # not up yet: any connect error
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(
                    f"{server.backend} server not ready after {START_TIMEOUT:.0f} s "
                    f"(last error: {exc}); {_log_tail(log_path)}"
                ) from exc
            time.sleep(0.1)
    try:
        check_login(server)
    except Exception as exc:
        server.stop()
        raise RuntimeError(
            f"{server.backend} server started, but {server.user} cannot log in over TCP: "
            f"{exc}; {_log_tail(log_path)}"
        ) from exc


def _log_tail(log_path: Path, lines: int = 25) -> str:
    """The log's error lines and its last lines, for an exception message."""
    try:
        text = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return f"no server log at {log_path}"
    errors = [line for line in text[:-lines] if "ERROR" in line or "FATAL" in line][-10:]
    shown = [*errors, "..."] if errors else []
    return f"from the log {log_path}:\n" + "\n".join([*shown, *text[-lines:]])


# --- raw-driver access (independent of dj_jupyter) -----------------------------------------


def connect(server: Server):
    """A raw DB-API connection (psycopg / PyMySQL) in autocommit mode, as the test user."""
    if server.backend == "postgresql":
        import psycopg

        return psycopg.connect(
            host=server.host,
            port=server.port,
            user=server.user,
            password=server.password,
            dbname=server.database,
            autocommit=True,
            connect_timeout=10,
        )
    import pymysql

    return pymysql.connect(
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password,
        database=server.database,
        autocommit=True,
        connect_timeout=10,
    )


def check_login(server: Server) -> None:
    conn = connect(server)
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        assert cur.fetchone()[0] == 1
    finally:
        conn.close()


def list_test_schemas(server: Server) -> set[str]:
    """Names of the PostgreSQL schemas / MySQL databases that start with ``t_``."""
    query = {
        "postgresql": "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
        "mysql": "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE %s",
    }[server.backend]
    conn = connect(server)
    try:
        cur = conn.cursor()
        cur.execute(query, (TEST_SCHEMA_PREFIX.replace("_", r"\_") + "%",))
        return {row[0] for row in cur.fetchall()}
    finally:
        conn.close()


def drop_schemas(server: Server, names: set[str]) -> None:
    """Drop the given schemas (PostgreSQL, CASCADE) or databases (MySQL).

    Fails after 10 s if a lock is held, e.g. by a connection a test left open.
    """
    conn = connect(server)
    try:
        cur = conn.cursor()
        if server.backend == "postgresql":
            cur.execute("SET lock_timeout = '10s'")
            for name in sorted(names):
                cur.execute('DROP SCHEMA IF EXISTS "{}" CASCADE'.format(name.replace('"', '""')))
        else:
            cur.execute("SET SESSION lock_wait_timeout = 10")
            # foreign keys between test databases must not block dropping them
            cur.execute("SET SESSION foreign_key_checks = 0")
            for name in sorted(names):
                cur.execute("DROP DATABASE IF EXISTS `{}`".format(name.replace("`", "``")))
    finally:
        conn.close()


# --- script --------------------------------------------------------------------------------


def main() -> None:
    """Start the enabled servers, print their URLs, and keep them until Ctrl-C."""
    workdir = Path(tempfile.mkdtemp(prefix="dj-test-servers-"))
    running: list[Server] = []
    for signum in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: it may be ignored if in bg
        signal.signal(signum, _raise_keyboard_interrupt)
    try:
        for backend in enabled_backends():
            if backend in SERVER_BACKENDS:
                t0 = time.monotonic()
                server = server_for(backend, workdir / backend)
                running.append(server)
                took = time.monotonic() - t0
                print(f"{backend:<10} {server.url}   (ready in {took:.1f} s)", flush=True)
        print(f"logs in {workdir}; Ctrl-C to stop", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        for server in reversed(running):
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        print("stopped", flush=True)


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    main()
