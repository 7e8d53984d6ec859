"""Sending the outbox: every queued email reaches the mail server once, intact, even through outages."""
from __future__ import annotations

import itertools
import threading
import uuid
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from resolver import clock
from resolver.extensions import db, mail
from resolver.files import store_bytes
from resolver.mail import LEASE, retry_delay, send_pending
from resolver.models import OutboxEmail

from .conftest import START, free_port

_numbers = itertools.count(1)


def queue(**fields) -> OutboxEmail:
    """An outbox row as queue_email leaves it, with the words written here rather than rendered."""
    n = next(_numbers)
    fields.setdefault("to_addr", f"resident{n}@example.test")
    email = OutboxEmail(
        template="test_note",
        message_id=f"<{uuid.uuid4().hex}@resolver.test>",
        to_name=fields.pop("to_name", "Rosa Resident"),
        subject=fields.pop("subject", f"About your dispute ({n})"),
        body_text=fields.pop("body_text", f"Hello Rosa,\n\nPlease send your side here: http://resolver.test/r/e/{n}\n"),
        body_html=fields.pop("body_html", f'<p>Hello Rosa,</p><p><a href="http://resolver.test/r/e/{n}">Send your side</a></p>'),
        attachments=fields.pop("attachments", []),
        next_attempt_dt=fields.pop("next_attempt_dt", clock.now_utc()),
        **fields,
    )
    db.session.add(email)
    db.session.commit()
    return email


def reload(email: OutboxEmail) -> OutboxEmail:
    return db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.id == email.id).execution_options(populate_existing=True)
    ).one()


class CountingInbox:
    """A test mail server's handler that counts connections and DATA commands, and can refuse."""

    def __init__(self, refuse_data: str | None = None, refuse_rcpt: dict[str, str] | None = None,
                 replies: dict[int, str] | None = None):
        self.sessions = []
        self.replies = replies or {}  # the reply to the n-th DATA command (counting from 1)
        self.data_commands = 0
        self.messages = []
        self.refuse_data = refuse_data
        self.refuse_rcpt = refuse_rcpt or {}
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.data_commands += 1
            if not any(seen is session for seen in self.sessions):
                self.sessions.append(session)
            if self.refuse_data:
                return self.refuse_data
            if self.data_commands in self.replies:
                return self.replies[self.data_commands]
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def to(self, address: str):
        return [m for m in self.messages if address in str(m["To"])]


def send_through(app, port: int) -> None:
    """Point the app's Flask-Mail at another server (Flask-Mail copies its settings when bound)."""
    app.config["MAIL_PORT"] = port
    mail.init_app(app)


@pytest.fixture
def own_server(app):
    """``start(handler, port=None)``: a mail server of the test's own on loopback, stopped at the end."""
    controllers = []

    def start(handler, port: int | None = None) -> Controller:
        controller = Controller(handler, hostname="127.0.0.1", port=port or free_port())
        controller.start()
        controllers.append(controller)
        send_through(app, controller.port)
        return controller

    yield start
    for controller in controllers:
        if controller._thread is not None:
            controller.stop()


def test_a_queued_email_arrives_with_its_text_html_and_message_id(app, smtp):
    email = queue(to_addr="rosa@example.test", subject="Please send your side by Saturday 14 March")

    assert send_pending() == 1

    [message] = smtp.to("rosa@example.test")
    assert message["Message-ID"] == email.message_id
    assert message["Subject"] == "Please send your side by Saturday 14 March"
    assert "Rosa Resident" in message["To"]
    assert "Please send your side here: http://resolver.test/r/e/" in smtp.text_of(message)
    assert '<a href="http://resolver.test/r/e/' in smtp.html_of(message)
    email = reload(email)
    assert (email.status, email.sent_dt, email.attempts, email.claimed_until_dt) == ("sent", START, 0, None)


def test_the_email_comes_from_the_company_and_a_reply_reaches_its_office(app, smtp, company):
    queue(to_addr="rosa@example.test", company_id=company.id)

    send_pending()

    [message] = smtp.to("rosa@example.test")
    assert message["From"].addresses[0].display_name == company.name
    assert message["From"].addresses[0].addr_spec == "resolver@localhost"
    assert message["Reply-To"] == company.contact_email


