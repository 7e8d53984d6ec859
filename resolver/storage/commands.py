"""``resolver storage copy --to URL``: every file from the place Resolver keeps them in now to another
(a folder to a bucket, or back), each one checked against its name on the way, so a company can move
its files without losing or corrupting one; and the check ``serve`` and ``worker`` make at start.
"""
from __future__ import annotations

import hashlib
import re
import tempfile
from dataclasses import dataclass, field
from typing import Callable

import click
from flask import current_app
from flask.cli import with_appcontext

from ..files import file_store
from . import Place, StorageUnavailable, place_at

# A stored file's name ends in the SHA-256 of its bytes (``resolver.files.key_for``).
_HASH_NAMED = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/([0-9a-f]{64})")
_BLOCK = 1024 * 1024
# A file up to this size is checked in memory on its way; a larger one in a temporary file.
_IN_MEMORY = 16 * 1024 * 1024


def require_storage() -> None:
    """Stop with one clear sentence unless the app's place can be used (a missing bucket, wrong credentials,
    an endpoint that does not answer, a folder that cannot be written)."""
    try:
        file_store(current_app._get_current_object()).check()
    except StorageUnavailable as error:
        raise click.ClickException(str(error)) from None


@click.group("storage")
def storage() -> None:
    """Where Resolver keeps evidence, letters and calendars (RESOLVER_STORAGE_URL)."""


@storage.command("copy")
@click.option("--to", "destination", required=True, metavar="URL",
              help="A folder, or s3://bucket/prefix (endpoint and credentials from the AWS_* settings).")
@click.option("--from", "origin", metavar="URL", help="Copy from this place, not from the one Resolver uses now.")
@with_appcontext
def copy(destination: str, origin: str | None) -> None:
    """Copy every file to another place, each checked against its SHA-256 on the way.

    Files already there are skipped, so it is safe to run again: once before switching
    RESOLVER_STORAGE_URL, and once after (--from the old place), for the files written meanwhile.
    """
    source = place_at(origin) if origin else file_store()
    target = place_at(destination)
    if source.url == target.url:
        raise click.ClickException(f"Resolver keeps its files in {source.url} already.")
    for place in (source, target):
        try:
            place.check()
        except StorageUnavailable as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"Copying files from {source.url} to {target.url} ...")
    tally = copy_files(source, target, report=lambda problem: click.echo(problem, err=True))
    click.echo(f"{tally.copied} copied, {tally.already} already there, {len(tally.failed)} not copied.")
    if tally.failed:
        raise click.exceptions.Exit(1)


@dataclass
class Tally:
    copied: int = 0
    already: int = 0
    failed: list[str] = field(default_factory=list)


def copy_files(source: Place, target: Place, report: Callable[[str], None]) -> Tally:
    """Copy what ``target`` lacks; each problem is reported (one line) and the copy goes on."""
    tally = Tally()
    there = set(target.keys())
    for key in sorted(source.keys()):
        if key in there:
            tally.already += 1
            continue
        try:
            _copy_one(source, target, key)
        except (OSError, _Corrupted) as error:
            tally.failed.append(key)
            report(f"{key}: {error}")
        else:
            tally.copied += 1
    return tally


class _Corrupted(Exception):
    pass


def _copy_one(source: Place, target: Place, key: str) -> None:
    """Read the file once, hashing it on the way, and write it only when its bytes are those its name says."""
    named = _HASH_NAMED.fullmatch(key)
    digest = hashlib.sha256()
    with source.open(key) as stream, tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY) as copy:
        while block := stream.read(_BLOCK):
            digest.update(block)
            copy.write(block)
        if named and digest.hexdigest() != named.group(1):
            raise _Corrupted(f"its bytes do not match its name (their SHA-256 is {digest.hexdigest()}), "
                             "so it was not copied.")
        copy.seek(0)
        target.write(key, copy)
