"""Evidence by replying to the email: a resident answers the invitation with their side and photos,
and it becomes a submission exactly as if it came through the form. Mail no person wrote, mail that
matches no open window and hostile mail are each filed nowhere, handled, and nothing is lost."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from sqlalchemy import func, select

from resolver import clock
from resolver.extensions import db
from resolver.files import file_exists
from resolver.inbound import receive
from resolver.inbound.addresses import reply_address, reply_token
from resolver.links import current_link
from resolver.mail import send_pending
from resolver.models import Dispute, EvidenceFile, InboundMail, OutboxEmail, Submission

from .dispute_checks import emails, move_to, pending
from .test_resident_support import EXECUTABLE, pdf, photo, plain_zip


def invitation(dispute: Dispute) -> OutboxEmail:
    [email] = emails(dispute, "evidence_invitation")
    return email


def reply(dispute: Dispute, text: str = "The carpet was already stained when we moved in.", *,
          files: list[tuple[str, bytes, str]] = (), html: str | None = None, to: str | None = None,
          sender: str | None = None, **headers) -> bytes:
    """The resident's answer to the invitation, as their mail program would send it."""
    asked = invitation(dispute)
    message = EmailMessage()
    message["From"] = sender or f"{dispute.resident.name} <{dispute.resident.email}>"
    message["To"] = to or reply_address(asked.reply_token)
    message["Subject"] = f"Re: {asked.subject}"
    message["Date"] = format_datetime(clock.now_utc())
    message["Message-ID"] = make_msgid(domain="mail.example.net")
    message["In-Reply-To"] = asked.message_id
    message["References"] = asked.message_id
    for name, value in headers.items():  # in place of the usual one; "" leaves it out
        del message[name.replace("_", "-")]
        if value:
            message[name.replace("_", "-")] = value
    if text is not None:
        message.set_content(text)
    if html is not None:
        if text is None:
            message.set_content(html, subtype="html")
        else:
            message.add_alternative(html, subtype="html")
    for name, data, content_type in files:
        main, sub = content_type.split("/")
        message.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return bytes(message)


def submissions(dispute: Dispute) -> list[Submission]:
    return list(db.session.scalars(select(Submission).where(Submission.dispute_id == dispute.id)))


def answers() -> list[OutboxEmail]:
    return list(db.session.scalars(select(OutboxEmail).where(OutboxEmail.template == "reply_not_filed")
                                   .order_by(OutboxEmail.id)))  # in the order they were queued


def inbound(received) -> InboundMail:
    return db.session.get(InboundMail, received.inbound_id)


def nothing_filed(dispute: Dispute) -> None:
    db.session.expire_all()
    assert submissions(dispute) == []
    assert db.session.scalar(select(func.count(EvidenceFile.id))) == 0
    assert db.session.get(Dispute, dispute.id).state == "awaiting_evidence"
    assert emails(dispute, "evidence_receipt") == []


# The reply address -------------------------------------------------------------------------------

def test_the_invitation_can_simply_be_answered_at_a_signed_reply_address(waiting, resident, smtp):
    send_pending()
    [message] = smtp.to(resident.email)
    link = current_link(waiting.id, "evidence", resident_id=resident.id)
    address = message["Reply-To"].addresses[0].addr_spec
    assert address == f"resolver+{reply_token(link)}@localhost"
    assert len(address.split("@")[0]) <= 64
    assert "simply reply to this email" in " ".join(smtp.text_of(message).split())
    assert "simply reply to this email" in " ".join(smtp.html_of(message).split())


def test_the_reply_address_follows_the_setting(app, waiting):
    app.config["REPLY_ADDRESS"] = "Evidence <evidence@replies.example.com>"
    assert reply_address("7-abc") == "evidence+7-abc@replies.example.com"


# A reply that is filed -----------------------------------------------------------------------------

