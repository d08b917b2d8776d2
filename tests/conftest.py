"""Shared fixtures: the database backends under test and a clean schema per test.

``backend`` runs a test once per backend in ``DJ_TEST_BACKENDS`` (default: sqlite, postgresql,
mysql); ``db_url`` gives that backend's SQLAlchemy URL. PostgreSQL and MariaDB servers are
started on first use (see tests/servers.py) and stopped at the end of the session.
"""

from __future__ import annotations

import os
import shutil
import signal
import uuid
from collections.abc import Iterator

import pytest

from dj_jupyter.settings import config as dj_config
from tests import servers
from tests.chromium import CHROMIUM

MARKERS = {
    "fast_path": "checks a fast path itself (skipped with DJ_FAST_PATHS=0, the plain-path run)",
    "backend": "needs a database backend (added automatically to tests using `backend`)",
    "browser": "drives a real chromium (skipped without it, failed if DJ_REQUIRE_BROWSER=1)",
    "slow": "takes more than a few seconds",
}

try:
    BACKENDS = servers.enabled_backends()
except ValueError as exc:
    raise pytest.UsageError(str(exc)) from None


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    # Make SIGTERM (e.g. from a CI `timeout`) end the session like Ctrl-C does, so session
    # fixtures still stop the database servers instead of leaving them running.
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "backend" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.backend)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("fast_path") and not dj_config["database.fast_paths"]:
        pytest.skip("the fast paths are off (DJ_FAST_PATHS=0): this test checks one of them")
    if item.get_closest_marker("browser") and not shutil.which(CHROMIUM):
        message = f"{CHROMIUM} not found: `apt-get install chromium`"
        if os.environ.get("DJ_REQUIRE_BROWSER") == "1":
            pytest.fail(f"DJ_REQUIRE_BROWSER=1 but {message}", pytrace=False)
        pytest.skip(message)


# --- servers (session-wide, started lazily) ----------------------------------------------


@pytest.fixture(scope="session")
def postgresql_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Server]:
    server = servers.server_for("postgresql", tmp_path_factory.mktemp("postgresql"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mysql_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Server]:
    server = servers.server_for("mysql", tmp_path_factory.mktemp("mysql"))
    yield server
    server.stop()


# --- per test --------------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Name of the backend under test: "sqlite", "postgresql" or "mysql"."""
    return request.param


@pytest.fixture
def db_url(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """SQLAlchemy URL of the backend: a fresh SQLite file, or the session's server.

    On a server, every ``t_*`` schema (PostgreSQL) or database (MySQL) that appears during the
    test is dropped afterwards with the raw driver, so leftovers cannot pile up or leak into
    other tests, whatever the package under test does.
    """
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
        return
    server: servers.Server = request.getfixturevalue(f"{backend}_server")
    before = servers.list_test_schemas(server)
    yield server.url
    servers.drop_schemas(server, servers.list_test_schemas(server) - before)


@pytest.fixture
def schema_name() -> str:
    """A fresh schema name, ``t_`` + 12 hex digits (on SQLite: a table-name prefix)."""
    return f"{servers.TEST_SCHEMA_PREFIX}{uuid.uuid4().hex[:12]}"


@pytest.fixture
def server(backend: str, request: pytest.FixtureRequest) -> servers.Server | None:
    """The backend's ``Server`` (None for SQLite), for raw-driver checks in tests."""
    return None if backend == "sqlite" else request.getfixturevalue(f"{backend}_server")
