"""The worker's backups: one every ``BACKUP_EVERY_HOURS`` to ``BACKUP_URL``, keeping the newest ``BACKUP_KEEP``.

Whose turn it is lives in the installation row: a worker takes the turn with one conditional update
(due, and nobody holding it), so of several workers exactly one backs up. A backup that fails is
logged and tried again a little later; it never stops the worker.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import or_, update

from .. import clock
from ..extensions import db
from ..installation import installation_row
from ..models import INSTALLATION_ID, Installation
from ..storage import Place, place_at
from .manifest import FILES, MANIFEST, backup_key, backup_names, complete_backups, file_key, time_of
from .take import take_backup

log = logging.getLogger(__name__)

# How long a worker holds the turn while it backs up (another may take it over after that), and how
# long after a failed backup the next attempt waits.
TURN = timedelta(hours=6)
RETRY_AFTER = timedelta(minutes=15)
# A backup without its manifest this young may still be being written: no shared file is removed meanwhile.
STILL_WRITING = timedelta(days=1)


def run_scheduled_backup(app: Flask) -> str | None:
    """Take a backup if one is due and no other worker is taking it; the backup's name, or None."""
    url = app.config.get("BACKUP_URL")
    if not url:
        return None
    with app.app_context():
        try:
            now = clock.now_utc()
            if not _take_turn(now, timedelta(hours=float(app.config["BACKUP_EVERY_HOURS"]))):
                return None
            try:
                place = place_at(url)
                taken = take_backup(place, now=now)
            except Exception:
                log.exception("backup to %s failed; trying again in %d minutes", url, RETRY_AFTER.seconds // 60)
                _end_turn(now, done=False)
                return None
            _end_turn(now, done=True)
            log.info("%s", taken.summary())
            _remove_old_backups(place, keep=int(app.config["BACKUP_KEEP"]), now=now)
            return taken.manifest.name
        finally:
            db.session.remove()


def _remove_old_backups(place: Place, *, keep: int, now: datetime) -> None:
    """After a backup: what failing here leaves behind is removed after the next one."""
    try:
        removed = prune(place, keep=keep, now=now)
    except Exception:
        log.exception("removing older backups from %s failed; trying again after the next backup", place.url)
        return
    if removed:
        log.info("removed %d older backups from %s", removed, place.url)


def _take_turn(now: datetime, every: timedelta) -> bool:
    """Whether this worker takes this backup: it is due, and no other worker holds the turn."""
    row = installation_row()
    is_due = ((row.last_backup_dt is None or row.last_backup_dt <= now - every)
              and (row.backup_claimed_until_dt is None or row.backup_claimed_until_dt <= now))
    db.session.commit()
    if not is_due:  # most rounds: one read, no write
        return False
    column = Installation.__table__.c
    taken = db.session.execute(
        update(Installation)
        .where(column.id == INSTALLATION_ID,
               or_(column.backup_claimed_until_dt.is_(None), column.backup_claimed_until_dt <= now),
               or_(column.last_backup_dt.is_(None), column.last_backup_dt <= now - every))
        .values(backup_claimed_until_dt=now + TURN)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return taken.rowcount == 1


def _end_turn(now: datetime, *, done: bool) -> None:
    db.session.rollback()
    values = {"last_backup_dt": now, "backup_claimed_until_dt": None} if done else {
        "backup_claimed_until_dt": now + RETRY_AFTER}
    db.session.execute(update(Installation).where(Installation.id == INSTALLATION_ID).values(**values)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def prune(place: Place, *, keep: int, now: datetime) -> int:
    """Keep the newest ``keep`` complete backups in ``place``; remove older ones, interrupted ones a day
    old, and the files no kept backup needs. Return how many complete backups were removed."""
    manifests = complete_backups(place)
    old, kept = manifests[:-max(keep, 1)], manifests[-max(keep, 1):]
    for manifest in old:
        _remove_backup(place, manifest.name)
    _, incomplete = backup_names(place)
    being_written = False
    for name in incomplete:
        started = time_of(name)
        if started is not None and started > now - STILL_WRITING:
            being_written = True  # it may be about to name files only an old backup had
        else:
            _remove_backup(place, name)
    if not being_written:
        needed = {file_key(sha256) for manifest in kept for sha256 in manifest.files}
        for key in list(place.keys(FILES)):
            if key not in needed:
                place.delete(key)
    return len(old)


def _remove_backup(place: Place, name: str) -> None:
    """The manifest first: a backup half removed is an incomplete one, ignored."""
    place.delete(backup_key(name, MANIFEST))
    for key in list(place.keys(backup_key(name, ""))):
        place.delete(key)
