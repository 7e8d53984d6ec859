"""How a resident's emailed reply reaches Resolver: through `serve`'s local mail catcher on one machine,
and from a real mailbox over IMAP, read by the worker, in production.

The mailbox is tests/imapserver.py, a small IMAP4rev1 server the run starts on loopback (why not
dovecot: see its docstring). Replies are sent through real SMTP and IMAP connections; the receipts
come back through the suite's SMTP server.
"""
from __future__ import annotations

import smtplib
import ssl
import subprocess
import threading
import time
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

import pytest
from sqlalchemy import select

from resolver import clock, create_app, inbound
from resolver.extensions import db
from resolver.inbound.imap import MailboxSettings, MailboxSettingsError, poll_mailbox
from resolver.mail import send_pending
from resolver.mailcatcher import list_messages, start_mail_catcher
from resolver.models import Submission
from resolver.worker import Worker, run_round

from .conftest import free_port
from .dispute_checks import actions, templates, timers
from .imapserver import ImapServer
from .test_resident_support import pdf, photo

RECEIPT = "We have your side"
SAID = "The carpet was clean when I left: the photo and the move-out report show it."


@pytest.fixture(scope="session")
def imap_server():
    server = ImapServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(app, imap_server):
    """The loopback IMAP server, emptied, answering, and set as this app's mailbox."""
    with imap_server.mailbox.lock:
        imap_server.mailbox.messages.clear()
    imap_server.refuse_login = imap_server.hang = False
    app.config.update(IMAP_HOST="127.0.0.1", IMAP_PORT=imap_server.port, IMAP_SECURITY="none",
                      IMAP_USER=imap_server.user, IMAP_PASSWORD=imap_server.password, IMAP_TIMEOUT=2.0)
    yield imap_server
    imap_server.refuse_login = imap_server.hang = False


@pytest.fixture
def invited(make_dispute, resident, smtp):
    """A dispute waiting for the resident's side, and the invitation they received."""
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    send_pending()
    [invitation] = [m for m in smtp.to(resident.email) if m["Subject"].startswith("Please send us your side")]
    smtp.clear()
    return dispute, invitation


def reply(invitation, resident) -> bytes:
    """The resident answers the invitation from their mail program, with a photo and a PDF."""
    message = EmailMessage()
    message["From"] = formataddr((resident.name, resident.email))
    message["To"] = invitation["Reply-To"]
    message["Subject"] = "Re: " + invitation["Subject"]
    message["Date"] = formatdate(clock.now_utc().timestamp())
    message["Message-ID"] = make_msgid(domain="resident.example")
    message["In-Reply-To"] = message["References"] = invitation["Message-ID"]
    message.set_content(f"{SAID}\n\nPlease refund the $150 cleaning charge.\n\n"
                        f"On Monday, {invitation['From']} wrote:\n> Please send us your side\n")
    message.add_attachment(photo(), maintype="image", subtype="jpeg", filename="carpet.jpg")
    message.add_attachment(pdf(), maintype="application", subtype="pdf", filename="move-out report.pdf")
    return message.as_bytes(policy=policy.SMTP)  # CRLF line ends, as on the wire


def submissions(dispute) -> list[Submission]:
    db.session.expire_all()
    return list(db.session.scalars(select(Submission).where(Submission.dispute_id == dispute.id)))


def assert_filed_once(dispute, smtp, resident) -> None:
    """One submission with the reply's words and both files, one receipt, one set of timers."""
    [submission] = submissions(dispute)
    assert SAID in submission.details
    assert "wrote:" not in submission.details  # the quoted invitation is not the resident's side
    assert sorted(f.original_name for f in submission.files) == ["carpet.jpg", "move-out report.pdf"]
    assert actions(dispute).count("submit_evidence") == 1
    assert templates(dispute).count("evidence_receipt") == 1
    assert len([m for m in smtp.to(resident.email) if m["Subject"].startswith(RECEIPT)]) == 1
    # The reply clock was set once: no timer made twice, none made and then cancelled.
    reply_timers = [timer.kind for timer in timers(dispute) if timer.window == "reply"]
    assert reply_timers and len(reply_timers) == len(set(reply_timers)), reply_timers


# On one machine: serve's mail catcher ------------------------------------------------------------


