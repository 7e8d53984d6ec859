"""Database migrations (Alembic), configured in code so they ship inside the package.

``upgrade_database()`` brings the app's database to the newest revision; ``resolver init`` and
``resolver serve`` call it. The environment lives in ``env.py`` beside this file and the revisions
in ``versions/``; ``scripts/regenerate-initial-migration.sh`` rebuilds the initial one.
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ..extensions import db

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(connection=None) -> Config:
    """An Alembic config pointing at this folder; ``connection`` is used instead of the app's engine."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision() -> str | None:
    """The revision the app's database is at (None for an empty database). Needs an app context."""
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_up_to_date() -> bool:
    return current_revision() == head_revision()


def upgrade_database(revision: str = "head") -> tuple[str | None, str | None]:
    """Create or upgrade the app's database; return (revision before, revision after)."""
    before = current_revision()
    with db.engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)
    return before, current_revision()
