"""Backups of a whole instance (database and files) to a folder or an S3-compatible bucket, and their restore.

A backup place holds, side by side:

- ``files/ab/cd/<sha256>``: every file a backup needs, shared by all the backups there, so each new
  backup writes only the files not already in the place;
- ``backups/<UTC time>/``: one backup: the database snapshot (``database.sqlite3``, or ``database.pgdump``
  from ``pg_dump --format=custom``) and, written last, ``manifest.json`` saying what the backup holds and
  every hash. A backup without its manifest was interrupted: it is ignored, and removed later.

``take_backup`` writes one (``resolver backup DEST``), ``restore_backup`` brings one back into an empty
instance (``resolver restore SRC``), and ``run_scheduled_backup`` is the worker's part
(``RESOLVER_BACKUP_URL``, every ``RESOLVER_BACKUP_EVERY_HOURS``, keeping ``RESOLVER_BACKUP_KEEP``).
"""
from __future__ import annotations

from .checked import CorruptFile
from .manifest import BackupError, Manifest, complete_backups

__all__ = ["BackupError", "CorruptFile", "Manifest", "complete_backups", "restore_backup", "take_backup"]


def __getattr__(name: str):
    # Taking and restoring need the models and Alembic: loaded when first used, not by `resolver --help`.
    if name == "take_backup":
        from .take import take_backup

        return take_backup
    if name == "restore_backup":
        from .restore import restore_backup

        return restore_backup
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
