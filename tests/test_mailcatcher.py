"""The local mail catcher and the Mailbox page: on one machine, Resolver's email is kept and shown to staff."""
from __future__ import annotations

import re
import socket
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from resolver import clock
from resolver.extensions import db
from resolver.files import store_bytes
from resolver.mail import send_pending
from resolver.mailcatcher import (
    MailCatcherError,
    list_messages,
    mailbox_folder,
    read_attachment,
    read_message,
    start_mail_catcher,
    store_message,
)
from resolver.models import OutboxEmail
from resolver.web.mailbox.views import linkify
from resolver.web.manager.auth import set_password

from .conftest import free_port

LETTER = b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


@pytest.fixture
def catcher(app):
    app.config["LOCAL_MAIL_PORT"] = free_port()
    controller = start_mail_catcher(app)
    yield controller
    controller.stop()


def queue(company=None, *, to_addr="rosa@example.test", subject="Please send your side by Saturday 14 March",
          attachments=()) -> OutboxEmail:
    email = OutboxEmail(
        company_id=company.id if company is not None else None,
        template="test_note",
        message_id=f"<{uuid.uuid4().hex}@resolver.test>",
        to_addr=to_addr,
        to_name="Rosa Resident",
        subject=subject,
        body_text="Hello Rosa,\n\nPlease send your side (http://resolver.test/r/e/tok3n).\n\nThank you.\n",
        body_html='<p>Hello Rosa,</p><p><a href="http://resolver.test/r/e/tok3n">Send your side</a></p>',
        attachments=[{"filename": "Letter.pdf", "content_type": "application/pdf", "sha256": store_bytes(LETTER)}]
        if attachments else [],
        next_attempt_dt=clock.now_utc(),
    )
    db.session.add(email)
    db.session.commit()
    return email


def sign_in(client, user, password="correct horse battery"):
    set_password(user, password)
    db.session.commit()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": user.email, "password": password, "csrf_token": token})
    assert response.status_code == 302, "signed in"


# The catcher ---------------------------------------------------------------------------------


def test_the_catcher_keeps_what_resolver_sends(app, catcher):
    assert (app.config["MAIL_SERVER"], app.config["MAIL_PORT"]) == ("127.0.0.1", catcher.port)
    email = queue(attachments=True)

    assert send_pending() == 1

    [caught] = list_messages()
    assert caught.subject == "Please send your side by Saturday 14 March"
    assert caught.to_addresses == ["rosa@example.test"]
    assert caught.message_id == email.message_id
    assert caught.path.parent == Path(app.instance_path) / "mailbox"
    assert not list(caught.path.parent.glob(".incoming-*")), "no half-written files are left behind"
    message = read_message(caught.id)
    assert "Please send your side (http://resolver.test/r/e/tok3n)." in message.text
    assert '<a href="http://resolver.test/r/e/tok3n">' in message.html
    [attachment] = message.attachments
    assert (attachment.filename, attachment.content_type, attachment.size) == ("Letter.pdf", "application/pdf", len(LETTER))
    assert read_attachment(caught.id, 0) == ("Letter.pdf", "application/pdf", LETTER)


def test_the_newest_message_comes_first(app):
    folder = mailbox_folder()
    raw = "From: a@resolver.test\r\nTo: {0}\r\nSubject: {0}\r\n\r\nHello\r\n"
    store_message(folder, raw.format("first@example.test").encode())
    store_message(folder, raw.format("second@example.test").encode())  # the same moment on the clock
    clock.advance(timedelta(minutes=5))
    store_message(folder, raw.format("third@example.test").encode())

    assert [m.subject for m in list_messages()] == ["third@example.test", "second@example.test", "first@example.test"]
    assert list_messages()[0].received_dt == clock.now_utc()


def test_unknown_or_crafted_message_names_find_nothing(app):
    store_message(mailbox_folder(), b"Subject: hi\r\n\r\nHello\r\n")
    assert read_message("../secret_key") is None
    assert read_message("20260309T160000000000Z-000001-00000000") is None
    assert read_attachment(list_messages()[0].id, 3) is None


def test_a_taken_port_is_reported_clearly(app):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        app.config["LOCAL_MAIL_PORT"] = taken.getsockname()[1]
        with pytest.raises(MailCatcherError, match="RESOLVER_LOCAL_MAIL_PORT"):
            start_mail_catcher(app)


# The Mailbox page ----------------------------------------------------------------------------


