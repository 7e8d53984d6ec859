"""Taking a backup: the database snapshot, then the files it needs that the place lacks, then the manifest."""
from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from flask import current_app

from .. import clock
from ..files import file_store, key_for
from ..migrations import current_revision
from ..storage import Place
from .checked import Checked, CorruptFile, read_through
from .database import tables_in, take_snapshot
from .manifest import (BackupError, Manifest, backup_key, backup_names, complete_backups, file_key, manifest_of,
                       name_for)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Taken:
    manifest: Manifest
    where: str  # the place's URL: a folder or a bucket
    copied: int  # files written to the place by this backup
    kept: int  # files the place already held

    def summary(self) -> str:
        said = (f"Backup {self.manifest.name} written to {self.where}: the database ({self.manifest.snapshot_size:,} "
                f"bytes) and {len(self.manifest.files)} files ({self.copied} new, {self.kept} already there).")
        if self.manifest.missing:
            said += (f" {len(self.manifest.missing)} files the database refers to were missing or damaged in the "
                     f"file store and are not in it: {', '.join(self.manifest.missing)}.")
        return said


def take_backup(place: Place, now: datetime | None = None) -> Taken:
    """Back up the app's database and files to ``place`` while Resolver runs (needs an app context)."""
    now = now or clock.now_utc()
    place.check()
    complete, incomplete = backup_names(place)
    name = name_for(now, complete | incomplete)
    revision = current_revision()
    if "dispute" not in tables_in(current_app.config["DATABASE_URL"]):
        raise BackupError("There is no database to back up yet. Run `resolver init` first.")
    # Beside the instance, not in /tmp: the disk that holds the database has room for a copy of it.
    with tempfile.TemporaryDirectory(prefix="backup-", dir=current_app.instance_path) as folder:
        snapshot = take_snapshot(current_app.config["DATABASE_URL"], Path(folder))
        with snapshot.path.open("rb") as stream:
            place.write(backup_key(name, snapshot.filename), stream)
    files, missing, copied = _copy_files(snapshot.files, place)
    manifest = Manifest(
        name=name, created=now, resolver_version=_resolver_version(), alembic_revision=revision,
        database=snapshot.kind, snapshot=snapshot.filename, snapshot_sha256=snapshot.sha256,
        snapshot_size=snapshot.size, files=files, missing=missing,
    )
    manifest.write_to(place)  # last: from now on the backup is complete
    if manifest_of(place, name) != manifest:
        raise BackupError(f"Another backup took the name {name} at the same moment; run this one again.")
    return Taken(manifest, where=place.url, copied=copied, kept=len(files) - copied)


def _copy_files(needed: set[str], place: Place) -> tuple[dict[str, int], list[str], int]:
    """Put every file in ``needed`` in ``place``, copying only those no earlier backup there holds;
    return each one's size, those the file store lacks, and how many were copied."""
    known = {sha256: size for manifest in complete_backups(place) for sha256, size in manifest.files.items()}
    files: dict[str, int] = {}
    missing: list[str] = []
    for sha256 in sorted(needed):
        if sha256 in known and place.exists(file_key(sha256)):
            files[sha256] = known[sha256]
        elif (size := _copy_file(sha256, place)) is not None:
            files[sha256] = size
        else:
            missing.append(sha256)
    copied = sum(1 for sha256 in files if sha256 not in known)
    return files, missing, copied


def _copy_file(sha256: str, place: Place) -> int | None:
    """Copy one file from the file store to ``place``, checking its hash; its size, or None when the store
    has no good copy of it. A damaged copy left in the place by an earlier attempt is replaced."""
    for _attempt in range(2):
        try:
            with file_store().open(key_for(sha256)) as source:
                checked = Checked(source, sha256, f"The file {sha256} in the file store")
                place.write(file_key(sha256), checked)
        except FileNotFoundError:
            log.warning("backup: the file %s the database refers to is not in the file store", sha256)
            return None
        except CorruptFile as damaged:
            log.warning("backup: %s", damaged)
            return None
        if checked.is_finished:
            return checked.size
        try:  # the place already had it (from a backup that stopped before its manifest): check that copy
            with place.open(file_key(sha256)) as there:
                return read_through(Checked(there, sha256, f"The backup's copy of {sha256}"))
        except CorruptFile:
            place.delete(file_key(sha256))
    return None


def _resolver_version() -> str:
    try:
        return version("resolver")
    except PackageNotFoundError:
        return "unknown"
