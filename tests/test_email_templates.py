"""The emails of the evidence step and the reply deadline, as the resident, the manager and the
supervisor read them: produced by the real verbs and the deadline sweep, then read back from the
outbox (and once from a real SMTP server)."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from resolver import clock
from resolver.actors import Actor
from resolver.deadlines import sweep_deadlines
from resolver.files import store_bytes
from resolver.letters.tone import check_tone
from resolver.links import PUBLIC_ADDRESS, current_link, link_url
from resolver.models import OutboxEmail
from resolver.services import disputes, evidence

from .dispute_checks import emails

DENVER = ZoneInfo("America/Denver")
# START is Monday 9 March 2026, 09:00 in Denver: the 5-day window ends on Saturday 14 March,
# and a side received at START is owed a written reply by Monday 16 March.
EVIDENCE_DUE = "11:59 PM on Saturday 14 March 2026 (America/Denver)"
REPLY_DUE = "11:59 PM on Monday 16 March 2026 (America/Denver)"

RESIDENT_TEMPLATES = {
    "evidence_invitation", "evidence_reminder", "evidence_receipt", "window_extended", "more_time_refused",
    "dispute_withdrawn", "evidence_lapsed_resident", "reply_moved",
}
STAFF_TEMPLATES = {
    "evidence_arrived", "evidence_lapsed", "more_time_requested", "reply_reminder", "reply_at_risk", "reply_breached",
    "reply_moved_supervisor",
}
CARPET = {"description": "Carpet cleaning", "amount_cents": 15000, "company_reason": "Stains in the bedroom"}


def local_end_of_day(y, m, d) -> datetime:
    return datetime(y, m, d, 23, 59, 59, tzinfo=DENVER).astimezone(timezone.utc)


def move_to(moment: datetime) -> None:
    clock.advance(moment - clock.now_utc())


def only(dispute, template: str, to: str | None = None) -> OutboxEmail:
    found = [e for e in emails(dispute, template) if to is None or e.to_addr == to]
    assert len(found) == 1, f"expected one {template} to {to or 'anyone'}, found {[e.to_addr for e in found]}"
    return found[0]


def evidence_link(dispute) -> str:
    return link_url(current_link(dispute.id, "evidence", resident_id=dispute.resident_id))


def send_side(dispute, *, details="The carpet was clean when I left; I have photos.", files=(), **fields):
    return evidence.submit_evidence(
        Actor.resident(dispute.resident), dispute, form_key=uuid.uuid4().hex, details=details,
        suggested_resolution=fields.pop("suggested_resolution", "Refund the $150 cleaning charge."),
        suggested_amount_cents=fields.pop("suggested_amount_cents", 15000), files=list(files), **fields,
    )


def stored(name: str, data: bytes, content_type: str = "image/jpeg") -> dict:
    return {"original_name": name, "content_type": content_type, "size_bytes": len(data), "sha256": store_bytes(data)}


def plain(html: str) -> str:
    """The HTML part as a reader sees it: tags gone, entities for quotes undone, spaces collapsed."""
    text = re.sub(r"</?(?:p|div|li|td|tr|h\d|br|ul|ol|table|title)\b[^>]*>", " ", html)
    text = re.sub(r"<[^>]+>", "", text).replace("&#39;", "'").replace("&#34;", '"').replace("&amp;", "&")
    return " ".join(text.split())


# The invitation ------------------------------------------------------------------------------


def test_the_invitation_restates_the_issue_and_says_what_to_send_and_by_when(make_dispute, resident, manager, company):
    dispute = make_dispute("awaiting_evidence", items=[CARPET])
    invitation = only(dispute, "evidence_invitation", to=resident.email)
    link = evidence_link(dispute)

    assert invitation.subject == "Please send us your side by Saturday 14 March 2026"
    for body in (invitation.body_text, plain(invitation.body_html)):
        assert f"Hello {resident.name}," in body
        assert "The resident says the carpet-cleaning charge on the deposit is unfair." in body
        assert "We re-inspected the carpet and refunded the pet fee." in body
        assert "Carpet cleaning: $150" in body and "Stains in the bedroom" in body
        assert "The details, in your own words." in body
        assert "Any evidence you have" in body
        assert "your suggested resolution" in body
        assert f"Please send it by {EVIDENCE_DUE}." in body
        assert "just for you, so please don't forward it" in body
        assert "resolution team of peer property managers" in body
        assert "I will answer you in writing within 7 days of receiving your side." in body
        # Questions, and someone else to talk to.
        assert manager.email in body and company.contact_phone in body
        assert company.supervisor_name in body and company.supervisor_phone in body
        assert f"our home office on {company.home_office_phone}" in body
    # The personal link, in both parts (and as the button in the HTML).
    assert link in invitation.body_text
    assert f'href="{link}"' in invitation.body_html
    # Signed by the manager, for the company.
    assert invitation.body_text.rstrip().endswith(f"{manager.name}\n{company.name}")
    # The text body is the body: the subject is not repeated as its first line.
    assert invitation.body_text.startswith(f"Hello {resident.name},")


def test_the_invitation_reads_the_way_the_practice_notes_ask(make_dispute):
    dispute = make_dispute("awaiting_evidence")
    invitation = only(dispute, "evidence_invitation")
    # Sorry for the situation, the issue restated, what happens next, and a thank-you; nothing to avoid.
    assert check_tone(invitation.body_text, resident_words=[dispute.issue]) == []


def test_dates_are_in_the_company_zone_and_counted_its_way(make_dispute, company, resident):
    company.time_zone = "Pacific/Auckland"  # Monday 16:00 UTC is already Tuesday 05:00 there
    company.is_business_days = True
    dispute = make_dispute("awaiting_evidence")
    invitation = only(dispute, "evidence_invitation")

    # Five business days after Tuesday 10 March: Tuesday 17 March, at the end of the day in Auckland.
    assert invitation.subject == "Please send us your side by Tuesday 17 March 2026"
    assert "Please send it by 11:59 PM on Tuesday 17 March 2026 (Pacific/Auckland)." in invitation.body_text
    assert "within 7 business days of receiving your side" in invitation.body_text
    assert "Denver" not in invitation.body_text + invitation.body_html


# The receipt and the manager's alert --------------------------------------------------------


def test_the_receipt_lists_what_was_received_and_the_reply_date(make_dispute, resident):
    dispute = make_dispute("awaiting_evidence", items=[CARPET])
    photo = stored("hallway-carpet.jpg", b"\xff\xd8" + b"p" * 2558)  # 2,560 bytes
    report = stored("move-out report.pdf", b"%PDF-1.4" + b"r" * (1_572_864 - 8), "application/pdf")  # 1.5 MB
    send_side(dispute, files=[photo, report], item_responses={str(dispute.items[0].id): "It was cleaned on 2 March."})
    receipt = only(dispute, "evidence_receipt", to=resident.email)

    assert receipt.subject == "We have your side: our written answer by Monday 16 March 2026"
    for body in (receipt.body_text, plain(receipt.body_html)):
        assert "We received it at 10:00 AM on Monday 9 March 2026 (America/Denver)" in body
        assert f"We will answer you in writing by {REPLY_DUE}." in body
        assert "The carpet was clean when I left; I have photos." in body
        assert "It was cleaned on 2 March." in body
        assert "Refund the $150 cleaning charge." in body and "Amount asked for: $150" in body
        assert "hallway-carpet.jpg, 2 KB" in body
        assert "move-out report.pdf, 1.5 MB" in body
        assert photo["sha256"] in body and report["sha256"] in body
        # They may still add more until the evidence window closes.
        assert f"until {EVIDENCE_DUE}" in body
    assert evidence_link(dispute) in receipt.body_text
    assert f'href="{evidence_link(dispute)}"' in receipt.body_html


def test_a_receipt_without_files_says_so(make_dispute):
    dispute = make_dispute("awaiting_evidence")
    send_side(dispute, suggested_resolution="", suggested_amount_cents=None)
    receipt = only(dispute, "evidence_receipt")
    assert "No files this time." in receipt.body_text
    assert "No files this time." in plain(receipt.body_html)
    assert "Amount asked for" not in receipt.body_text
    assert "What would put it right for you" not in receipt.body_text


def test_the_manager_hears_at_once_with_the_reply_deadline_and_a_way_in(app, make_dispute, manager, resident):
    dispute = make_dispute("awaiting_evidence")
    send_side(dispute, files=[stored("photo.jpg", b"\xff\xd8photo")])
    alert = only(dispute, "evidence_arrived", to=manager.email)

    assert alert.subject == f"Reply due Monday 16 March 2026: {resident.name} sent their side (dispute #{dispute.id})"
    for body in (alert.body_text, plain(alert.body_html)):
        assert f"The written reply is due by {REPLY_DUE}." in body
        assert "seat the resolution team" in body
        assert "The carpet was clean when I left; I have photos." in body
        assert "photo.jpg" in body
    # The dispute's page, at the public address, is a page the app really serves.
    url = f"{PUBLIC_ADDRESS}/disputes/{dispute.id}"  # filled in with the public address as it is sent
    assert url in alert.body_text and f'href="{url}"' in alert.body_html
    endpoint, arguments = app.url_map.bind("resolver.test").match(f"/disputes/{dispute.id}")
    assert (endpoint, arguments) == ("manager.dispute_page", {"dispute_id": dispute.id})


def test_more_sent_later_is_called_more(make_dispute, manager):
    dispute = make_dispute("evidence_received")
    clock.advance(timedelta(hours=2))
    send_side(dispute, details="One more photo of the hallway.")
    second = emails(dispute, "evidence_arrived")[-1]
    assert "sent more for their side" in second.body_text


def test_resident_words_are_escaped_in_the_html(make_dispute, manager, resident):
    dispute = make_dispute("awaiting_evidence")
    send_side(
        dispute, details='<script>alert("x")</script> & the <b>carpet</b>',
        suggested_resolution="<img src=x onerror=alert(1)>",
        files=[stored("<svg onload=alert(1)>.jpg", b"\xff\xd8svg")],
    )
    for email in (only(dispute, "evidence_receipt"), only(dispute, "evidence_arrived")):
        assert "<script" not in email.body_html and "<img" not in email.body_html and "<svg" not in email.body_html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; the &lt;b&gt;carpet&lt;/b&gt;" in email.body_html
        assert "&lt;svg onload=alert(1)&gt;.jpg" in email.body_html
        # The text part is plain text: the words exactly as written.
        assert '<script>alert("x")</script> & the <b>carpet</b>' in email.body_text


# While the resident's window runs ------------------------------------------------------------


def test_the_reminder_repeats_the_date_and_the_link(make_dispute, resident):
    dispute = make_dispute("awaiting_evidence")
    move_to(local_end_of_day(2026, 3, 12) + timedelta(seconds=1))  # two days before the end
    sweep_deadlines()
    reminder = only(dispute, "evidence_reminder", to=resident.email)

    assert reminder.subject == "A reminder: please send us your side by Saturday 14 March 2026"
    for body in (reminder.body_text, plain(reminder.body_html)):
        assert f"Please send it by {EVIDENCE_DUE}." in body
        assert dispute.issue in body
        assert "ask for it on the same page" in body
    assert evidence_link(dispute) in reminder.body_text
    assert f'href="{evidence_link(dispute)}"' in reminder.body_html


def test_asking_for_more_time_reaches_the_manager_and_either_answer_reaches_the_resident(
    make_dispute, manager, resident
):
    dispute = make_dispute("awaiting_evidence")
    staff = Actor.staff(manager)
    asked = evidence.request_more_time(Actor.resident(resident), dispute, days=3, reason="I am away until Friday.")
    request_email = only(dispute, "more_time_requested", to=manager.email)
    assert request_email.subject == f"{resident.name} asks for 3 more days (dispute #{dispute.id})"
    for body in (request_email.body_text, plain(request_email.body_html)):
        assert "I am away until Friday." in body
        assert f"Their time ends at {EVIDENCE_DUE}: please answer before then." in body

    evidence.answer_more_time(staff, dispute, asked, grant=False, note="The team meets on Monday.")
    refused = only(dispute, "more_time_refused", to=resident.email)
    assert refused.subject == "About your request for more time"
    for body in (refused.body_text, plain(refused.body_html)):
        assert "Thank you for asking." in body
        assert "The team meets on Monday." in body
        assert f"Your side is still due by {EVIDENCE_DUE}." in body
        assert "we will look at what we can do together" in body
        assert "you are always welcome to contact" in body
    assert evidence_link(dispute) in refused.body_text and f'href="{evidence_link(dispute)}"' in refused.body_html

    asked = evidence.request_more_time(Actor.resident(resident), dispute, days=2, reason="Still away, sorry.")
    evidence.answer_more_time(staff, dispute, asked, grant=True, note="Happy to give you until Monday.")
    extended = only(dispute, "window_extended", to=resident.email)
    assert extended.subject == "More time: please send your side by Monday 16 March 2026"
    assert ("you now have until 11:59 PM on Monday 16 March 2026 (America/Denver) to send us your side, "
            "instead of Saturday 14 March 2026.") in extended.body_text
    assert f"A note from {manager.name}:\n\n    Happy to give you until Monday." in extended.body_text
    assert "Please send it by 11:59 PM on Monday 16 March 2026 (America/Denver)." in plain(extended.body_html)
    assert f"Instead of {EVIDENCE_DUE}." in plain(extended.body_html)
    assert evidence_link(dispute) in extended.body_text and f'href="{evidence_link(dispute)}"' in extended.body_html


def test_more_time_granted_without_a_note_thanks_the_resident_for_asking(make_dispute, manager, resident):
    dispute = make_dispute("awaiting_evidence")
    asked = evidence.request_more_time(Actor.resident(resident), dispute, days=1, reason="Away.")
    evidence.answer_more_time(Actor.staff(manager), dispute, asked, grant=True)
    extended = only(dispute, "window_extended")
    assert extended.subject == "More time: please send your side by Sunday 15 March 2026"
    for body in (extended.body_text, plain(extended.body_html)):
        assert "Thank you for asking. Good news:" in body
        assert "The resident asked for" not in body  # the history's wording, not a letter's


def test_a_reminder_without_a_date_or_a_link_still_reads_well(make_dispute, resident):
    from resolver.outbox import queue_email

    dispute = make_dispute("awaiting_evidence")
    reminder = queue_email("evidence_reminder", to_addr=resident.email, to_name=resident.name, company=dispute.company,
                           dispute=dispute, context={"due": None, "link_url": None})
    assert reminder.subject == "A reminder: please send us your side"
    for body in (reminder.body_text, plain(reminder.body_html)):
        assert "None" not in body and "Please send it by" not in body
        assert f"{dispute.manager.email} and I will send you a fresh link" in body


def test_the_manager_learns_when_nothing_arrived(make_dispute, manager, resident):
    dispute = make_dispute("awaiting_evidence")
    move_to(local_end_of_day(2026, 3, 14) + timedelta(seconds=1))
    sweep_deadlines()
    lapsed = only(dispute, "evidence_lapsed", to=manager.email)
    assert lapsed.subject == f"Nothing arrived from {resident.name} in time (dispute #{dispute.id})"
    for body in (lapsed.body_text, plain(lapsed.body_html)):
        assert f"ended at {EVIDENCE_DUE}, and nothing arrived" in body
        assert resident.email in body  # so the manager can check the invitation reached them
        assert "close it when you are ready" in body


def test_a_withdrawn_dispute_is_explained_kindly(make_dispute, resident, manager, company):
    dispute = make_dispute("withdrawn")
    withdrawn = only(dispute, "dispute_withdrawn", to=resident.email)
    assert withdrawn.subject == f"Your dispute with {company.name} has been withdrawn"
    for body in (withdrawn.body_text, plain(withdrawn.body_html)):
        assert dispute.issue in body
        assert "The resident settled with the owner directly." in body
        assert "there is nothing more you need to send" in body
        assert "please get in touch" in body and company.home_office_phone in body
    assert withdrawn.body_text.rstrip().endswith(f"{manager.name}\n{company.name}")


# The company's reply deadline ----------------------------------------------------------------


def test_the_reply_deadline_reminds_the_manager_then_warns_the_supervisor_then_reports_the_breach(
    make_dispute, manager, company, resident
):
    dispute = make_dispute("evidence_received")  # received at START: reply due Monday 16 March
    move_to(local_end_of_day(2026, 3, 13) + timedelta(seconds=1))  # three days before
    sweep_deadlines()
    reminder = only(dispute, "reply_reminder", to=manager.email)
    assert reminder.subject == f"Reply to {resident.name} due Monday 16 March 2026 (dispute #{dispute.id})"
    assert f"is due in 3 days: by {REPLY_DUE}." in reminder.body_text
    assert f"tell {company.supervisor_name} today" in reminder.body_text

    move_to(local_end_of_day(2026, 3, 15) + timedelta(seconds=1))  # one day before
    sweep_deadlines()
    at_risk = only(dispute, "reply_at_risk", to=company.supervisor_email)
    assert at_risk.subject == (
        f"At risk: the reply to {resident.name} is due Monday 16 March 2026 (dispute #{dispute.id})"
    )
    for body in (at_risk.body_text, plain(at_risk.body_html)):
        assert f"Hello {company.supervisor_name}," in body
        assert REPLY_DUE in body and "has not been sent yet" in body
        assert f"{manager.name} is looking after it" in body and manager.email in body

    move_to(local_end_of_day(2026, 3, 16) + timedelta(seconds=1))
    sweep_deadlines()
    for person in (manager.email, company.supervisor_email):
        breached = only(dispute, "reply_breached", to=person)
        assert breached.subject == (
            f"Overdue: the reply to {resident.name} was due Monday 16 March 2026 (dispute #{dispute.id})"
        )
        for body in (breached.body_text, plain(breached.body_html)):
            assert f"was due by {REPLY_DUE} and has not gone out" in body
            assert "saying sorry for the delay" in body and resident.email in body
    to_supervisor = only(dispute, "reply_breached", to=company.supervisor_email)
    assert f"{manager.name} is looking after it" in to_supervisor.body_text
    assert "is looking after it" not in only(dispute, "reply_breached", to=manager.email).body_text


# Every email of this step ---------------------------------------------------------------------


@pytest.fixture
def every_email(make_dispute, manager, resident):
    """One of each email this step sends, produced the way production produces them."""
    staff = Actor.staff(manager)
    waiting = make_dispute("awaiting_evidence", items=[CARPET])
    asked = evidence.request_more_time(Actor.resident(resident), waiting, days=3, reason="Away.")
    evidence.answer_more_time(staff, waiting, asked, grant=False)  # no note: nothing empty may show
    asked = evidence.request_more_time(Actor.resident(resident), waiting, days=1, reason="")
    evidence.answer_more_time(staff, waiting, asked, grant=True)
    second = timedelta(seconds=1)
    move_to(waiting.evidence_due_dt - timedelta(days=2) + second)
    sweep_deadlines()  # the evidence reminder
    send_side(waiting, files=[stored("photo.jpg", b"\xff\xd8photo")])
    move_to(waiting.reply_due_dt - timedelta(days=3) + second)
    sweep_deadlines()  # the reply reminder
    move_to(waiting.reply_due_dt - timedelta(days=1) + second)
    sweep_deadlines()  # the supervisor's warning
    disputes.extend_window(staff, waiting, window="reply", new_due=waiting.reply_due_dt + timedelta(days=3),
                           reason="The owner is checking the cleaning invoice.")  # the resident and supervisor told
    move_to(waiting.reply_promised_dt + second)
    lapsed = make_dispute("awaiting_evidence")
    sweep_deadlines()  # the reply is overdue
    move_to(lapsed.evidence_due_dt + second)
    sweep_deadlines()  # nothing arrived in time
    withdrawn = make_dispute("withdrawn")
    found = {}
    for dispute in (waiting, lapsed, withdrawn):
        for email in emails(dispute):
            found.setdefault(email.template, email)
    return found


def test_every_email_of_this_step_is_produced(every_email):
    assert RESIDENT_TEMPLATES | STAFF_TEMPLATES <= set(every_email)


@pytest.mark.parametrize("template", sorted(RESIDENT_TEMPLATES | STAFF_TEMPLATES))
def test_nothing_unfinished_shows(every_email, template):
    email = every_email[template]
    for part in (email.subject, email.body_text, email.body_html):
        assert "{{" not in part and "{%" not in part and "{#" not in part
        assert not re.search(r"\b(None|Undefined)\b", part), part
        assert "()" not in part
    assert not email.body_text.startswith(email.subject)
    assert "\n\n\n" not in email.body_text, "no gaping holes where a part was left out"
    # Self-contained HTML: nothing fetched from elsewhere when the email is opened.
    assert not re.search(r"""(?:src|background)\s*=\s*["']?https?:|<link\b|@import|url\(""", email.body_html, re.I)
    assert email.body_html.lstrip().startswith("<!doctype html>")
    assert 'name="viewport"' in email.body_html


