"""What a backup holds, and where in its place: the manifest, written last, makes a backup complete."""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..files import key_for
from ..storage import Place

BACKUPS = "backups/"
FILES = "files/"
MANIFEST = "manifest.json"
NAME_FORMAT = "%Y%m%dT%H%M%SZ"


class BackupError(Exception):
    """A backup cannot be taken or restored; the message says why and what to do, in a sentence or two."""


def file_key(sha256: str) -> str:
    return FILES + key_for(sha256)


def backup_key(name: str, filename: str) -> str:
    return f"{BACKUPS}{name}/{filename}"


def name_for(moment: datetime, taken: set[str]) -> str:
    """The backup's name: its UTC time, with a number after it if a backup of that second exists."""
    base = moment.astimezone(timezone.utc).strftime(NAME_FORMAT)
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base}-{number}"
    return name


def time_of(name: str) -> datetime | None:
    try:
        return datetime.strptime(name[:len("20260101T000000Z")], NAME_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


@dataclass(frozen=True)
class Manifest:
    name: str
    created: datetime
    resolver_version: str
    alembic_revision: str | None
    database: str  # "sqlite" or "postgresql"
    snapshot: str  # its file name in the backup's folder
    snapshot_sha256: str
    snapshot_size: int
    files: dict[str, int]  # SHA-256 -> size in bytes
    # Files the database refers to that were not in the file store when the backup was taken.
    missing: list[str] = field(default_factory=list)

    @property
    def snapshot_key(self) -> str:
        return backup_key(self.name, self.snapshot)

    def to_json(self) -> bytes:
        return json.dumps({
            "format": 1,
            "name": self.name,
            "created": self.created.astimezone(timezone.utc).isoformat(),
            "resolver_version": self.resolver_version,
            "alembic_revision": self.alembic_revision,
            "database": self.database,
            "snapshot": {"file": self.snapshot, "sha256": self.snapshot_sha256, "size": self.snapshot_size},
            "files": [{"sha256": sha256, "size": size} for sha256, size in sorted(self.files.items())],
            "missing": sorted(self.missing),
        }, indent=1).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        data = json.loads(raw)
        return cls(
            name=data["name"], created=datetime.fromisoformat(data["created"]),
            resolver_version=data["resolver_version"], alembic_revision=data["alembic_revision"],
            database=data["database"], snapshot=data["snapshot"]["file"],
            snapshot_sha256=data["snapshot"]["sha256"], snapshot_size=data["snapshot"]["size"],
            files={entry["sha256"]: entry["size"] for entry in data["files"]}, missing=data.get("missing", []),
        )

    def write_to(self, place: Place) -> None:
        place.write(backup_key(self.name, MANIFEST), io.BytesIO(self.to_json()))


def backup_names(place: Place) -> tuple[set[str], set[str]]:
    """The names of the complete backups in ``place``, and of the incomplete ones (no manifest)."""
    seen: set[str] = set()
    complete: set[str] = set()
    for key in place.keys(BACKUPS):
        name, _, filename = key.removeprefix(BACKUPS).partition("/")
        seen.add(name)
        if filename == MANIFEST:
            complete.add(name)
    return complete, seen - complete


def complete_backups(place: Place) -> list[Manifest]:
    """The complete backups in ``place``, oldest first."""
    complete, _ = backup_names(place)
    return sorted((manifest_of(place, name) for name in complete),
                  key=lambda manifest: (manifest.created, manifest.name))


def manifest_of(place: Place, name: str) -> Manifest:
    with place.open(backup_key(name, MANIFEST)) as stream:
        return Manifest.from_json(stream.read())