def test_an_attachment_arrives_byte_for_byte(app, smtp):
    letter = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
    sha256 = store_bytes(letter)
    queue(
        to_addr="rosa@example.test",
        attachments=[{"filename": "Outcome letter.pdf", "content_type": "application/pdf", "sha256": sha256}],
    )

    assert send_pending() == 1

    [message] = smtp.to("rosa@example.test")
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "Outcome letter.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == letter
    assert "Please send your side" in smtp.text_of(message), "the text stays beside the attachment"


def test_an_email_whose_attachment_is_missing_waits_and_the_others_go(app, smtp):
    broken = queue(attachments=[{"filename": "Letter.pdf", "content_type": "application/pdf", "sha256": "0" * 64}])
    fine = queue()

    assert send_pending() == 1

    broken = reload(broken)
    assert (broken.status, broken.attempts) == ("pending", 1)
    assert "attachment is missing" in broken.last_error
    assert smtp.to(broken.to_addr) == []
    assert len(smtp.to(fine.to_addr)) == 1


def test_a_batch_uses_one_connection(app, own_server):
    inbox = CountingInbox()
    own_server(inbox)
    emails = [queue() for _ in range(4)]

    assert send_pending() == 4

    assert inbox.data_commands == 4
    assert len(inbox.sessions) == 1, "all four went over one SMTP connection"
    assert sorted(m["Message-ID"] for m in inbox.messages) == sorted(e.message_id for e in emails)


def test_a_refusing_server_delays_mail_and_each_message_arrives_once_later(app, smtp):
    smtp.refuse = True
    first, second = queue(), queue()

    assert send_pending() == 0
    assert smtp.messages == []
    for email in map(reload, (first, second)):
        assert email.status == "pending"
        assert email.attempts == 1
        assert "451" in email.last_error
        assert email.next_attempt_dt == START + timedelta(minutes=1)
        assert email.claimed_until_dt is None

    assert send_pending() == 0, "nothing is tried again before its time"
    assert reload(first).attempts == 1

    clock.advance(timedelta(minutes=1))
    assert send_pending() == 0, "still refusing"
    assert reload(first).attempts == 2
    assert reload(first).next_attempt_dt == START + timedelta(minutes=1 + 2), "the wait doubles"

    smtp.refuse = False
    clock.advance(timedelta(minutes=2))
    assert send_pending() == 2
    assert send_pending() == 0
    assert len(smtp.to(first.to_addr)) == 1
    assert len(smtp.to(second.to_addr)) == 1
    assert reload(first).status == reload(second).status == "sent"


def test_a_server_that_is_down_delays_mail_and_nothing_is_lost_or_doubled(app, own_server):
    server = own_server(CountingInbox())
    port = server.port
    server.stop()
    emails = [queue() for _ in range(3)]

    assert send_pending() == 0
    for email in map(reload, emails):
        assert email.status == "pending"
        assert email.attempts == 1
        assert "could not connect" in email.last_error
        assert email.next_attempt_dt == START + timedelta(minutes=1)

    inbox = CountingInbox()
    own_server(inbox, port=port)  # the server comes back where it was
    assert send_pending() == 0, "the retry waits for its time"

    clock.advance(timedelta(minutes=1))
    assert send_pending() == 3
    assert send_pending() == 0
    clock.advance(timedelta(hours=2))
    assert send_pending() == 0
    for email in emails:
        assert len(inbox.to(email.to_addr)) == 1
    assert len(inbox.messages) == 3


def test_without_a_mail_server_email_waits_and_says_why(app):
    app.config["MAIL_SERVER"] = None
    mail.init_app(app)
    email = queue()

    assert send_pending() == 0

    email = reload(email)
    assert (email.status, email.attempts) == ("pending", 1)
    assert "no mail server is set" in email.last_error


def test_a_server_refusing_everything_is_not_asked_again_and_again(app, own_server):
    inbox = CountingInbox(refuse_data="451 4.3.0 Mail system busy")
    own_server(inbox)
    emails = [queue() for _ in range(6)]

    assert send_pending() == 0

    assert inbox.data_commands == 3, "the batch stops after three refusals in a row"
    for email in map(reload, emails):
        assert (email.status, email.attempts) == ("pending", 1)
        assert email.next_attempt_dt == START + timedelta(minutes=1)
        assert "451" in email.last_error


