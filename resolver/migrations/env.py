"""Alembic's environment for Resolver: the models' metadata, batch mode for SQLite, type comparison."""
from __future__ import annotations

from alembic import context

from resolver.models import Base
from resolver.models.base import UTCDateTime

config = context.config
target_metadata = Base.metadata


def render_item(kind, obj, autogen_context):
    # A migration stores plain columns; the aware-UTC conversion is the application's business.
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def include_name(name, kind, parent_names):
    # Alembic's own bookkeeping table is not part of the models.
    return not (kind == "table" and name == "alembic_version")


def configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite can only change a table by copying it
        compare_type=True,
        render_item=render_item,
        include_name=include_name,
    )


def run_with(connection) -> None:
    configure(connection)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    # Run from the alembic command line: use the app's engine.
    from resolver import create_app
    from resolver.extensions import db

    with create_app().app_context(), db.engine.begin() as connection:
        run_with(connection)


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
