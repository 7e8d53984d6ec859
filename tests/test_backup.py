"""Backups of a running instance to a folder, restored into an empty one: the same disputes and files,
every hash checked, nothing changed when a backup is damaged or the instance is not empty; and the
worker's schedule, which keeps the newest N."""
from __future__ import annotations

import json
import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import inspect, select

from resolver import create_app
from resolver.actors import Actor
from resolver.backup import complete_backups, take_backup
from resolver.backup.database import FILE_COLUMNS, NOT_FILES
from resolver.backup.schedule import RETRY_AFTER, run_scheduled_backup
from resolver.extensions import db
from resolver.files import read_bytes, store_bytes
from resolver.models import Base, Dispute, EvidenceFile, Installation, INSTALLATION_ID, Letter
from resolver.services import evidence
from resolver.storage import place_at
from resolver.worker import run_round

from .conftest import is_postgres
from .pgserver import find_bindir

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00"
       b"\x00\x00\x0cIDAT\x08\xd7c\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\x18\xdd\x8d\xb0\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture(autouse=True)
def postgres_tools(monkeypatch):
    """pg_dump and pg_restore of the test server's own version, as a deployment would install them."""
    if is_postgres():
        monkeypatch.setenv("PATH", f"{find_bindir()}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.fixture
def with_evidence(app, make_dispute, resident):
    """A dispute whose resident sent a photo and a PDF of their own (``words`` makes the PDF new)."""

    def make(words: str = "the lease addendum"):
        dispute = make_dispute("awaiting_evidence")
        photo, pdf = PNG, f"%PDF-1.4 {words}".encode()
        evidence.submit_evidence(
            Actor.resident(resident), dispute, form_key=uuid.uuid4().hex,
            details="The carpet was clean when I left.", suggested_resolution="Refund the cleaning charge.",
            suggested_amount_cents=15000,
            files=[
                {"original_name": "bedroom.png", "content_type": "image/png", "size_bytes": len(photo),
                 "sha256": store_bytes(photo)},
                {"original_name": "addendum.pdf", "content_type": "application/pdf", "size_bytes": len(pdf),
                 "sha256": store_bytes(pdf)},
            ],
        )
        db.session.commit()
        return dispute

    return make


@pytest.fixture
def instance(app, with_evidence, make_dispute):
    """Disputes waiting, with evidence, and with their outcome letter sent (a PDF in the file store)."""
    make_dispute("draft")
    with_evidence()
    make_dispute("outcome_sent")
    db.session.commit()
    return app


@pytest.fixture
def empty_instance(tmp_path, fresh_database):
    """``empty_instance()``: a new app on an empty database and an empty files folder."""

    def make():
        return create_app({
            "TESTING": True, "INSTANCE_PATH": str(tmp_path / f"restored-{uuid.uuid4().hex[:6]}"),
            "DATABASE_URL": fresh_database(f"restored_{uuid.uuid4().hex[:8]}"), "SECRET_KEY": "test-secret",
        })

    return make


def run(app, *arguments: str):
    """Run a command on ``app``'s instance (the test's own app, or another: a new instance)."""
    is_another = app is not current_app._get_current_object()
    with app.app_context():
        try:
            return app.test_cli_runner().invoke(args=list(arguments))
        finally:
            db.session.remove()
            if is_another:
                db.engine.dispose()


def disputes_and_files() -> tuple[list, dict[str, bytes]]:
    disputes = [(d.id, d.state, d.issue) for d in db.session.scalars(select(Dispute).order_by(Dispute.id))]
    hashes = {h for row in db.session.execute(select(EvidenceFile.sha256, EvidenceFile.received_sha256))
              for h in row if h}
    hashes |= {h for h in db.session.scalars(select(Letter.pdf_sha256)) if h}
    return disputes, {sha256: read_bytes(sha256) for sha256 in sorted(hashes)}


def is_untouched(app) -> bool:
    with app.app_context():
        try:
            return not inspect(db.engine).get_table_names() and not any(Path(app.config["UPLOAD_FOLDER"]).rglob("*"))
        finally:
            db.engine.dispose()


def test_a_backup_holds_the_database_and_every_file_its_rows_name(instance, tmp_path):
    result = run(instance, "backup", str(tmp_path / "backups"))

    assert result.exit_code == 0, result.output
    [manifest] = complete_backups(place_at(str(tmp_path / "backups")))
    _, files = disputes_and_files()
    assert set(manifest.files) == set(files) and len(files) >= 3  # photo, PDF, the outcome letter
    assert all(manifest.files[sha256] == len(data) for sha256, data in files.items())
    for sha256, data in files.items():
        assert (tmp_path / "backups" / "files" / sha256[:2] / sha256[2:4] / sha256).read_bytes() == data
    written = json.loads((tmp_path / "backups" / "backups" / manifest.name / "manifest.json").read_text())
    assert written["database"] == ("postgresql" if is_postgres() else "sqlite")
    assert "alembic_revision" in written and written["snapshot"]["size"] > 0
    assert f"{len(files)} files ({len(files)} new, 0 already there)" in result.output
    assert f"written to {tmp_path / 'backups'}: the database" in result.output  # where, as it was typed


def test_a_second_backup_writes_only_the_files_not_there_yet(instance, with_evidence, tmp_path):
    place = place_at(str(tmp_path / "backups"))
    first = take_backup(place)
    with_evidence("a second letter from the resident")
    instance_clock_moves = first.manifest.created + timedelta(hours=1)

    second = take_backup(place, now=instance_clock_moves)

    assert second.copied == 1  # the new PDF; the photo is the same bytes as before
    assert second.kept == len(first.manifest.files)
    assert len(complete_backups(place)) == 2


def test_a_restore_brings_back_the_same_disputes_and_files(instance, empty_instance, tmp_path):
    assert run(instance, "backup", str(tmp_path / "backups")).exit_code == 0
    expected = disputes_and_files()
    restored = empty_instance()

    result = run(restored, "restore", str(tmp_path / "backups"))

    assert result.exit_code == 0, result.output
    assert "every hash checked" in result.output
    with restored.app_context():
        try:
            assert disputes_and_files() == expected
        finally:
            db.session.remove()
            db.engine.dispose()


def test_a_restore_into_an_instance_in_use_is_refused_and_changes_nothing(instance, empty_instance, tmp_path):
    assert run(instance, "backup", str(tmp_path / "backups")).exit_code == 0
    before = disputes_and_files()

    result = run(instance, "restore", str(tmp_path / "backups"))

    assert result.exit_code != 0
    assert "already has tables" in result.output and "Nothing was changed" in result.output
    assert disputes_and_files() == before

    with_a_file = empty_instance()
    store = Path(with_a_file.config["UPLOAD_FOLDER"])
    store.mkdir(parents=True)
    (store / "left-over.txt").write_text("a file from before")
    result = run(with_a_file, "restore", str(tmp_path / "backups"))
    assert result.exit_code != 0 and "already holds files" in result.output
    assert sorted(p.name for p in store.rglob("*")) == ["left-over.txt"]


@pytest.mark.parametrize("damaged", ["a file", "the snapshot"])
def test_a_damaged_backup_is_refused_by_name_and_restores_nothing(instance, empty_instance, tmp_path, damaged):
    place = place_at(str(tmp_path / "backups"))
    manifest = take_backup(place).manifest
    if damaged == "a file":
        sha256 = sorted(manifest.files)[0]
        target = tmp_path / "backups" / "files" / sha256[:2] / sha256[2:4] / sha256
    else:
        target = tmp_path / "backups" / manifest.snapshot_key
    target.write_bytes(target.read_bytes()[:-1] + b"!")
    restored = empty_instance()

    result = run(restored, "restore", str(tmp_path / "backups"))

    assert result.exit_code != 0
    assert "is damaged" in result.output and target.name in result.output
    assert is_untouched(restored)


def test_a_backup_without_its_manifest_is_ignored(instance, empty_instance, tmp_path, with_evidence):
    place = place_at(str(tmp_path / "backups"))
    complete = take_backup(place).manifest
    with_evidence("written after the complete backup")
    interrupted = take_backup(place, now=complete.created + timedelta(hours=1)).manifest
    (tmp_path / "backups" / "backups" / interrupted.name / "manifest.json").unlink()  # as if it stopped before it

    assert [manifest.name for manifest in complete_backups(place)] == [complete.name]
    restored = empty_instance()
    result = run(restored, "restore", str(tmp_path / "backups"))
    assert result.exit_code == 0, result.output
    assert complete.name in result.output
    result = run(empty_instance(), "restore", str(tmp_path / "backups"), "--backup", interrupted.name)
    assert result.exit_code != 0 and f"no complete backup called {interrupted.name}" in result.output


def test_the_worker_backs_up_when_due_and_keeps_the_newest(instance, tmp_path, frozen_clock):
    instance.config.update(BACKUP_URL=str(tmp_path / "backups"), BACKUP_EVERY_HOURS=24, BACKUP_KEEP=2)
    place = place_at(str(tmp_path / "backups"))

    run_round(instance)
    run_round(instance)  # the next round: not due again yet
    assert len(complete_backups(place)) == 1
    stray = tmp_path / "backups" / "files" / "ab" / "cd" / ("abcd" + "0" * 60)
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"a file no backup needs")

    names = []
    for _day in range(3):
        frozen_clock.advance(timedelta(hours=24))
        run_round(instance)
        names.append(frozen_clock.now_utc())
    kept = complete_backups(place)
    assert [manifest.created for manifest in kept] == names[-2:]
    assert len({path.parent for path in (tmp_path / "backups" / "backups").rglob("*") if path.is_file()}) == 2
    assert not stray.exists()
    assert all((tmp_path / "backups" / "files" / k[:2] / k[2:4] / k).exists() for k in kept[-1].files)


