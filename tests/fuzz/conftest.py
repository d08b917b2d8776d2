"""The fuzz tier: generated definitions, restrictions, rows and settings on every backend.

Every generated case must end in success with the right stored value, or in a
DataJointError subclass with row and object counts unchanged. The tally (cases run and cases
that ended any other way, per backend) is printed at the end of the session and written to
``.ci-artifacts/fuzz-summary.json``; any case outside those two outcomes fails its test.

``DJ_FUZZ_EXAMPLES`` sets the examples per test and backend (default 150, about two minutes
on all three backends; definitions take half as many, each declares a table).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import dj_jupyter as dj
from tests.fuzz.support import TALLY


@pytest.fixture
def conn(db_url: str) -> Iterator[dj.Connection]:
    connection = dj.Connection(db_url)
    yield connection
    connection.close()


@pytest.fixture
def schema(conn: dj.Connection, schema_name: str) -> dj.Schema:
    return dj.Schema(schema_name, connection=conn)


@pytest.fixture(autouse=True)
def _no_prompts() -> Iterator[None]:
    with dj.config.override(safemode=False):
        yield


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not TALLY:
        return
    summary = {backend: dict(sorted(counts.items())) for backend, counts in sorted(TALLY.items())}
    terminalreporter.section("fuzz summary (cases outside 'success or DataJointError')")
    for backend, counts in summary.items():
        kinds = ", ".join(f"{kind} {n}" for kind, n in counts.items()
                          if kind not in ("cases", "outside"))
        terminalreporter.write_line(
            f"{backend:>10}: {counts.get('cases', 0)} cases, {counts.get('outside', 0)} outside"
            f"  ({kinds})")
    folder = Path(config.rootpath) / ".ci-artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fuzz-summary.json").write_text(json.dumps(summary, indent=2) + "\n")
