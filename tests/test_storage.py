"""Where Resolver keeps files: the upload folder, or a bucket on a real S3 protocol server on loopback.

The same promises hold in both: a file is written once and never overwritten, whole or not at all, and
read back as a stream; a resident's files land in the bucket and come back byte for byte to staff, the
team and the resident; a bucket that refuses writes leaves no half-sent submission; a bucket that is
missing stops start-up with one clear sentence; and ``resolver storage copy`` moves every file, checked.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from resolver import create_app
from resolver.actors import Actor
from resolver.config import from_environment
from resolver.extensions import db
from resolver.files import file_store, key_for, read_bytes, store_bytes
from resolver.links import PUBLIC_ADDRESS
from resolver.models import EvidenceFile, Submission
from resolver.services import outcome, panel
from resolver.storage import StorageUnavailable, place_at

from .conftest import free_port
from .dispute_checks import emails, snapshot
from .s3server import objects_in
from .test_outcome_pages import path_of
from .test_resident_support import ResidentForm, counts, evidence_path, pdf

ROOT = Path(__file__).resolve().parents[1]
BIG = os.urandom(3 * 1024 * 1024 + 17)  # more than one block of any reader on the way


@pytest.fixture(params=["folder", "bucket"])
def place(request, tmp_path):
    """An empty place of each kind; the bucket lists its keys two to a page, so paging is used."""
    if request.param == "folder":
        return place_at(str(tmp_path / "files"))
    url = request.getfixturevalue("bucket_url")
    bucket = place_at(url)
    assert bucket.url == f"{url}/"  # a bucket, not a folder that happens to be called "s3:"
    bucket.page_size = 2
    return bucket


@pytest.fixture
def in_bucket(app, bucket_url):
    """The test's app, keeping its files in a bucket as RESOLVER_STORAGE_URL says."""
    app.config["STORAGE_URL"] = bucket_url
    return bucket_url


# The place itself -------------------------------------------------------------------------------

def test_a_file_is_written_once_and_never_overwritten(place):
    place.write("ab/cd/first", io.BytesIO(b"the resident's photo"))
    place.write("ab/cd/first", io.BytesIO(b"something else entirely"))
    with place.open("ab/cd/first") as stream:
        assert stream.read() == b"the resident's photo"
    assert place.size("ab/cd/first") == len(b"the resident's photo")


def test_a_file_is_read_back_as_a_stream_a_block_at_a_time(place):
    place.write("big", io.BytesIO(BIG))
    with place.open("big") as stream:
        assert not isinstance(stream, (bytes, io.BytesIO))  # straight from the disk or the HTTP response
        first = stream.read(64 * 1024)
        assert first == BIG[: 64 * 1024]
        rest = b"".join(iter(lambda: stream.read(64 * 1024), b""))
    assert first + rest == BIG and place.size("big") == len(BIG)


def test_keys_lists_every_file_and_delete_removes_one(place):
    names = ["aa/bb/one", "aa/bc/two", "cc/dd/three", "imports/kept.csv", "imports/kept.json"]
    for name in names:
        place.write(name, io.BytesIO(name.encode()))
    assert sorted(place.keys()) == sorted(names)
    assert sorted(place.keys("imports/")) == ["imports/kept.csv", "imports/kept.json"]
    place.delete("aa/bc/two")
    place.delete("aa/bc/two")  # removing what is not there is harmless
    assert not place.exists("aa/bc/two") and place.exists("aa/bb/one")
    assert "aa/bc/two" not in set(place.keys())
    with pytest.raises(FileNotFoundError):
        place.open("aa/bc/two")
    with pytest.raises(FileNotFoundError):
        place.size("aa/bc/two")


class FailingSource(io.RawIOBase):
    """A source that gives ``good`` bytes and then fails, as a dropped upload or a bad disk would."""

    def __init__(self, good: int):
        self.left = good

    def readable(self):
        return True

    def readinto(self, buffer):
        if self.left <= 0:
            raise OSError("the connection was reset")
        n = min(len(buffer), self.left)
        buffer[:n] = b"x" * n
        self.left -= n
        return n


def test_a_write_that_fails_midway_leaves_nothing_under_the_name(place):
    # Past the first part of a multipart upload, so a bucket must abort what it had received.
    with pytest.raises(OSError):
        place.write("ab/cd/broken", io.BufferedReader(FailingSource(9 * 1024 * 1024)))
    assert not place.exists("ab/cd/broken") and list(place.keys()) == []
    if place.url.startswith("s3://"):
        assert not place.client.list_multipart_uploads(Bucket=place.name).get("Uploads")


def test_a_missing_bucket_or_an_endpoint_that_does_not_answer_is_one_clear_sentence(s3_settings, bucket_url):
    place_at(bucket_url).check()
    with pytest.raises(StorageUnavailable) as missing:
        place_at("s3://no-such-bucket/files").check()
    assert str(missing.value).startswith("The bucket no-such-bucket does not exist at http://127.0.0.1:")
    s3_settings(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StorageUnavailable) as unreachable:
        place_at(bucket_url).check()
    assert str(unreachable.value).startswith("Resolver cannot reach the storage at http://127.0.0.1:")
    for message in (str(missing.value), str(unreachable.value)):
        assert message.count(". ") == 0 and message.endswith(".") and "\n" not in message


