"""The backend fixtures work: each backend answers, and a test's schemas are cleaned up."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.schema import CreateSchema

from tests import servers


def test_select_one(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()


def test_table_in_test_schema(db_url: str, backend: str, schema_name: str) -> None:
    # On SQLite the schema name is a table-name prefix; on the servers a real schema/database.
    schema = None if backend == "sqlite" else schema_name
    name = f"{schema_name}__probe" if backend == "sqlite" else "probe"
    table = sa.Table(
        name,
        sa.MetaData(schema=schema),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("label", sa.String(32), nullable=False),
    )
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            if schema:
                conn.execute(CreateSchema(schema))
            table.create(conn)
            conn.execute(table.insert(), [{"id": 1, "label": "a"}, {"id": 2, "label": "b"}])
            assert conn.execute(sa.select(table.c.label).order_by(table.c.id)).scalars().all() == [
                "a",
                "b",
            ]
            table.drop(conn)
            assert not sa.inspect(conn).has_table(name, schema=schema)
    finally:
        engine.dispose()
    # The schema itself is left for db_url's finalizer to drop.


def test_drop_schemas_removes_test_schemas(
    server: servers.Server | None, db_url: str, schema_name: str
) -> None:
    if server is None:
        return  # SQLite: nothing to clean up but the file
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(CreateSchema(schema_name))
    finally:
        engine.dispose()
    assert schema_name in servers.list_test_schemas(server)
    servers.drop_schemas(server, {schema_name})
    assert schema_name not in servers.list_test_schemas(server)


def test_server_url_quotes_credentials() -> None:
    server = servers.Server("postgresql", "127.0.0.1", 5, "u@x", "p:/@%", "db", lambda: None)
    assert server.url == "postgresql+psycopg://u%40x:p%3A%2F%40%25@127.0.0.1:5/db"
    assert sa.make_url(server.url).password == "p:/@%"
    mysql = servers.Server("mysql", "127.0.0.1", 6, "u", "p", None, lambda: None)
    assert mysql.url == "mysql+pymysql://u:p@127.0.0.1:6"
