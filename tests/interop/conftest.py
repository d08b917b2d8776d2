"""The cross-library tier: DataJoint 2.3.5 itself, in a venv of its own, on the session's servers.

``datajoint`` runs a Python script in ``.venv-datajoint`` (made by ``make datajoint-venv``; another
interpreter with ``DJ_DATAJOINT_PYTHON``) against the throwaway server of the backend under test,
and returns the JSON of what the script left in ``result``. The tier runs on PostgreSQL and
MariaDB only (DataJoint has no SQLite backend). Without that venv the tests are skipped with the
command that makes it, and fail instead under ``CI=true`` or ``DJ_REQUIRE_DATAJOINT=1``.

Inside a script: ``import datajoint as dj`` is done and connected by environment variables;
``ARGS`` holds the keyword arguments of ``run`` (JSON); ``INTEROP`` (this folder) is on
``sys.path``, so ``import blob_values`` shares one catalogue of values between both libraries;
``use_store(location)`` makes a local folder DataJoint's default store.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import dj_jupyter as dj
from tests import servers
from tests.conftest import BACKENDS

ROOT = Path(__file__).resolve().parents[2]
INTEROP = Path(__file__).resolve().parent
DATAJOINT_VERSION = "2.3.5"
MAKE_VENV = "make datajoint-venv"
SCRIPT_TIMEOUT = 300  # seconds; a script that hangs fails its test instead of the session

# DataJoint's ``database.*`` settings come from these environment variables.
_PRELUDE = '''\
import json, os, sys, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, os.environ["DJ_INTEROP_DIR"])
with open(os.environ["DJ_INTEROP_ARGS"]) as _args:
    ARGS = json.load(_args)
import logging
logging.getLogger("datajoint").setLevel(logging.ERROR)
import datajoint as dj

def use_store(location, name="main", **layout):
    dj.config.stores = {"default": name, name: {"protocol": "file", "location": str(location),
                                                **layout}}

result = None
'''
_EPILOGUE = '''
with open(os.environ["DJ_INTEROP_RESULT"], "w") as _out:
    json.dump(result, _out)
'''


def datajoint_python() -> Path:
    """The interpreter with DataJoint: ``DJ_DATAJOINT_PYTHON``, else ``.venv-datajoint``."""
    return Path(os.environ.get("DJ_DATAJOINT_PYTHON", ROOT / ".venv-datajoint" / "bin" / "python"))


def _required() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("DJ_REQUIRE_DATAJOINT") == "1"


def _check_datajoint(python: Path) -> None:
    """Skip (fail when required) unless ``python`` runs DataJoint of the reference version."""
    problem = None
    if not python.exists():
        problem = f"{python} does not exist"
    else:
        done = subprocess.run(
            [str(python), "-c", "import datajoint, sys; sys.stdout.write(datajoint.__version__)"],
            capture_output=True, text=True, timeout=120, env=_clean_env(),
        )
        if done.returncode != 0:
            problem = f"{python} cannot import datajoint ({done.stderr.strip()[-200:]})"
        elif done.stdout.strip() != DATAJOINT_VERSION:
            problem = f"{python} has datajoint {done.stdout.strip()}, not {DATAJOINT_VERSION}"
    if problem is None:
        return
    message = f"DataJoint {DATAJOINT_VERSION} is needed: {problem}; make it with `{MAKE_VENV}`"
    if _required():
        pytest.fail(f"{message} (required: CI=true or DJ_REQUIRE_DATAJOINT=1)", pytrace=False)
    pytest.skip(message)


def _clean_env() -> dict[str, str]:
    """The environment without this session's Python and DataJoint settings."""
    return {name: value for name, value in os.environ.items()
            if not name.startswith(("DJ_", "PYTHON", "VIRTUAL_ENV"))}


@dataclass
class DataJointRunner:
    """Runs scripts with DataJoint, connected to one server (see the module docstring)."""

    python: Path
    server: servers.Server | None  # None: scripts that need no database
    workdir: Path

    def run(self, script: str, **args: Any) -> Any:
        """Run ``script`` in DataJoint's venv; the JSON of its ``result``."""
        source = _PRELUDE + textwrap.dedent(script) + _EPILOGUE
        path = self.workdir / "script.py"
        path.write_text(source)
        result_path = self.workdir / "result.json"
        result_path.unlink(missing_ok=True)
        args_path = self.workdir / "args.json"
        args_path.write_text(json.dumps(args))
        env = _clean_env() | {
            "DJ_INTEROP_DIR": str(INTEROP),
            "DJ_INTEROP_ARGS": str(args_path),
            "DJ_INTEROP_RESULT": str(result_path),
        }
        if self.server is not None:
            env |= {"DJ_HOST": self.server.host, "DJ_PORT": str(self.server.port),
                    "DJ_USER": self.server.user, "DJ_PASS": self.server.password,
                    "DJ_BACKEND": self.server.backend}
            if self.server.database:
                env["DJ_DATABASE_NAME"] = self.server.database
        done = subprocess.run([str(self.python), str(path)], cwd=self.workdir, env=env,
                              capture_output=True, text=True, timeout=SCRIPT_TIMEOUT)
        if done.returncode != 0:
            raise AssertionError(
                f"the DataJoint script failed (exit {done.returncode}):\n{done.stderr[-4000:]}"
            )
        return json.loads(result_path.read_text())


@pytest.fixture(scope="session")
def datajoint_venv() -> Path:
    """The checked interpreter with DataJoint 2.3.5 (skipped or failed without it)."""
    python = datajoint_python()
    _check_datajoint(python)
    return python


@pytest.fixture(params=[name for name in BACKENDS if name in servers.SERVER_BACKENDS])
def backend(request: pytest.FixtureRequest) -> str:
    """The servers DataJoint can use: PostgreSQL and MariaDB (no SQLite in DataJoint)."""
    return request.param


@pytest.fixture
def datajoint(datajoint_venv: Path, db_url: str, server: servers.Server,
              tmp_path: Path) -> DataJointRunner:
    """A runner of DataJoint scripts on the backend under test (schemas dropped afterwards)."""
    workdir = tmp_path / "datajoint"
    workdir.mkdir()
    return DataJointRunner(datajoint_venv, server, workdir)


@pytest.fixture(scope="module")
def datajoint_offline(datajoint_venv: Path,
                      tmp_path_factory: pytest.TempPathFactory) -> DataJointRunner:
    """A runner of DataJoint scripts that use no database (e.g. ``datajoint.blob.pack``)."""
    return DataJointRunner(datajoint_venv, None, tmp_path_factory.mktemp("datajoint"))


@pytest.fixture
def conn(db_url: str) -> Iterator[dj.Connection]:
    """A dj_jupyter connection to the same server."""
    connection = dj.Connection(db_url)
    yield connection
    connection.close()


@pytest.fixture(autouse=True)
def _no_prompts() -> Iterator[None]:
    with dj.config.override(safemode=False):
        yield