def test_another_worker_holding_the_turn_means_no_second_backup(instance, tmp_path, frozen_clock):
    instance.config.update(BACKUP_URL=str(tmp_path / "backups"))
    db.session.add(Installation(id=INSTALLATION_ID, backup_claimed_until_dt=frozen_clock.now_utc() + timedelta(hours=1)))
    db.session.commit()

    assert run_scheduled_backup(instance) is None
    frozen_clock.advance(timedelta(hours=1))
    assert run_scheduled_backup(instance) is not None


def test_a_failed_backup_is_logged_and_tried_again_later(instance, tmp_path, frozen_clock, caplog):
    (tmp_path / "not-a-folder").write_text("a file where the backups should go")
    instance.config.update(BACKUP_URL=str(tmp_path / "not-a-folder" / "backups"))

    assert run_scheduled_backup(instance) is None
    assert "backup to" in caplog.text and "failed" in caplog.text
    instance.config.update(BACKUP_URL=str(tmp_path / "backups"))
    assert run_scheduled_backup(instance) is None  # not at once: the next attempt waits a little
    frozen_clock.advance(RETRY_AFTER)
    assert run_scheduled_backup(instance) is not None


def test_every_column_holding_a_hash_is_known_to_be_a_file_or_not():
    columns = {f"{table.name}.{column.name}" for table in Base.metadata.tables.values() for column in table.columns
               if column.name.endswith("sha256")}
    files = {f"{column.table.name}.{column.name}" for column in (c.expression for c in FILE_COLUMNS)}
    assert columns - NOT_FILES == files