def test_a_reply_sent_to_the_local_catcher_becomes_one_submission_with_its_photo_and_pdf(
    app, invited, resident, smtp
):
    dispute, invitation = invited
    app.config["LOCAL_MAIL_PORT"] = free_port()
    catcher = start_mail_catcher(app)
    try:
        with smtplib.SMTP("127.0.0.1", catcher.port, timeout=30) as connection:
            refused = connection.sendmail(resident.email, [invitation["Reply-To"]], reply(invitation, resident))
        assert refused == {}

        [submission] = submissions(dispute)
        assert SAID in submission.details
        assert sorted(f.original_name for f in submission.files) == ["carpet.jpg", "move-out report.pdf"]
        assert dispute.state == "evidence_received"
        # The reply is Resolver's to read, not mail Resolver sent: the Mailbox page does not list it.
        assert [m.subject for m in list_messages()] == []
        # The receipt goes out as every email does, and on one machine the Mailbox page shows it.
        send_pending()
        [receipt] = [m for m in list_messages() if m.subject.startswith(RECEIPT)]
        assert receipt.to_addresses == [resident.email]
        assert not [m for m in list_messages() if m.subject.startswith("Re:")]
    finally:
        catcher.stop()


def test_a_reply_copied_to_the_manager_is_filed_once_and_the_managers_copy_kept(app, invited, resident, manager):
    dispute, invitation = invited
    app.config["LOCAL_MAIL_PORT"] = free_port()
    catcher = start_mail_catcher(app)
    try:
        with smtplib.SMTP("127.0.0.1", catcher.port, timeout=30) as connection:
            connection.sendmail(resident.email, [invitation["Reply-To"], manager.email], reply(invitation, resident))
        assert len(submissions(dispute)) == 1
        [copy] = [m for m in list_messages() if m.subject.startswith("Re:")]
        assert copy.sender.endswith(f"<{resident.email}>")
    finally:
        catcher.stop()


def test_the_catcher_still_keeps_other_mail_and_asks_the_sender_to_retry_when_resolver_cannot_take_a_reply(
    app, invited, resident, monkeypatch
):
    dispute, invitation = invited
    app.config["LOCAL_MAIL_PORT"] = free_port()
    catcher = start_mail_catcher(app)
    try:
        with smtplib.SMTP("127.0.0.1", catcher.port, timeout=30) as connection:
            connection.sendmail("office@example.test", ["someone@example.test"], b"Subject: Hello\r\n\r\nHi.\r\n")
            assert [m.subject for m in list_messages()] == ["Hello"]

            def database_away(raw, *, via):
                raise OSError("the database is away")

            monkeypatch.setattr("resolver.inbound.receive", database_away)
            with pytest.raises(smtplib.SMTPDataError) as refused:
                connection.sendmail(resident.email, [invitation["Reply-To"]], reply(invitation, resident))
        assert refused.value.smtp_code == 451  # the sender's server keeps it and tries again
        assert submissions(dispute) == [] and [m.subject for m in list_messages()] == ["Hello"]
    finally:
        catcher.stop()


# In production: the worker reads the mailbox over IMAP -------------------------------------------


def worker_app(app):
    """Another worker: its own app and database connections on the same database, files and mailbox."""
    names = ("DATABASE_URL", "SECRET_KEY", "MAIL_SERVER", "MAIL_PORT", "PUBLIC_BASE_URL", "IMAP_HOST",
             "IMAP_PORT", "IMAP_SECURITY", "IMAP_USER", "IMAP_PASSWORD", "IMAP_TIMEOUT")
    return create_app({"TESTING": True, "INSTANCE_PATH": app.instance_path,
                       **{name: app.config[name] for name in names}})


