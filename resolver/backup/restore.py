"""Restoring a backup into an empty instance: every hash is checked before anything is written, and again
as each file is written; a restore that stops part-way takes back what it wrote."""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from sqlalchemy.engine import make_url

from ..extensions import db
from ..files import file_store, key_for
from ..migrations import alembic_config
from ..storage import Place
from .checked import Checked, read_through
from .database import kind_of, restore_snapshot, tables_in
from .manifest import BackupError, Manifest, complete_backups, file_key


@dataclass(frozen=True)
class Restored:
    manifest: Manifest

    def summary(self) -> str:
        said = (f"Restored backup {self.manifest.name} (taken {self.manifest.created:%Y-%m-%d %H:%M} UTC): the "
                f"database and {len(self.manifest.files)} files, every hash checked. `resolver serve` runs it.")
        if self.manifest.missing:
            said += (f" {len(self.manifest.missing)} files were already missing when it was taken: "
                     f"{', '.join(self.manifest.missing)}.")
        return said


def choose_backup(place: Place, name: str | None) -> Manifest:
    """The complete backup called ``name``, or the newest complete one."""
    manifests = complete_backups(place)
    if not manifests:
        raise BackupError(f"There is no complete backup in {place.url} (a backup is complete once its "
                          "manifest.json is written).")
    if name is None:
        return manifests[-1]
    for manifest in manifests:
        if manifest.name == name:
            return manifest
    names = ", ".join(manifest.name for manifest in manifests)
    raise BackupError(f"There is no complete backup called {name} in {place.url}. The complete ones: {names}.")


def restore_backup(place: Place, name: str | None = None) -> Restored:
    """Restore a backup from ``place`` into this app's empty instance (needs an app context)."""
    manifest = choose_backup(place, name)
    url = current_app.config["DATABASE_URL"]
    _check_fits(manifest, url)
    _check_empty(url)
    file_store().check()
    with tempfile.TemporaryDirectory(prefix="restore-", dir=current_app.instance_path) as folder:
        snapshot = Path(folder) / manifest.snapshot
        with _opened(place, manifest.snapshot_key) as source, snapshot.open("wb") as out:
            shutil.copyfileobj(Checked(source, manifest.snapshot_sha256, f"The database snapshot "
                                       f"{manifest.snapshot_key}", manifest.snapshot_size), out)
        for sha256, size in manifest.files.items():  # every file checked before anything is written
            with _opened(place, file_key(sha256)) as stream:
                read_through(Checked(stream, sha256, f"The file {file_key(sha256)}", size))
        written: list[str] = []
        try:
            for sha256, size in manifest.files.items():
                with _opened(place, file_key(sha256)) as stream:
                    file_store().write(key_for(sha256), Checked(stream, sha256, f"The file {file_key(sha256)}", size))
                written.append(sha256)
            db.engine.dispose()  # no connection of this process holds the empty database open
            restore_snapshot(url, manifest.database, snapshot)
        except BaseException:
            for sha256 in written:  # the file store was empty: it is again
                file_store().delete(key_for(sha256))
            raise
    return Restored(manifest)


@contextmanager
def _opened(place: Place, key: str) -> Iterator[BinaryIO]:
    try:
        stream = place.open(key)
    except FileNotFoundError:
        raise BackupError(f"{key} is missing from {place.url}, and the backup needs it. Nothing was restored.") from None
    with stream:
        yield stream


def _check_fits(manifest: Manifest, url: str) -> None:
    kind = kind_of(url)
    if manifest.database != kind:
        raise BackupError(f"Backup {manifest.name} holds a {manifest.database} database, and this instance is "
                          f"set up for {kind} (RESOLVER_DATABASE_URL). Restore it into a {manifest.database} database.")
    if manifest.alembic_revision is None:
        return
    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(manifest.alembic_revision)
    except CommandError:
        raise BackupError(f"Backup {manifest.name} was taken by a newer Resolver (version "
                          f"{manifest.resolver_version}, schema {manifest.alembic_revision}): restore it with that "
                          "version or a later one.") from None


def _check_empty(url: str) -> None:
    tables = tables_in(url)
    if tables:
        raise BackupError(f"The database {_shown(url)} already has tables ({len(tables)}, e.g. {sorted(tables)[0]}). "
                          "A backup is restored only into an empty instance: set RESOLVER_DATABASE_URL to a new, "
                          "empty database. Nothing was changed.")
    if next(iter(file_store().keys()), None) is not None:
        raise BackupError(f"The file store {file_store().url} already holds files. A backup is restored only into an "
                          "empty instance: set RESOLVER_UPLOAD_FOLDER to an empty place. Nothing was changed.")


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
