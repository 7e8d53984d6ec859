"""A resident who reads Spanish gets every email in Spanish: the subject, the text and the HTML, as it
arrives at the mail server, with dates written the Spanish way. The same email to a resident who reads
English is unchanged, and the staff and the team keep getting theirs in English.

Each email a resident can receive has a story here that makes the real verbs send it; a new resident
email without one (or one left in English) fails ``test_every_email_template_is_known``.
"""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from resolver.actors import Actor
from resolver.deadlines import sweep_deadlines
from resolver.extensions import db
from resolver.inbound import receive
from resolver.letters import render
from resolver.mail import send_pending
from resolver.models import LadderRequest, OutboxEmail, Task
from resolver.services import disputes, evidence, outcome

from .dispute_checks import move_to, plain
from .spanish import english_left
from .test_inbound import reply
from .test_resident_support import pdf

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "emails"
CARPET = {"description": "Carpet cleaning", "amount_cents": 15000, "company_reason": "Stains in the bedroom"}
SPANISH_DATE = re.compile(r"\b\d{1,2} de (enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|"
                          r"noviembre|diciembre) de \d{4}\b")
ENGLISH_DATE = re.compile(r"\b\d{1,2} (January|February|March|April|May|June|July|August|September|October|"
                          r"November|December) \d{4}\b")
# What the staff and the team read; every other email goes to a resident (below, with its story).
NOT_TO_RESIDENTS = {
    "evidence_arrived", "evidence_lapsed", "follow_up_manager", "ladder_answered_manager", "ladder_request_manager",
    "ladder_request_supervisor", "more_time_requested", "offer_accepted", "offer_declined", "outcome_acknowledged",
    "panel_call_recorded", "panel_chair_decided", "panel_chair_decides", "panel_deadlocked", "panel_invitation",
    "panel_recusal", "panel_reminder", "panel_result", "password_reset", "referral_manager", "reply_at_risk",
    "reply_breached", "reply_moved_supervisor", "reply_reminder", "staff_invitation",
}
# Emails that give no date.
WITHOUT_DATES = {"dispute_withdrawn", "offer_fulfilled", "referral_resident", "reply_not_filed"}
# Words the people typed (a manager's note, a resident's message): read back as written.
TYPED = ("The team meets on Monday.", "Happy to give you until Monday.", "Away this week.",
         "The invitation went to spam.", "The owner is checking the cleaning invoice.",
         "The team did not look at my move-out photos.", "I looked at the photos again and the decision stands.",
         "Deposit refund issued.", "The resident told us they have taken this to outside mediation.",
         "The carpet was already stained when we moved in.", "The carpet was clean when I left; I have photos.",
         "Refund the $150 cleaning charge.", "The resident settled with the owner directly.")


# The stories: each makes the real verbs send one resident email ---------------------------------

def _awaiting(make_dispute, **_):
    return make_dispute("awaiting_evidence", items=[CARPET])


def _lapsed(make_dispute, **_):
    dispute = make_dispute("awaiting_evidence")
    move_to(dispute.evidence_due_dt + timedelta(minutes=1))
    sweep_deadlines()
    return dispute


def _reminded(make_dispute, **_):
    dispute = make_dispute("awaiting_evidence")
    move_to(dispute.evidence_due_dt - timedelta(days=2) + timedelta(seconds=1))
    sweep_deadlines()
    return dispute


def _reopened(make_dispute, staff, **_):
    dispute = _lapsed(make_dispute)
    disputes.reopen_dispute(staff, dispute, reason="The invitation went to spam.")
    return dispute


def _more_time(grant: bool, note: str):
    def story(make_dispute, staff, **_):
        dispute = make_dispute("awaiting_evidence")
        asked = evidence.request_more_time(Actor.resident(dispute.resident), dispute, days=2, reason="Away this week.")
        evidence.answer_more_time(staff, dispute, asked, grant=grant, note=note)
        return dispute
    return story


def _reply_moved(make_dispute, staff, **_):
    dispute = make_dispute("evidence_received")
    disputes.extend_window(staff, dispute, window="reply", new_due=dispute.reply_due_dt + timedelta(days=3),
                           reason="The owner is checking the cleaning invoice.")
    return dispute