def until(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def run_workers(apps, *, until_done) -> None:
    """A worker loop for each app, in threads of their own, all running until ``until_done()`` and
    then three more rounds each (time for a second filing, receipt or timer to show up)."""
    workers = [Worker(worker_app, poll_seconds=0.05) for worker_app in apps]
    threads = [worker.start_in_thread() for worker in workers]
    try:
        until(until_done)
        enough = [worker.rounds + 3 for worker in workers]
        until(lambda: all(worker.rounds >= count for worker, count in zip(workers, enough)))
    finally:
        for worker in workers:
            worker.stop()
        for thread in threads:
            thread.join(timeout=60)


def test_a_reply_in_the_mailbox_is_filed_once_with_one_receipt_and_one_set_of_timers_by_two_workers(
    app, invited, resident, mailbox, smtp, monkeypatch
):
    dispute, invitation = invited
    uid = mailbox.deliver(reply(invitation, resident))
    # Both workers take the message before either has marked it: each hands it over, at the same moment.
    handed, meet, receive = [], threading.Barrier(2, timeout=10), inbound.receive

    def at_the_same_moment(raw, *, via):
        handed.append(via)
        try:
            meet.wait()
        except threading.BrokenBarrierError:  # the other never came: the check on `handed` says so
            pass
        return receive(raw, via=via)

    monkeypatch.setattr(inbound, "receive", at_the_same_moment)
    workers = [worker_app(app), worker_app(app)]
    try:
        run_workers(workers, until_done=lambda: "\\Seen" in mailbox.mailbox.flags_of(uid)
                    and any(m["Subject"].startswith(RECEIPT) for m in smtp.to(resident.email)))
    finally:
        for worker in workers:
            with worker.app_context():
                db.engine.dispose()

    assert handed == ["imap", "imap"]
    assert_filed_once(dispute, smtp, resident)
    assert "\\Seen" in mailbox.mailbox.flags_of(uid)  # handled: the next round leaves it alone
    assert run_round(app).received == 0
    assert len(submissions(dispute)) == 1


def test_a_message_is_marked_seen_only_after_it_was_filed(app, invited, resident, mailbox, monkeypatch):
    dispute, invitation = invited
    uid = mailbox.deliver(reply(invitation, resident))

    def database_away(raw, *, via):
        raise OSError("the database is away")

    with monkeypatch.context() as patch:
        patch.setattr("resolver.inbound.receive", database_away)
        assert poll_mailbox(app) == 0
    assert "\\Seen" not in mailbox.mailbox.flags_of(uid)  # left for the next round

    assert poll_mailbox(app) == 1
    assert len(submissions(dispute)) == 1 and "\\Seen" in mailbox.mailbox.flags_of(uid)


@pytest.mark.parametrize("trouble", ["down", "refuses the login", "stops answering"])
def test_a_mailbox_in_trouble_leaves_the_worker_going_and_the_reply_is_filed_on_a_later_round(
    app, invited, resident, mailbox, smtp, trouble, caplog
):
    dispute, invitation = invited
    mailbox.deliver(reply(invitation, resident))
    # Two days before the window closes the resident's reminder is due: work that must not wait.
    clock.freeze(dispute.evidence_due_dt - timedelta(days=2) + timedelta(minutes=1))
    if trouble == "down":
        app.config["IMAP_PORT"] = free_port()  # nothing listens there
    elif trouble == "refuses the login":
        mailbox.refuse_login = True
    else:
        mailbox.hang = True
        app.config["IMAP_TIMEOUT"] = 0.5

    started = time.monotonic()
    worked = run_round(app)
    assert time.monotonic() - started < 10
    assert worked.fired >= 1 and worked.sent >= 1 and worked.received == 0
    assert "could not read the mailbox" in caplog.text  # said in the worker's log, not raised
    assert [m["Subject"] for m in smtp.to(resident.email)] != []  # the reminder went out
    assert submissions(dispute) == []

    app.config["IMAP_PORT"], app.config["IMAP_TIMEOUT"] = mailbox.port, 2.0
    mailbox.refuse_login = mailbox.hang = False
    assert run_round(app).received == 0  # the mailbox is left alone for a short pause...
    clock.freeze(clock.now_utc() + timedelta(minutes=1))
    assert run_round(app).received == 1  # ...then read again
    assert len(submissions(dispute)) == 1
    assert run_round(app).sent >= 1  # the receipt
    assert len([m for m in smtp.to(resident.email) if m["Subject"].startswith(RECEIPT)]) == 1


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    """A certificate for 127.0.0.1, signed by itself (the tests trust it through SSL_CERT_FILE, which
    is where OpenSSL looks for the trusted authorities Resolver's default TLS context checks against)."""
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"),
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return folder / "cert.pem", context


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_a_mailbox_over_tls_is_read_only_when_its_certificate_is_trusted(
    app, invited, resident, certificate, security, monkeypatch
):
    dispute, invitation = invited
    cert_file, context = certificate
    server = ImapServer(**{security: context})
    server.start()
    try:
        server.deliver(reply(invitation, resident))
        app.config.update(IMAP_HOST="127.0.0.1", IMAP_PORT=server.port, IMAP_SECURITY=security,
                          IMAP_USER=server.user, IMAP_PASSWORD=server.password, IMAP_TIMEOUT=5.0)
        assert poll_mailbox(app) == 0 and server.logins == 0  # a certificate nobody vouches for: no password sent
        monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
        clock.freeze(clock.now_utc() + timedelta(minutes=1))
        assert poll_mailbox(app) == 1 and server.logins == 1
        assert len(submissions(dispute)) == 1
    finally:
        server.stop()


def test_a_password_is_never_sent_in_clear_to_another_machine(app, caplog):
    settings = {"IMAP_HOST": "mail.example.com", "IMAP_SECURITY": "none", "IMAP_USER": "resolver", "IMAP_PASSWORD": "x"}
    with pytest.raises(MailboxSettingsError, match="in clear"):
        MailboxSettings.from_config(settings)
    app.config.update(settings)
    assert poll_mailbox(app) == 0
    assert "replies by email are not read" in caplog.text
    assert MailboxSettings.from_config({"IMAP_HOST": "mail.example.com"}).port == 993  # TLS by default