def test_a_server_closing_mid_batch_keeps_what_went_and_the_rest_waits(app, own_server):
    inbox = CountingInbox(replies={2: "421 4.3.2 Shutting down"})
    own_server(inbox)
    first, second, third = queue(), queue(), queue()

    assert send_pending() == 1

    assert inbox.data_commands == 2, "nothing more was tried after the server said it was closing"
    assert reload(first).status == "sent"
    for email in map(reload, (second, third)):
        assert (email.status, email.attempts) == ("pending", 1)
        assert "421" in email.last_error
    clock.advance(timedelta(minutes=1))
    assert send_pending() == 2
    assert [len(inbox.to(e.to_addr)) for e in (first, second, third)] == [1, 1, 1]


def test_an_address_refused_for_good_is_marked_failed_and_the_rest_go(app, own_server):
    inbox = CountingInbox(refuse_rcpt={"nobody@example.test": "550 5.1.1 No such mailbox"})
    own_server(inbox)
    bad = queue(to_addr="nobody@example.test", dispute_id=None)
    good = queue(to_addr="rosa@example.test")

    assert send_pending() == 1

    bad = reload(bad)
    assert bad.status == "failed"
    assert "550" in bad.last_error and "No such mailbox" in bad.last_error
    assert reload(good).status == "sent"
    assert len(inbox.to("rosa@example.test")) == 1
    clock.advance(timedelta(hours=2))
    assert send_pending() == 0, "a failed email is not tried again"


def test_an_email_already_sent_is_never_sent_again(app, smtp):
    email = queue()
    assert send_pending() == 1
    earlier = queue(status="sent", sent_dt=START - timedelta(days=1), next_attempt_dt=START - timedelta(days=1))

    clock.advance(timedelta(days=1))
    assert send_pending() == 0

    assert len(smtp.to(email.to_addr)) == 1
    assert smtp.to(earlier.to_addr) == []


def test_an_email_claimed_by_a_worker_that_died_goes_when_its_lease_ends(app, smtp):
    email = queue()
    email.claimed_until_dt = START + LEASE  # another worker took it, then vanished
    db.session.commit()

    assert send_pending() == 0
    clock.advance(LEASE + timedelta(seconds=1))
    assert send_pending() == 1
    assert len(smtp.to(email.to_addr)) == 1


def test_a_batch_out_of_time_gives_its_emails_back_untouched(app, smtp, monkeypatch):
    import resolver.mail.sending

    emails = [queue() for _ in range(2)]
    monkeypatch.setattr(resolver.mail.sending, "BATCH_SHARE_OF_LEASE", 0)  # time is up before the first message
    assert send_pending() == 0
    for email in map(reload, emails):
        assert (email.status, email.attempts, email.claimed_until_dt) == ("pending", 0, None)

    monkeypatch.undo()
    assert send_pending() == 2, "the next round takes them at once, without waiting for the lease"
    assert len(smtp.messages) == 2


def test_two_workers_racing_send_each_email_once(app, smtp):
    emails = [queue() for _ in range(20)]
    start_together = threading.Barrier(2)
    results, errors = [], []

    def work():
        try:
            with app.app_context():
                start_together.wait()
                while sent := send_pending(limit=2):  # small batches, so the two interleave
                    results.append((threading.current_thread().name, sent))
        except Exception as error:  # reported below, so a failure is not lost in the thread
            errors.append(error)

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert errors == []
    assert sum(sent for _name, sent in results) == 20
    for email in emails:
        assert len(smtp.to(email.to_addr)) == 1, f"{email.to_addr} got exactly one copy"
    assert len(smtp.messages) == 20


def test_the_wait_between_attempts_doubles_up_to_an_hour():
    assert [retry_delay(n) for n in range(1, 9)] == [
        timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 60, 60)
    ]
    assert retry_delay(10_000) == timedelta(hours=1)


def test_a_long_paragraph_arrives_whole(app, smtp):
    """A resident's paragraph can be longer than SMTP's 998-character line; the email still goes."""
    paragraph = "The carpet was clean when I moved out, and I have the photos to show it. " * 30
    email = queue(body_text=f"You wrote:\n\n{paragraph}\n", body_html=f"<p>You wrote:</p><p>{paragraph}</p>")
    assert len(paragraph) > 2000
    assert send_pending() == 1
    assert reload(email).status == "sent"
    [message] = smtp.to(email.to_addr)
    assert paragraph.strip() in smtp.text_of(message)
    assert paragraph.strip() in smtp.html_of(message)
