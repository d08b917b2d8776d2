"""Fixtures of the backend suite: a dj.Connection and fresh schemas on the backend under test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import dj_jupyter as dj


@pytest.fixture
def conn(db_url: str) -> Iterator[dj.Connection]:
    connection = dj.Connection(db_url)
    yield connection
    connection.close()


@pytest.fixture
def schema(conn: dj.Connection, schema_name: str) -> dj.Schema:
    return dj.Schema(schema_name, connection=conn)


@pytest.fixture
def schema2(conn: dj.Connection, schema_name: str) -> dj.Schema:
    """A second schema on the same connection (for cross-schema foreign keys)."""
    return dj.Schema(schema_name + "_b", connection=conn)


@pytest.fixture(autouse=True)
def _no_prompts() -> Iterator[None]:
    with dj.config.override(safemode=False):
        yield
