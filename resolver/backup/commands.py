"""``resolver backup DEST`` and ``resolver restore SRC``."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import with_appcontext

from ..storage import StorageUnavailable, place_at
from .checked import CorruptFile
from .manifest import BackupError


@click.command("backup")
@click.argument("dest", required=False)
@with_appcontext
def backup(dest: str | None) -> None:
    """Back up the database and files to DEST (a folder, or s3://bucket/prefix), while Resolver runs.

    Each backup writes only the files DEST does not hold yet. Without DEST: RESOLVER_BACKUP_URL.
    """
    from .take import take_backup

    place = _place(dest or current_app.config.get("BACKUP_URL"))
    with _clear_errors():
        click.echo(take_backup(place).summary())


@click.command("restore")
@click.argument("src")
@click.option("--backup", "name", metavar="NAME", default=None,
              help="Which backup in SRC (its folder name under backups/); default: the newest complete one.")
@with_appcontext
def restore(src: str, name: str | None) -> None:
    """Restore a backup from SRC (a folder, or s3://bucket/prefix) into this empty instance.

    Refused when the database has tables or the file store has files; every hash is checked first.
    """
    from .restore import restore_backup

    place = _place(src)
    with _clear_errors():
        click.echo(restore_backup(place, name).summary())


def _place(url: str | None):
    if not url:
        raise click.UsageError("Say where: a folder or an s3://bucket/prefix URL (or set RESOLVER_BACKUP_URL).")
    try:
        return place_at(url)
    except StorageUnavailable as error:
        raise click.ClickException(str(error)) from None


@contextmanager
def _clear_errors() -> Iterator[None]:
    """A backup's or a restore's refusal as one clear line and a non-zero exit."""
    try:
        yield
    except (BackupError, CorruptFile, StorageUnavailable) as error:
        raise click.ClickException(str(error)) from None