def test_a_reply_with_a_photo_and_a_pdf_becomes_one_submission_with_its_receipt_and_clock(waiting, resident):
    raw = reply(waiting, files=[("carpet.jpg", photo(), "image/jpeg"), ("inspection.pdf", pdf(), "application/pdf")])

    first = receive(raw, via="imap")
    again = receive(raw, via="local")  # the same message handed over twice: filed once

    assert (first.outcome, again.outcome) == ("filed", "duplicate")
    assert again.inbound_id == first.inbound_id and not again.is_new
    db.session.expire_all()
    [submission] = submissions(waiting)
    assert submission.details == "The carpet was already stained when we moved in."
    assert sorted(f.original_name for f in submission.files) == ["carpet.jpg", "inspection.pdf"]
    [photo_file] = [f for f in submission.files if f.content_type == "image/jpeg"]
    assert photo_file.received_sha256 is not None  # the photo went through the form's clean-up
    dispute = db.session.get(Dispute, waiting.id)
    assert dispute.state == "evidence_received"
    assert dispute.evidence_received_dt == clock.now_utc()
    assert any(kind.startswith("reply") for kind in pending(dispute))  # the same 7-day clock
    [receipt] = emails(dispute, "evidence_receipt")
    assert receipt.to_addr == resident.email
    assert len(emails(dispute, "evidence_arrived")) == 1
    assert db.session.scalar(select(func.count(InboundMail.id))) == 1
    assert answers() == []


def test_two_workers_handing_over_the_same_message_at_once_file_it_once(waiting, monkeypatch):
    from resolver.inbound import filing

    raw = reply(waiting, files=[("carpet.jpg", photo(), "image/jpeg")])
    assert receive(raw, via="imap").outcome == "filed"  # the first worker's, committed
    # The second worker looked before the first committed: it finds nothing, files, and collides.
    looks = iter([None])
    real = filing._recorded
    monkeypatch.setattr(filing, "_recorded", lambda key: next(looks, "unused") and real(key))
    assert receive(raw, via="imap").outcome == "duplicate"
    db.session.expire_all()
    assert len(submissions(waiting)) == 1
    assert len(emails(waiting, "evidence_receipt")) == 1
    assert db.session.scalar(select(func.count(EvidenceFile.id))) == 1