def test_the_mailbox_is_for_signed_in_staff_only(client):
    response = client.get("/mailbox/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_staff_read_their_companys_mail_and_follow_its_links(app, client, catcher, company, manager, make_company):
    mine = queue(company, attachments=True)
    queue(make_company(), to_addr="someone-else@example.test", subject="Another company's business")
    assert send_pending() == 2
    sign_in(client, manager)

    inbox = client.get("/mailbox/").get_data(as_text=True)
    assert "Resolver is keeping its email on this machine" in inbox
    assert "Please send your side by Saturday 14 March" in inbox
    assert "rosa@example.test" in inbox
    assert "Another company" not in inbox and "someone-else" not in inbox

    [caught] = [m for m in list_messages() if m.message_id == mine.message_id]
    # Whose mail it is comes from the outbox, by its Message-ID: the email itself names no company.
    assert caught.company_id == company.id
    assert b"X-Resolver" not in client.get(f"/mailbox/{caught.id}/original.eml").data
    page = client.get(f"/mailbox/{caught.id}").get_data(as_text=True)
    assert ('<a href="http://resolver.test/r/e/tok3n" target="_blank" rel="noopener noreferrer">'
            "http://resolver.test/r/e/tok3n</a>).") in page, "the link is clickable, without the closing bracket"
    iframe = re.search(r"<iframe[^>]*>", page, re.S).group(0)
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in iframe
    assert "allow-scripts" not in iframe and "allow-same-origin" not in iframe
    assert f'src="/mailbox/{caught.id}/html"' in iframe
    framed = client.get(f"/mailbox/{caught.id}/html")
    assert framed.get_data(as_text=True).startswith('<base target="_blank"><p>Hello Rosa')
    # Its own inline styles, as an email program shows them; no script; framed by the mailbox alone.
    assert "style-src 'unsafe-inline'" in framed.headers["Content-Security-Policy"]
    assert "sandbox" in framed.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in framed.headers["Content-Security-Policy"]

    download = client.get(f"/mailbox/{caught.id}/attachments/0")
    assert download.status_code == 200
    assert download.data == LETTER
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert client.get(f"/mailbox/{caught.id}/attachments/1").status_code == 404

    [theirs] = [m for m in list_messages() if m.subject == "Another company's business"]
    assert client.get(f"/mailbox/{theirs.id}").status_code == 404
    assert client.get(f"/mailbox/{theirs.id}/attachments/0").status_code == 404
    assert client.get("/mailbox/no-such-message").status_code == 404


def test_an_empty_mailbox_says_what_to_do(app, client, manager):
    sign_in(client, manager)
    page = client.get("/mailbox/").get_data(as_text=True)
    assert "No email yet" in page
    assert "Email goes out through the mail server at 127.0.0.1:" in page, "no catcher runs in this test"

    app.config["MAIL_SERVER"] = None
    assert "No mail server is set, so email waits in the outbox" in client.get("/mailbox/").get_data(as_text=True)


def test_waiting_email_is_mentioned_and_the_page_refreshes_until_it_arrives(app, client, catcher, company, manager):
    queue(company)
    sign_in(client, manager)
    page = client.get("/mailbox/").get_data(as_text=True)
    assert "1 email is waiting to go out" in page
    assert '<meta http-equiv="refresh" content="5">' in page

    send_pending()
    page = client.get("/mailbox/").get_data(as_text=True)
    assert "waiting to go out" not in page and 'http-equiv="refresh"' not in page
    assert "Please send your side by Saturday 14 March" in page


def test_links_in_plain_text_become_links_and_nothing_else_does():
    html = str(linkify('See https://resolver.test/r/e/abc?x=1&y=2, then <script>alert("hi")</script>.'))
    assert ('<a href="https://resolver.test/r/e/abc?x=1&amp;y=2" target="_blank" rel="noopener noreferrer">'
            "https://resolver.test/r/e/abc?x=1&amp;y=2</a>, then &lt;script&gt;") in html
    assert "<script>" not in html


def test_an_invitation_shows_the_reply_address_a_reply_to_it_goes_to(app, client, catcher, manager, make_dispute):
    """The README's way to try a reply on one machine starts from the invitation's Reply-To on this page."""
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    assert send_pending() >= 1
    sign_in(client, manager)

    [invitation] = [m for m in list_messages() if m.dispute_id == dispute.id and m.subject.startswith("Please send us")]
    page = client.get(f"/mailbox/{invitation.id}").get_data(as_text=True)

    shown = re.search(r'<dd class="mail-reply-to">(.*?)</dd>', page)
    assert shown and re.search(r"resolver\+[0-9a-z-]+@", shown.group(1)), page[:2000]
