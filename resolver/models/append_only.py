"""Histories the database itself keeps append-only: a trigger refuses any UPDATE or DELETE of their rows.

The ORM already refuses to change an event; the trigger also stops a Core ``UPDATE``, a raw ``DELETE``
and any other program on the same database. The migration and ``Base.metadata.create_all`` create the
same triggers, from the statements here. (TRUNCATE fires no row trigger: emptying a test database still
works, and only the database's owner can do it.)
"""
from __future__ import annotations

from sqlalchemy import DDL, Table, event

REFUSE_FUNCTION = "refuse_history_rewrite"

POSTGRESQL_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {REFUSE_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'the history in ' || TG_TABLE_NAME || ' is append-only: its rows are never changed or removed',
        ERRCODE = 'insufficient_privilege';
END
$$
"""


def trigger_names(table_name: str, dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [f"{table_name}_append_only"]
    return [f"{table_name}_refuse_update", f"{table_name}_refuse_delete"]


def create_statements(table_name: str, dialect: str) -> list[str]:
    """The SQL that makes ``table_name`` append-only on ``dialect`` ('postgresql' or 'sqlite')."""
    if dialect == "postgresql":
        (name,) = trigger_names(table_name, dialect)
        return [POSTGRESQL_FUNCTION, f"CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table_name} "
                                     f"FOR EACH ROW EXECUTE FUNCTION {REFUSE_FUNCTION}()"]
    refuse_update, refuse_delete = trigger_names(table_name, dialect)
    return [
        f"CREATE TRIGGER {refuse_update} BEFORE UPDATE ON {table_name} BEGIN "
        f"SELECT RAISE(ABORT, 'the history in {table_name} is append-only: its rows are never changed'); END",
        f"CREATE TRIGGER {refuse_delete} BEFORE DELETE ON {table_name} BEGIN "
        f"SELECT RAISE(ABORT, 'the history in {table_name} is append-only: its rows are never removed'); END",
    ]


def drop_statements(table_name: str, dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {name} ON {table_name}" for name in trigger_names(table_name, dialect)]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in trigger_names(table_name, dialect)]


def make_append_only(table: Table) -> None:
    """Have ``create_all`` give ``table`` its triggers, on each database Resolver runs on."""
    for dialect in ("postgresql", "sqlite"):
        for statement in create_statements(table.name, dialect):
            event.listen(table, "after_create", DDL(statement).execute_if(dialect=dialect))