def test_a_database_failing_mid_filing_raises_for_the_transport_and_leaves_nothing(waiting, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from resolver.inbound import filing

    real_submit = filing.submit_evidence

    def submit_then_lose_the_database(*args, **kwargs):
        real_submit(*args, **kwargs)
        raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    data = pdf("sent as the database went away")
    raw = reply(waiting, files=[("report.pdf", data, "application/pdf")])
    monkeypatch.setattr(filing, "submit_evidence", submit_then_lose_the_database)
    with pytest.raises(OperationalError):  # the transport keeps the message and hands it over again
        receive(raw, via="imap")
    nothing_filed(waiting)
    assert db.session.scalar(select(func.count(InboundMail.id))) == 0
    assert not file_exists(hashlib.sha256(data).hexdigest())

    monkeypatch.setattr(filing, "submit_evidence", real_submit)
    assert receive(raw, via="imap").outcome == "filed"  # handed over again: filed, once


def test_a_mail_system_that_capitalises_the_address_still_reaches_the_dispute(waiting):
    address = reply_address(invitation(waiting).reply_token).upper()
    assert receive(reply(waiting, to=address, In_Reply_To="", References=""), via="imap").outcome == "filed"


def test_a_reply_without_the_token_is_found_by_the_email_it_answers(waiting):
    received = receive(reply(waiting, to="resolver@localhost"), via="local")
    assert received.outcome == "filed"
    assert len(submissions(waiting)) == 1


def test_only_the_new_words_count_not_the_quoted_email_or_the_signature(waiting):
    text = ("Hello,\n\nThe stain was there on the day we moved in.\nI have the move-in photos.\n\n"
            "-- \nJane Resident\n07700 900123\n\n"
            "On Mon, 2 Mar 2026 at 09:00, Resolver <resolver@localhost> wrote:\n"
            "> Please send us your side by Friday.\n> Your personal link: http://resolver.test/e/abc\n")
    receive(reply(waiting, text), via="imap")
    [submission] = submissions(waiting)
    assert submission.details == "Hello,\n\nThe stain was there on the day we moved in.\nI have the move-in photos."


def test_an_outlook_reply_and_a_phone_signature_are_cut_too(waiting):
    text = ("It was like that before.\n\nSent from my iPhone\n\n"
            "From: Resolver <resolver@localhost>\nSent: Monday, March 2, 2026 9:00 AM\n"
            "To: Jane <jane@example.com>\nSubject: Please send us your side\n\nHello Jane,\n")
    receive(reply(waiting, text), via="imap")
    [submission] = submissions(waiting)
    assert submission.details == "It was like that before."


def test_html_only_mail_becomes_text_without_scripts_styles_or_the_quote(waiting):
    html = ("<html><head><style>p {color: red}</style><title>Re</title></head><body>"
            "<p>The carpet &amp; the walls were <b>already</b> marked.</p><script>alert('x')</script>"
            "<div class=\"gmail_quote\">On Monday Resolver wrote:<blockquote>Please send us your side</blockquote></div>"
            "</body></html>")
    assert receive(reply(waiting, None, html=html), via="imap").outcome == "filed"
    [submission] = submissions(waiting)
    assert submission.details == "The carpet & the walls were already marked."


def test_headers_that_are_not_utf8_are_read_and_made_safe(waiting):
    raw = reply(waiting, Subject="placeholder")
    assert b"Subject: placeholder" in raw
    raw = raw.replace(b"Subject: placeholder", b"Subject: Re: caf\xe9 \x1b[31mcarpet")
    received = receive(raw, via="imap")
    assert received.outcome == "filed"
    assert inbound(received).subject == "Re: café [31mcarpet"


# Mail no person wrote -------------------------------------------------------------------------------

@pytest.mark.parametrize("header, value", [
    ("Auto-Submitted", "auto-replied"),
    ("X-Autoreply", "yes"),
    ("X-Autorespond", "Out of office"),
    ("Precedence", "auto_reply"),
    ("Precedence", "bulk"),
    ("X-Auto-Response-Suppress", "All"),
])
def test_an_out_of_office_reply_is_never_filed_nor_answered(waiting, header, value):
    raw = reply(waiting, "I am out of the office until Monday.", **{header.replace("-", "_"): value})
    received = receive(raw, via="imap")
    assert (received.outcome, received.reason) == ("ignored", "auto-reply")
    nothing_filed(waiting)
    assert answers() == []


def test_a_bounce_is_never_filed_nor_answered(waiting):
    bounce = EmailMessage()
    bounce["From"] = "Mail Delivery System <MAILER-DAEMON@mail.example.net>"
    bounce["To"] = reply_address(invitation(waiting).reply_token)
    bounce["Subject"] = "Undelivered Mail Returned to Sender"
    bounce["Message-ID"] = make_msgid()
    bounce.set_content("This is the mail system. Your message could not be delivered.")
    bounce.add_attachment("Reporting-MTA: dns; mail.example.net\n\nFinal-Recipient: rfc822; x@example.com\n"
                          "Action: failed\nStatus: 5.1.1\n", subtype="delivery-status")
    bounce.replace_header("Content-Type", bounce["Content-Type"].replace("multipart/mixed", "multipart/report"))
    received = receive(bytes(bounce), via="imap")
    assert (received.outcome, received.reason) == ("ignored", "bounce")
    nothing_filed(waiting)
    assert answers() == []


def test_an_empty_return_path_marks_a_bounce(waiting):
    received = receive(reply(waiting, Return_Path="<>"), via="imap")
    assert received.reason == "bounce"
    nothing_filed(waiting)


def test_resolver_never_answers_its_own_answer(app, waiting):
    forged = receive(reply(waiting, to="resolver+1-aaaaaaaaaaaaaaaa@localhost"), via="imap")
    assert forged.outcome == "unmatched"
    [answer] = answers()
    db.session.commit()
    send_pending()
    # Its own answer, come back (a resident's mail program forwarding everything to the reply address):
    own = EmailMessage()
    own["From"] = "Resolver <resolver@localhost>"
    own["To"] = "resolver@localhost"
    own["Subject"] = answer.subject
    own["Message-ID"] = answer.message_id
    own["Auto-Submitted"] = "auto-replied"
    own.set_content(answer.body_text)
    received = receive(bytes(own), via="local")
    assert received.outcome == "ignored"
    assert len(answers()) == 1


def test_the_answer_is_marked_as_an_automatic_reply(waiting, smtp):
    receive(reply(waiting, to="resolver+1-aaaaaaaaaaaaaaaa@localhost"), via="imap")
    send_pending()
    [message] = [m for m in smtp.to(waiting.resident.email) if m["Auto-Submitted"]]
    assert message["Auto-Submitted"] == "auto-replied"


# Replies that match no open window ---------------------------------------------------------------

def test_a_reply_to_a_closed_window_is_kept_for_the_manager_and_answered_kindly(make_dispute):
    dispute = make_dispute("panel_review")
    db.session.commit()
    received = receive(reply(dispute, files=[("carpet.jpg", photo(), "image/jpeg")]), via="imap")
    assert (received.outcome, received.reason) == ("unmatched", "window closed")
    record = inbound(received)
    assert (record.company_id, record.dispute_id) == (dispute.company_id, dispute.id)
    assert record.text == "The carpet was already stained when we moved in."
    assert record.attachments == [{"name": "carpet.jpg", "size_bytes": len(photo())}]
    assert file_exists(record.raw_sha256)  # the message whole, for the manager to attach by hand
    assert len(submissions(dispute)) == 1  # only the one the walk-through sent by the form
    [answer] = answers()
    assert answer.to_addr == dispute.resident.email and answer.is_auto_reply
    assert "the time for sending your side of this case has ended" in answer.body_text
    assert "Nothing from it has been saved" not in answer.body_text


def test_a_forged_token_is_filed_nowhere_and_kept_out_of_every_company(waiting):
    token = invitation(waiting).reply_token
    forged = token[:-1] + ("a" if token[-1] != "a" else "b")
    received = receive(reply(waiting, to=f"resolver+{forged}@localhost", In_Reply_To="", References=""),
                       via="imap")
    assert (received.outcome, received.reason) == ("unmatched", "forged token")
    record = inbound(received)
    assert record.company_id is None and record.dispute_id is None
    assert record.text == "" and record.raw_sha256 is None and record.subject == ""
    nothing_filed(waiting)
    [answer] = answers()
    assert "http" not in answer.body_text  # no link: it names no case
    assert "we could not tell which case it belongs to" in answer.body_text


def test_a_token_whose_link_expired_is_not_filed(waiting):
    link = current_link(waiting.id, "evidence", resident_id=waiting.resident_id)
    move_to(link.expires_dt + timedelta(minutes=1))
    received = receive(reply(waiting), via="imap")
    assert (received.outcome, received.reason) == ("unmatched", "token expired")
    assert inbound(received).company_id == waiting.company_id
    nothing_filed(waiting)
    [answer] = answers()
    assert "/e/" not in answer.body_text  # the expired link is not offered


def test_a_stranger_is_not_sent_the_residents_link(make_dispute):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    receive(reply(dispute, "", sender="someone@elsewhere.example"), via="imap")  # nothing said: refused
    [answer] = answers()
    assert answer.to_addr == "someone@elsewhere.example"
    assert "/e/" not in answer.body_text


# Hostile and broken mail -------------------------------------------------------------------------

def test_a_disguised_program_refuses_the_whole_reply_and_stores_nothing(waiting):
    received = receive(reply(waiting, files=[("carpet.jpg", photo(), "image/jpeg"),
                                             ("photo.jpg", EXECUTABLE, "image/jpeg")]), via="imap")
    assert received.outcome == "refused"
    assert "is a program" in received.reason
    nothing_filed(waiting)
    assert not any(file_exists(hashlib.sha256(data).hexdigest()) for data in (photo(), EXECUTABLE))
    [answer] = answers()
    assert "“photo.jpg” is a program" in answer.body_text
    assert "/e/" in answer.body_text  # the resident may still use the form


def test_an_archive_is_refused_as_the_form_refuses_it(waiting):
    received = receive(reply(waiting, files=[("photos.zip", plain_zip(), "application/zip")]), via="imap")
    assert received.outcome == "refused" and "zip archive" in received.reason
    nothing_filed(waiting)


def test_a_malformed_message_is_refused_and_recorded_once(waiting):
    raw = b"\x00\xff\xfe garbage that is not an email\r\n\r\n\x00\x01"
    first, again = receive(raw, via="imap"), receive(raw, via="imap")
    assert (first.outcome, again.outcome) == ("refused", "duplicate")
    nothing_filed(waiting)
    assert answers() == []  # no sender to answer


def test_a_message_whose_parts_cannot_be_told_apart_is_refused(waiting):
    raw = reply(waiting, files=[("carpet.jpg", photo(), "image/jpeg")])
    head, _, body = raw.partition(b"\n\n")
    boundary = head.split(b'boundary="')[1].split(b'"')[0]
    received = receive(head + b"\n\n" + body.replace(boundary, b"somethingelse"), via="imap")
    assert (received.outcome, received.reason) == ("refused", "broken MIME structure")
    nothing_filed(waiting)
    [answer] = answers()
    assert "arrived damaged" in answer.body_text


def test_an_oversized_message_is_refused_before_it_is_read(app, waiting):
    app.config["INBOUND_MAX_BYTES"] = 50_000
    received = receive(reply(waiting, files=[("scan.pdf", pdf("x" * 60_000), "application/pdf")]), via="imap")
    assert received.outcome == "refused" and received.reason.startswith("larger than")
    nothing_filed(waiting)
    [answer] = answers()
    assert answer.to_addr == waiting.resident.email


def test_a_message_with_too_many_parts_is_refused(waiting):
    files = [(f"note{i}.txt", f"note {i}".encode(), "text/plain") for i in range(60)]
    received = receive(reply(waiting, files=files), via="imap")
    assert (received.outcome, received.reason) == ("refused", "too many parts")
    nothing_filed(waiting)


def test_parts_nested_too_deep_are_refused(waiting):
    message = EmailMessage()
    message.set_content("The innermost words.")
    for _ in range(8):
        outer = EmailMessage()
        outer.make_mixed()
        outer.attach(message)
        message = outer
    headers = reply(waiting).partition(b"\nContent-Type:")[0]  # From, To, Subject, Message-ID, References
    raw = headers + b"\n" + bytes(message)
    received = receive(raw, via="imap")
    assert (received.outcome, received.reason) == ("refused", "parts nested too deep")
    nothing_filed(waiting)


def test_the_same_address_is_answered_a_few_times_a_day_at_most(waiting):
    for _ in range(5):
        receive(reply(waiting, to="resolver+1-aaaaaaaaaaaaaaaa@localhost", In_Reply_To="", References=""),
                via="imap")
    assert len(answers()) == 3
    assert db.session.scalar(select(func.count(InboundMail.id))) == 5


# The "Unmatched mail" list ---------------------------------------------------------------------------

@pytest.fixture
def late_reply(make_dispute, company):
    """A reply with a photo that arrived after its dispute moved on, and a dispute still waiting."""
    closed = make_dispute("panel_review")
    open_one = make_dispute("awaiting_evidence")
    db.session.commit()
    received = receive(reply(closed, "Here is the photo I forgot.", files=[("hall.jpg", photo(), "image/jpeg")]),
                       via="imap")
    return {"mail": inbound(received), "closed": closed, "open": open_one}


def test_a_manager_attaches_unmatched_mail_by_hand_as_a_submission_with_its_receipt(
    late_reply, manager, signed_in_client
):
    client = signed_in_client(manager)
    page = client.get("/mail/unmatched").get_data(as_text=True)
    assert "Here is the photo I forgot." in page and "hall.jpg" in page
    target = late_reply["open"]

    answer = client.post(f"/mail/unmatched/{late_reply['mail'].id}/attach", {"dispute_id": target.id})

    assert answer.status_code == 303
    db.session.expire_all()
    mail = db.session.get(InboundMail, late_reply["mail"].id)
    assert (mail.outcome, mail.handled_by_id, mail.dispute_id) == ("attached", manager.id, target.id)
    [submission] = submissions(target)
    assert submission.id == mail.submission_id
    assert submission.details == "Here is the photo I forgot."
    assert [f.original_name for f in submission.files] == ["hall.jpg"]
    assert db.session.get(Dispute, target.id).state == "evidence_received"
    assert len(emails(target, "evidence_receipt")) == 1
    from .dispute_checks import actions
    assert "attach_mail" in actions(target)
    assert "Here is the photo I forgot." not in client.get("/mail/unmatched").get_data(as_text=True)


def test_a_manager_dismisses_unmatched_mail(late_reply, manager, signed_in_client):
    client = signed_in_client(manager)
    assert client.post(f"/mail/unmatched/{late_reply['mail'].id}/dismiss").status_code == 303
    db.session.expire_all()
    assert db.session.get(InboundMail, late_reply["mail"].id).outcome == "dismissed"
    assert "Here is the photo I forgot." not in client.get("/mail/unmatched").get_data(as_text=True)


def test_another_companys_manager_never_sees_nor_touches_the_mail(late_reply, make_company, make_staff,
                                                                   signed_in_client):
    stranger = signed_in_client(make_staff(make_company(name="Birch Homes")))
    assert "Here is the photo I forgot." not in stranger.get("/mail/unmatched").get_data(as_text=True)
    assert stranger.post(f"/mail/unmatched/{late_reply['mail'].id}/dismiss").status_code == 404
    assert stranger.post(f"/mail/unmatched/{late_reply['mail'].id}/attach",
                         {"dispute_id": late_reply["open"].id}).status_code == 404
    db.session.expire_all()
    assert db.session.get(InboundMail, late_reply["mail"].id).outcome == "unmatched"


def test_mail_naming_no_dispute_is_in_no_companys_list(waiting, manager, signed_in_client):
    receive(reply(waiting, "A stranger's note", to="resolver@localhost", In_Reply_To="", References=""), via="imap")
    assert "A stranger" not in signed_in_client(manager).get("/mail/unmatched").get_data(as_text=True)


# The kind answer ----------------------------------------------------------------------------------

def test_each_kind_answer_reads_finished(make_dispute):
    open_one, closed = make_dispute("awaiting_evidence"), make_dispute("panel_review")
    db.session.commit()
    receive(reply(open_one, files=[("photo.jpg", EXECUTABLE, "image/jpeg")]), via="imap")  # with the link
    receive(reply(closed, sender="Sam <sam@example.org>"), via="imap")  # about a case, no link
    receive(reply(open_one, to="resolver@localhost", In_Reply_To="", References="",
                  sender="pat@example.org"), via="imap")  # about nothing
    found = answers()
    assert len(found) == 3
    for email in found:
        for part in (email.subject, email.body_text, email.body_html):
            assert "{{" not in part and "{%" not in part
            assert "None" not in part and "Undefined" not in part
        assert "\n\n\n" not in email.body_text
        assert email.body_html.lstrip().startswith("<!doctype html>")
        assert email.subject.startswith("We could not add your email to your case")
        assert "This is an automatic answer" in email.body_text
    with_link, about_case, about_nothing = found
    assert "/e/" in with_link.body_text and "Send your side" in with_link.body_html
    assert closed.manager.email in about_case.body_text and "/e/" not in about_case.body_text
    assert "use the personal link in that email" in about_nothing.body_text
    assert about_nothing.company_id is None and about_nothing.dispute_id is None