def _sent(make_dispute, staff, **_):
    dispute = make_dispute("decided", votes=("uphold", "compromise", "compromise"))
    outcome.approve_letter(staff, outcome.draft_outcome(staff, dispute))
    outcome.send_outcome(staff, dispute)
    return dispute


def _accepted(make_dispute, staff, **_):
    dispute = _sent(make_dispute, staff)
    outcome.respond_to_offer(Actor.resident(dispute.resident), dispute, accept=True)
    return dispute


def _fulfilled(make_dispute, staff, **_):
    dispute = _accepted(make_dispute, staff)
    for task in outcome.open_tasks(dispute):
        outcome.complete_task(staff, task, note="Deposit refund issued.")
    return dispute


def _referred(make_dispute, staff, **_):
    dispute = _sent(make_dispute, staff)
    outcome.refer_out(Actor.resident(dispute.resident), dispute,
                      reason="The resident told us they have taken this to outside mediation.")
    return dispute


def _followed_up(make_dispute, staff, **_):
    dispute = _sent(make_dispute, staff)
    move_to(dispute.follow_up_due_dt + timedelta(minutes=1))
    outcome.follow_up(staff, dispute)
    return dispute


def _corrected(make_dispute, staff, **_):
    dispute = _sent(make_dispute, staff)
    outcome.approve_letter(staff, outcome.correct_letter(staff, dispute))
    outcome.send_outcome(staff, dispute)
    return dispute


def _asked_again(make_dispute, staff, supervisor, **_):
    dispute = _sent(make_dispute, staff)
    outcome.ask_supervisor(Actor.resident(dispute.resident), dispute,
                           message="The team did not look at my move-out photos.")
    return dispute


def _answered_again(make_dispute, staff, supervisor, **_):
    dispute = _asked_again(make_dispute, staff, supervisor)
    request = db.session.scalars(select(LadderRequest).where(LadderRequest.dispute_id == dispute.id)).one()
    outcome.answer_ladder_request(Actor.staff(supervisor), request.id,
                                  note="I looked at the photos again and the decision stands.")
    return dispute


def _not_filed(make_dispute, **_):
    dispute = make_dispute("panel_review")
    db.session.commit()
    receive(reply(dispute, "The carpet was already stained when we moved in."), via="imap")
    return dispute


STORIES = {
    "evidence_invitation": _awaiting,
    "evidence_reminder": _reminded,
    "evidence_receipt": lambda make_dispute, **_: make_dispute("evidence_received", items=[CARPET]),
    "evidence_lapsed_resident": _lapsed,
    "dispute_reopened": _reopened,
    "window_extended": _more_time(True, "Happy to give you until Monday."),
    "more_time_refused": _more_time(False, "The team meets on Monday."),
    "dispute_withdrawn": lambda make_dispute, **_: make_dispute("withdrawn"),
    "reply_moved": _reply_moved,
    "outcome_letter": _sent,
    "outcome_correction": _corrected,
    "follow_up_resident": _followed_up,
    "offer_confirmation": _accepted,
    "offer_fulfilled": _fulfilled,
    "referral_resident": _referred,
    "ladder_request_resident": _asked_again,
    "ladder_answered": _answered_again,
    "reply_not_filed": _not_filed,
}


# Reading what arrived --------------------------------------------------------------------------

def arrived(smtp, dispute, template: str):
    """The one message ``template`` sent to the dispute's resident, as the mail server took it."""
    sent = db.session.scalars(select(OutboxEmail).where(
        OutboxEmail.dispute_id == dispute.id, OutboxEmail.template == template,
        OutboxEmail.to_addr == dispute.resident.email)).all()
    assert len(sent) == 1, f"expected one {template} to the resident, found {len(sent)}"
    send_pending()
    [message] = [m for m in smtp.to(dispute.resident.email) if m["Message-ID"] == sent[0].message_id]
    return message


def _without_the_letter(text: str) -> str:
    """The email around the outcome letter: the letter itself is rendered (and translated) as a letter."""
    return re.sub(r"-{20,}.*?(-{20,}|\Z)", " ", text, flags=re.S)