@pytest.mark.skipif(not is_postgres(), reason="pg_dump backs up PostgreSQL only")
def test_without_pg_dump_the_backup_says_what_to_install(instance, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))

    result = run(instance, "backup", str(tmp_path / "backups"))

    assert result.exit_code != 0
    assert "pg_dump is not installed" in result.output and "README" in result.output


def test_a_backup_from_a_newer_resolver_is_refused(instance, empty_instance, tmp_path):
    manifest = take_backup(place_at(str(tmp_path / "backups"))).manifest
    written = tmp_path / "backups" / "backups" / manifest.name / "manifest.json"
    written.write_text(written.read_text().replace('"alembic_revision": null', '"alembic_revision": "0999"')
                       .replace(f'"alembic_revision": "{manifest.alembic_revision}"', '"alembic_revision": "0999"'))
    restored = empty_instance()

    result = run(restored, "restore", str(tmp_path / "backups"))

    assert result.exit_code != 0 and "taken by a newer Resolver" in result.output
    assert is_untouched(restored)


def test_a_damaged_file_left_by_an_interrupted_backup_is_written_again(instance, empty_instance, tmp_path):
    place = place_at(str(tmp_path / "backups"))
    interrupted = take_backup(place).manifest
    (tmp_path / "backups" / "backups" / interrupted.name / "manifest.json").unlink()
    sha256 = sorted(interrupted.files)[0]
    left = tmp_path / "backups" / "files" / sha256[:2] / sha256[2:4] / sha256
    left.write_bytes(b"half of it")

    taken = take_backup(place, now=interrupted.created + timedelta(hours=1))

    assert taken.manifest.files == interrupted.files and not taken.manifest.missing
    assert run(empty_instance(), "restore", str(tmp_path / "backups")).exit_code == 0


def test_a_backup_missing_a_file_is_refused_by_name(instance, empty_instance, tmp_path):
    manifest = take_backup(place_at(str(tmp_path / "backups"))).manifest
    sha256 = sorted(manifest.files)[-1]
    (tmp_path / "backups" / "files" / sha256[:2] / sha256[2:4] / sha256).unlink()
    restored = empty_instance()

    result = run(restored, "restore", str(tmp_path / "backups"))

    assert result.exit_code != 0 and f"{sha256} is missing" in result.output
    assert is_untouched(restored)


def test_a_backup_in_a_bucket_restores_into_an_instance_that_keeps_its_files_in_another(
    instance, tmp_path, new_bucket, s3_server, fresh_database
):
    """A company on S3 storage: the backup goes to one bucket, and the restored instance keeps its files in
    another, every file there byte for byte."""
    from .s3server import objects_in

    backups = new_bucket().removesuffix("/files") + "/backups"
    result = run(instance, "backup", backups)
    assert result.exit_code == 0, result.output
    [manifest] = complete_backups(place_at(backups))
    assert any(key.endswith("/manifest.json") for key in objects_in(backups, s3_server))
    expected = disputes_and_files()
    files_bucket = new_bucket()
    restored = create_app({
        "TESTING": True, "INSTANCE_PATH": str(tmp_path / "restored-on-s3"), "SECRET_KEY": "test-secret",
        "DATABASE_URL": fresh_database(f"restored_{uuid.uuid4().hex[:8]}"), "STORAGE_URL": files_bucket,
    })

    result = run(restored, "restore", backups)

    assert result.exit_code == 0, result.output
    assert sorted(key.rsplit("/", 1)[-1] for key in objects_in(files_bucket, s3_server)) == sorted(manifest.files)
    with restored.app_context():
        try:
            assert disputes_and_files() == expected
        finally:
            db.session.remove()
            db.engine.dispose()