@pytest.mark.parametrize("template", sorted(RESIDENT_TEMPLATES))
def test_resident_emails_are_signed_and_offer_someone_else(every_email, template, manager, company):
    email = every_email[template]
    assert email.body_text.rstrip().endswith(f"Kind regards,\n\n{manager.name}\n{company.name}")
    for body in (email.body_text, plain(email.body_html)):
        assert manager.email in body
        assert f"contact {company.supervisor_name} on {company.supervisor_phone}" in body
        assert company.home_office_phone in body
    warnings = {"sorry_you_feel", "calm_down", "already_told", "lecturing", "blaming"}
    assert not [flag for flag in check_tone(email.body_text) if flag.code in warnings]


@pytest.mark.parametrize("template", sorted(STAFF_TEMPLATES))
def test_staff_emails_are_short_and_point_at_the_dispute(every_email, template):
    email = every_email[template]
    assert f"/disputes/{email.dispute_id}" in email.body_text
    assert len(email.body_text) < 2500, "a staff alert is read in a glance"


# Delivered ------------------------------------------------------------------------------------


def test_the_invitation_arrives_through_the_mail_server_as_text_and_html(app, make_dispute, smtp, resident, company):
    from resolver.extensions import db
    from resolver.mail import send_pending

    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    assert send_pending() >= 1

    [message] = smtp.to(resident.email)
    assert message["Subject"] == "Please send us your side by Saturday 14 March 2026"
    # A plain reply is the resident's answer: it goes to Resolver's reply address, in the company's name.
    [reply_to] = message["Reply-To"].addresses
    assert (reply_to.display_name, reply_to.username.split("+")[0]) == (company.name, "resolver")
    text, html = smtp.text_of(message), smtp.html_of(message)
    link = evidence_link(dispute).replace(PUBLIC_ADDRESS, "http://resolver.test")  # the public address, filled in
    assert link in text and f'href="{link}"' in html
    assert f"Please send it by {EVIDENCE_DUE}." in text
    assert dispute.issue in text and dispute.issue in html