# The app's files in a bucket --------------------------------------------------------------------

def test_the_setting_names_the_bucket_and_the_app_opens_it_once(app, in_bucket, s3_server):
    assert from_environment({"RESOLVER_STORAGE_URL": in_bucket}) == {"STORAGE_URL": in_bucket}
    sha256 = store_bytes(b"a letter's PDF")
    assert objects_in(in_bucket, s3_server) == [f"files/{key_for(sha256)}"]
    assert read_bytes(sha256) == b"a letter's PDF"
    assert file_store() is file_store()  # one client, its connections shared by every request
    assert not list(Path(app.config["UPLOAD_FOLDER"]).rglob("*"))  # nothing went to the folder


def test_a_residents_files_land_in_the_bucket_and_come_back_whole_to_staff_team_and_resident(
        app, in_bucket, s3_server, client, make_dispute, make_panel, manager, signed_in_client):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    sent = [("receipt.pdf", pdf("cleaning")), ("calls.txt", b"Called the office on 2 and 4 March.\n")]
    assert ResidentForm(client, dispute).send(files=sent).status_code == 303
    stored = db.session.scalars(select(EvidenceFile).order_by(EvidenceFile.id)).all()
    assert sorted(objects_in(in_bucket, s3_server)) == sorted(f"files/{key_for(f.sha256)}" for f in stored)

    members = make_panel(dispute.company, size=3)
    panel.seat_panel(Actor.staff(manager), dispute, [m.id for m in members])
    panel.send_to_panel(Actor.staff(manager), dispute)
    db.session.commit()
    team_path = re.search(re.escape(PUBLIC_ADDRESS) + r"(/p/v/\S+)",
                          emails(dispute, "panel_invitation")[0].body_text).group(1)
    staff = signed_in_client(manager)
    for (name, sent_bytes), kept in zip(sent, stored):
        assert read_bytes(kept.sha256) == sent_bytes
        for downloads, path in ((staff.client, f"/disputes/{dispute.id}/files/{kept.id}?download=1"),
                                (client, f"{team_path}/files/{kept.id}"),
                                (client, evidence_path(dispute, f"/files/{kept.id}"))):
            with downloads.get(path) as response:
                assert response.status_code == 200, path
                assert response.data == sent_bytes and response.content_length == len(sent_bytes)
                assert response.headers["Content-Disposition"].startswith("attachment")


def test_a_letter_in_the_bucket_downloads_whole_or_from_where_a_download_stopped(
        app, in_bucket, s3_server, client, make_dispute, signed_in_client, manager):
    dispute = make_dispute("outcome_sent")
    db.session.commit()
    letter = outcome.sent_letter(dispute)
    assert f"files/{key_for(letter.pdf_sha256)}" in objects_in(in_bucket, s3_server)
    whole = read_bytes(letter.pdf_sha256)
    assert whole.startswith(b"%PDF")
    staff = signed_in_client(manager)
    with staff.client.get(f"/disputes/{dispute.id}/letters/{letter.id}.pdf") as response:
        assert response.data == whole and response.headers["ETag"] == f'"{letter.pdf_sha256}"'
    with client.get(path_of(dispute) + "/letter.pdf", headers={"Range": "bytes=100-"}) as resumed:
        assert resumed.status_code == 206 and resumed.data == whole[100:]
    with staff.client.get(f"/disputes/{dispute.id}/letters/{letter.id}.pdf",
                          headers={"If-None-Match": f'"{letter.pdf_sha256}"'}) as unchanged:
        assert unchanged.status_code == 304 and unchanged.data == b""


def test_a_bucket_that_refuses_writes_mid_upload_leaves_no_submission_and_no_file(
        app, in_bucket, s3_server, s3_gateway, client, make_dispute):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    before, state = counts(), snapshot(dispute.id)
    s3_gateway.refuse_writes_after = 1  # the first file goes in, then the bucket's policy changes
    form = ResidentForm(client, dispute)
    files = [("one.txt", b"The first page of my notes.\n"), ("two.pdf", pdf("second"))]
    sent = form.send(details="Please keep this.", files=files)
    html = sent.get_data(as_text=True)
    assert sent.status_code == 503
    assert "We could not save your files just now, so nothing was sent" in html and "Please keep this." in html
    assert counts() == before and snapshot(dispute.id) == state
    assert db.session.scalar(select(Submission.id).where(Submission.dispute_id == dispute.id)) is None
    assert objects_in(in_bucket, s3_server) == []

    s3_gateway.refuse_writes_after = None
    assert form.send(details="Please keep this.", files=files).status_code == 303
    stored = db.session.scalars(select(EvidenceFile)).all()
    assert objects_in(in_bucket, s3_server) == sorted(f"files/{key_for(f.sha256)}" for f in stored)