def _without_the_letter_html(html: str) -> str:
    return re.sub(r"<hr\b[^>]*>.*?(<hr\b[^>]*>|</td>)", " ", html, flags=re.S)


def parts(message) -> tuple[str, str, str]:
    subject = " ".join(message["Subject"].split())
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return subject, _without_the_letter(text), _without_the_letter_html(html)


def their_words(dispute) -> list[str]:
    """What the test and its people put in the email: names, addresses, typed text, the letter's own
    words (the letter, its subject and its offer are the letter's; they are translated as a letter)."""
    company, resident, manager = dispute.company, dispute.resident, dispute.manager
    words = [resident.name, resident.email, manager.name, manager.email, company.name, company.contact_email,
             company.supervisor_name, company.supervisor_email, company.mediation_service_name,
             company.mediation_service_contact, dispute.issue, dispute.what_was_fixed or "",
             *TYPED, *(item.description for item in dispute.items),
             *(item.company_reason or "" for item in dispute.items)]
    if dispute.unit is not None:
        words += [dispute.unit.property.name, dispute.unit.label]
    for letter in outcome.letters_of(dispute):
        words.append(letter.subject)
    for task in db.session.scalars(select(Task).where(Task.dispute_id == dispute.id)):
        words += [str(line) for line in (task.detail or {}).get("resident_lines", [])]
        words += [str(line) for line in (task.detail or {}).get("lines", [])]
    letter = outcome.sent_letter(dispute)
    if letter is not None:
        offer = render.offer_of(letter, dispute)
        words += [str(line) for line in getattr(offer, "lines", None) or []]
    return [w for w in words if w]


def _urls_out(text: str) -> str:
    return re.sub(r"https?://\S+|\S+@\S+", " ", text)


@pytest.fixture
def staff(manager):
    return Actor.staff(manager)


def tell_story(template, request, make_dispute, staff):
    story = STORIES[template]
    needs = {"make_dispute": make_dispute, "staff": staff}
    if template.startswith("ladder_"):
        needs["supervisor"] = request.getfixturevalue("supervisor")
    dispute = story(**needs)
    db.session.commit()
    return dispute


# Spanish ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("template", sorted(STORIES))
def test_a_spanish_speaking_resident_reads_the_email_in_spanish(template, request, resident, make_dispute, staff,
                                                                 smtp):
    resident.preferred_language = "es"
    dispute = tell_story(template, request, make_dispute, staff)
    subject, text, html = parts(arrived(smtp, dispute, template))
    data = their_words(dispute)

    if template != "outcome_letter":  # its subject is the letter's own
        assert english_left(_urls_out(subject), data) == [], subject
    assert english_left(_urls_out(text), data) == [], text
    assert english_left(_urls_out(plain(html)), data) == [], plain(html)
    assert '<html lang="es">' in html
    for body in (subject, text, plain(html)):
        assert not ENGLISH_DATE.search(body), body
    if template not in WITHOUT_DATES:
        assert SPANISH_DATE.search(text) and SPANISH_DATE.search(plain(html)), text


def test_the_invitation_in_spanish_says_what_to_send_and_by_when(resident, make_dispute, company, smtp):
    resident.preferred_language = "es"
    dispute = make_dispute("awaiting_evidence", items=[CARPET])
    db.session.commit()
    subject, text, html = parts(arrived(smtp, dispute, "evidence_invitation"))
    assert subject == "Por favor, envíenos su versión a más tardar el sábado, 14 de marzo de 2026"
    for body in (text, plain(html)):
        body = " ".join(body.split())
        assert f"Hola, {resident.name}:" in body
        assert "Carpet cleaning: $150" in body and "Stains in the bedroom" in body
        assert "14 de marzo de 2026" in body
        assert "en un plazo de 7 días desde que recibamos su versión" in body
        assert f"escríbame a {dispute.manager.email} o llame a la oficina al {company.contact_phone}" in body
        assert f"{company.supervisor_name}, al {company.supervisor_phone}" in body
        assert "Saludos cordiales," in body
    assert "QUÉ ENVIARNOS" in text
    assert f"Reclamación n.º {dispute.id}, {dispute.unit.property.name}, unidad {dispute.unit.label}" in html


