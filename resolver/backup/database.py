"""The database side of a backup: a consistent snapshot of it while Resolver runs, the files its rows
refer to (read from the snapshot itself, so files and rows match), and putting a snapshot back.

SQLite is copied with SQLite's online backup API, never as a file (a live database's file may be
half-written). PostgreSQL is dumped by ``pg_dump --format=custom`` inside a transaction whose snapshot
the file list is read in too, and restored by ``pg_restore``.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from ..models import EvidenceFile, InboundMail, Letter, OutboxEmail, Task
from .checked import sha256_of_file
from .manifest import BackupError

# Every column naming a file in the file store by its SHA-256. tests/test_backup.py fails when a model
# gains a column ending in "sha256" that is in neither this list nor NOT_FILES.
FILE_COLUMNS = (EvidenceFile.sha256, EvidenceFile.received_sha256, Letter.pdf_sha256, InboundMail.raw_sha256)
NOT_FILES = {"case_packet.sha256"}  # the hash of the panel's frozen case packet, which is a row, not a file

SNAPSHOT_NAMES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
README_SECTION = 'the README\'s "Backups" section'


@dataclass(frozen=True)
class Snapshot:
    path: Path
    sha256: str
    size: int
    kind: str
    files: set[str]  # the SHA-256 of every file its rows refer to

    @property
    def filename(self) -> str:
        return SNAPSHOT_NAMES[self.kind]


def kind_of(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in SNAPSHOT_NAMES:
        raise BackupError(f"Resolver backs up SQLite and PostgreSQL databases, not {backend}.")
    return backend


def files_referenced(connection: Connection) -> set[str]:
    """The SHA-256 of every file the rows refer to: evidence, letter PDFs, email attachments, calendars."""
    found: set[str] = set()
    for column in FILE_COLUMNS:
        found |= set(connection.scalars(select(column).where(column.is_not(None))))
    for attachments in connection.scalars(select(OutboxEmail.attachments)):
        found |= {attachment["sha256"] for attachment in attachments or [] if attachment.get("sha256")}
    for detail in connection.scalars(select(Task.detail)):
        if (detail or {}).get("ics_sha256"):
            found.add(detail["ics_sha256"])
    return found


def take_snapshot(url: str, folder: Path) -> Snapshot:
    """A snapshot of the database at ``url`` in ``folder``, taken while Resolver keeps running."""
    kind = kind_of(url)
    return _sqlite_snapshot(url, folder) if kind == "sqlite" else _postgres_snapshot(url, folder)


def _sqlite_snapshot(url: str, folder: Path) -> Snapshot:
    path = folder / SNAPSHOT_NAMES["sqlite"]
    with closing(sqlite3.connect(_sqlite_path(url), timeout=30)) as live, closing(sqlite3.connect(path)) as copy:
        live.backup(copy)  # in one step: one consistent moment, while others go on writing
    sha256, size = sha256_of_file(path)
    # The rows are read from a copy of the snapshot: opening a database may change its header.
    rows = folder / "rows.sqlite3"
    shutil.copyfile(path, rows)
    engine = create_engine(f"sqlite:///{rows}", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            files = files_referenced(connection)
    finally:
        engine.dispose()
    return Snapshot(path, sha256, size, "sqlite", files)


def _postgres_snapshot(url: str, folder: Path) -> Snapshot:
    path = folder / SNAPSHOT_NAMES["postgresql"]
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
            with connection.begin():
                # pg_dump reads the very snapshot this transaction sees, and so does the file list.
                exported = connection.scalar(text("SELECT pg_export_snapshot()"))
                _run_postgres_tool("pg_dump", url, "--format=custom", f"--snapshot={exported}", f"--file={path}")
                files = files_referenced(connection)
    finally:
        engine.dispose()
    sha256, size = sha256_of_file(path)
    return Snapshot(path, sha256, size, "postgresql", files)


def tables_in(url: str) -> list[str]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def restore_snapshot(url: str, kind: str, path: Path) -> None:
    """Put the snapshot at ``path`` into the (empty) database at ``url``."""
    if kind == "sqlite":
        with closing(sqlite3.connect(path)) as snapshot, closing(sqlite3.connect(_sqlite_path(url))) as target:
            snapshot.backup(target)
        return
    # One transaction: a restore that fails half-way leaves the database as empty as it was.
    _run_postgres_tool("pg_restore", url, "--single-transaction", "--exit-on-error", "--no-owner",
                       "--no-privileges", str(path))


def _sqlite_path(url: str) -> str:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up or restored: set RESOLVER_DATABASE_URL "
                          "to a file.")
    return database


def _run_postgres_tool(tool: str, url: str, *arguments: str) -> None:
    program = shutil.which(tool)
    if program is None:
        raise BackupError(f"{tool} is not installed here (not found on PATH). Backups of a PostgreSQL database "
                          f"need PostgreSQL's client programs, of the server's version or newer: see {README_SECTION}.")
    address = make_url(url).set(drivername="postgresql")
    environment = dict(os.environ)
    if address.password is not None:  # through the environment: a command line is visible to every user
        environment["PGPASSWORD"] = str(address.password)
        address = address.set(password=None)
    done = subprocess.run([program, *arguments, f"--dbname={address.render_as_string(hide_password=False)}"],
                          env=environment, capture_output=True, text=True)
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()
        raise BackupError(f"{tool} failed: {said[-1] if said else f'exit status {done.returncode}'}")