def test_the_health_check_reports_a_bucket_that_is_gone(app, client, s3_settings):
    app.config["STORAGE_URL"] = "s3://no-such-bucket/files"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["storage"].startswith("The bucket no-such-bucket does not exist")


# Start-up ---------------------------------------------------------------------------------------

def _resolver(tmp_path, *args, **environment):
    """Run ``resolver`` as an operator would, with exactly these settings."""
    settings = {k: v for k, v in os.environ.items() if not k.startswith(("RESOLVER_", "AWS_"))}
    settings.update(PYTHONPATH=str(ROOT), RESOLVER_INSTANCE_PATH=str(tmp_path / "instance"),
                    RESOLVER_DATABASE_URL=f"sqlite:///{tmp_path / 'resolver.db'}", **environment)
    return subprocess.run([sys.executable, "-m", "resolver", *args], cwd=tmp_path, env=settings,
                          capture_output=True, text=True, timeout=120)


def _aws(endpoint: str) -> dict:
    return {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "resolver-test",
            "AWS_SECRET_ACCESS_KEY": "resolver-test-secret", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true"}


def test_serve_stops_at_start_with_one_clear_error_when_the_bucket_is_missing(tmp_path, s3_server):
    missing = {"RESOLVER_STORAGE_URL": "s3://no-such-bucket/files", **_aws(s3_server)}
    result = _resolver(tmp_path, "serve", "--port", str(free_port()), **missing)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        f"Error: The bucket no-such-bucket does not exist at {s3_server}: create it, or correct RESOLVER_STORAGE_URL."]
    assert "Resolver is running" not in result.stdout


def test_the_worker_stops_at_start_when_the_storage_cannot_be_reached_but_help_asks_nothing_of_it(
        tmp_path, s3_settings, database_url):
    s3_settings(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "DATABASE_URL": database_url,
                      "STORAGE_URL": "s3://resolver-files/evidence"})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["--help"]).exit_code == 0
    assert "resolver.files" not in app.extensions  # --help opened no place at all
    result = runner.invoke(args=["worker"])
    assert result.exit_code == 1 and "Worker started" not in result.output
    assert result.stderr.strip() == (f"Error: Resolver cannot reach the storage at {os.environ['AWS_ENDPOINT_URL']} "
                                     "for the bucket resolver-files: check AWS_ENDPOINT_URL and the network.")


# Moving files between places --------------------------------------------------------------------

def test_storage_copy_moves_every_file_checked_and_can_run_again(app, tmp_path, bucket_url, s3_server):
    runner = app.test_cli_runner()
    hashes = [store_bytes(data) for data in (b"photo one", b"photo two", BIG)]
    folder = Path(app.config["UPLOAD_FOLDER"])
    corrupted = hashes[1]
    (folder / key_for(corrupted)).write_bytes(b"a disk flipped a bit")  # the name no longer matches

    first = runner.invoke(args=["storage", "copy", "--to", bucket_url])
    assert first.exit_code == 1
    assert f"{key_for(corrupted)}: its bytes do not match its name" in first.stderr
    assert "2 copied, 0 already there, 1 not copied." in first.stdout
    assert objects_in(bucket_url, s3_server) == sorted(f"files/{key_for(h)}" for h in (hashes[0], hashes[2]))

    (folder / key_for(corrupted)).write_bytes(b"photo two")  # put right from a backup
    again = runner.invoke(args=["storage", "copy", "--to", bucket_url])
    assert again.exit_code == 0, again.output
    assert "1 copied, 2 already there, 0 not copied." in again.stdout

    # The company switches to the bucket; a file written to the folder meanwhile is copied from it after.
    hashes.append(store_bytes(b"photo three"))
    app.config["STORAGE_URL"] = bucket_url
    late = runner.invoke(args=["storage", "copy", "--from", str(folder), "--to", bucket_url])
    assert late.exit_code == 0 and "1 copied, 3 already there, 0 not copied." in late.stdout
    assert read_bytes(hashes[3]) == b"photo three"

    # ... and back: one object in the bucket was damaged; everything else is copied to a new folder.
    damaged = hashlib.sha256(b"photo four").hexdigest()
    file_store().write(key_for(damaged), io.BytesIO(b"photo f0ur"))
    back = tmp_path / "back"
    for copied, already in ((4, 0), (0, 4)):  # the second run finds what the first copied
        result = runner.invoke(args=["storage", "copy", "--to", str(back)])
        assert result.exit_code == 1
        assert f"{copied} copied, {already} already there, 1 not copied." in result.stdout
        assert f"{key_for(damaged)}: its bytes do not match its name" in result.stderr
    assert {hashlib.sha256((back / key_for(h)).read_bytes()).hexdigest() for h in hashes} == set(hashes)
    assert not (back / key_for(damaged)).exists()
    assert read_bytes(hashes[2]) == BIG


def test_storage_copy_to_a_missing_bucket_says_so_and_copies_nothing(app, s3_settings):
    store_bytes(b"photo one")
    result = app.test_cli_runner().invoke(args=["storage", "copy", "--to", "s3://no-such-bucket/files"])
    assert result.exit_code == 1
    assert "Error: The bucket no-such-bucket does not exist" in result.output