def test_the_automatic_answer_to_a_reply_says_why_in_spanish(resident, make_dispute, smtp):
    resident.preferred_language = "es"
    dispute = _not_filed(make_dispute)
    subject, text, html = parts(arrived(smtp, dispute, "reply_not_filed"))
    assert subject.startswith("No pudimos añadir su correo a su caso")
    assert ("Lo siento, pero no pudimos añadirlo a su caso porque el plazo para enviar su versión en este caso "
            "ya terminó, o su caso ya pasó a otra etapa.") in " ".join(text.split())


def test_a_refused_reply_is_answered_in_spanish_with_what_was_wrong(app, resident, make_dispute, smtp):
    resident.preferred_language = "es"
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    app.config["INBOUND_MAX_BYTES"] = 2 * 1024 * 1024
    receive(reply(dispute, files=[("scan.pdf", pdf("x" * 3 * 1024 * 1024), "application/pdf")]), via="imap")
    subject, text, html = parts(arrived(smtp, dispute, "reply_not_filed"))
    assert ("Lo siento, pero no pudimos añadirlo a su caso: pesa más de los 2 MB que podemos recibir por correo. "
            "No se ha guardado nada de él.") in " ".join(text.split())
    assert english_left(_urls_out(text), their_words(dispute)) == [], text


# English, and the staff ------------------------------------------------------------------------

# What the English emails say, as before: (the subject's start, a sentence of the text).
IN_ENGLISH = {
    "evidence_invitation": ("Please send us your side by Saturday 14 March 2026",
                            "We want to get it right, so we would like to hear your side in full."),
    "evidence_receipt": ("We have your side: our written answer by Monday 16 March 2026",
                         "Thank you for sending us your side. We received it at 10:00 AM on Monday 9 March 2026"),
    "outcome_letter": ("Our written reply", "Here is our written reply, as promised."),
    "reply_not_filed": ("We could not add your email to your case: Re: Please send us your side",
                        "I'm sorry, but we could not add it to your case, because the time for sending your side"),
}


@pytest.mark.parametrize("template", sorted(IN_ENGLISH))
def test_the_same_email_to_an_english_speaking_resident_is_unchanged(template, request, resident, make_dispute,
                                                                     staff, smtp):
    assert resident.preferred_language == "en"
    dispute = tell_story(template, request, make_dispute, staff)
    subject, text, html = parts(arrived(smtp, dispute, template))
    opening, sentence = IN_ENGLISH[template]
    assert subject.startswith(opening)
    assert sentence in " ".join(text.split()) and sentence in plain(html)
    assert '<html lang="en">' in html and f"Dispute #{dispute.id}" in html
    assert not SPANISH_DATE.search(subject + text + html)


def test_staff_and_team_emails_about_a_spanish_speakers_dispute_stay_in_english(resident, make_dispute, manager,
                                                                                 staff, smtp):
    resident.preferred_language = "es"
    dispute = make_dispute("panel_review")
    db.session.commit()
    send_pending()
    to_others = [m for m in smtp.messages if dispute.resident.email not in m["rcpt"]]
    assert {m["message"]["Subject"] for m in to_others}  # the manager and the team were told
    for item in to_others:
        message = item["message"]
        text = message.get_body(preferencelist=("plain",)).get_content()
        assert not SPANISH_DATE.search(text), text
        assert not re.search(r"\b(por favor|usted|su versión)\b", text, re.I), text
        assert '<html lang="en">' in message.get_body(preferencelist=("html",)).get_content()
    to_resident = [m["message"] for m in smtp.messages if dispute.resident.email in m["rcpt"]]
    assert to_resident and all('<html lang="es">' in m.get_body(preferencelist=("html",)).get_content()
                               for m in to_resident)


def test_every_email_template_is_known():
    """A new email is either a resident's (with a story above, so it is checked in Spanish) or staff's."""
    names = {path.stem for path in TEMPLATES.glob("*.txt") if not path.stem.startswith("_")}
    unknown = names - set(STORIES) - NOT_TO_RESIDENTS
    assert unknown == set(), "say who reads these: add a story to STORIES, or the name to NOT_TO_RESIDENTS"

