"""A Spanish-speaking resident through the whole dispute, from the emails the test SMTP server caught:
the invitation, its link on a phone, the evidence form sent with a photo, the receipt page and its
email, the status page; then the team votes for a compromise (a token and money back), the manager
sends the letter; the resident reads the letter's email (text, HTML and the PDF read back), follows
its link, confirms receipt, accepts the offer and is thanked by email. Every page and every email is
in Spanish (nothing of Resolver's own left in English, dates as "14 de marzo de 2026", amounts as
"$150"), once what the test's own people typed (names, addresses, the company's words) is set aside."""
from __future__ import annotations

import io
import re

import pypdf
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from resolver.actors import Actor
from resolver.extensions import db
from resolver.mail import send_pending
from resolver.models import Dispute, PanelMember, Vote
from resolver.services import outcome, panel

from ..conftest import Inbox
from ..spanish import english_left
from ..test_resident_support import photo
from .screen import fits_the_screen

pytestmark = pytest.mark.browser

DETAILS = "Limpié la alfombra con vapor el día que me fui; tengo fotos."
ITEM_ANSWER = "No había manchas de mascotas; vea la foto."
WISH = "Que me devuelvan el cargo de limpieza."
TOKEN = "tarjeta de regalo de una cafetería"
ENGLISH_DATES = re.compile(r"\b(January|February|March|April|May|June|July|August|September|October|November|"
                           r"December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|AM|PM)\b")
UNCONTRACTED = re.compile(r"\b(de|a) el\b")
OTHER_MONEY = re.compile(r"US\$|\d,\d\d\s?\$|\$\s?\d+,\d\d\b|\$\d+\.00\b")  # Spanish reads "$150", as in English
SPANISH_DATE = re.compile(r"\d{1,2} de (enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|"
                          r"noviembre|diciembre) de 2026")


@pytest.fixture
def spanish_invitation(resident, make_dispute, smtp):
    resident.preferred_language = "es"
    dispute = make_dispute("awaiting_evidence", items=[
        {"description": "Carpet cleaning", "amount_cents": 15000, "company_reason": "Pet stains in the bedroom."},
    ])
    db.session.commit()
    send_pending()
    [invitation] = smtp.to(dispute.resident.email)
    smtp.clear()
    return dispute, invitation


def their_data(dispute) -> list[str]:
    """What the test and its people put in: names, addresses, the company's words, the team's reasons."""
    company, resident, manager = dispute.company, dispute.resident, dispute.manager
    reasons = db.session.scalars(select(Vote.reason).where(Vote.dispute_id == dispute.id)).all()
    return [
        resident.name, resident.email, dispute.unit.label, dispute.unit.property.name, company.name,
        company.contact_email, company.supervisor_name, company.supervisor_email, manager.name, manager.email,
        company.mediation_service_name, company.mediation_service_contact, dispute.issue,
        dispute.what_was_fixed or "", dispute.company_position or "", "America/Denver", "Resolver",
        *(text for item in dispute.items for text in (item.description, item.company_reason or "")), *reasons,
    ]


def in_spanish(text: str, dispute, *, dated: bool = True) -> str:
    """``text`` reads in Spanish: no English word or date of Resolver's, a Spanish date (``dated``), amounts
    as "$150", and no "de el" where Spanish says "del" (words glued from pieces)."""
    text = re.sub(r"https?://\S+|\S+@\S+", " ", " ".join(text.split()))  # links and addresses aside
    data = their_data(dispute)
    assert english_left(text, data) == [], text
    resolvers = text
    for value in sorted(filter(None, data), key=len, reverse=True):
        resolvers = resolvers.replace(value, " ")
    for wrong in (ENGLISH_DATES, UNCONTRACTED, OTHER_MONEY):
        assert not wrong.search(resolvers), (wrong.search(resolvers).group(0), text)
    if dated:
        assert SPANISH_DATE.search(text), text
    return text


def page_in_spanish(page, dispute) -> str:
    """The page says it is Spanish, reads in Spanish and fits the phone's screen: its words."""
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.lang") == "es"
    assert fits_the_screen(page)
    return in_spanish(page.evaluate("document.title + ' ' + document.body.innerText"), dispute)


def email_in_spanish(message, dispute) -> tuple[str, str]:
    """The email's subject, text and HTML in Spanish: its text and the words of its HTML."""
    in_spanish(message["Subject"], dispute, dated=False)
    text = in_spanish(Inbox.text_of(message), dispute)
    html = Inbox.html_of(message)
    assert re.search(r'<html[^>]*\blang="es"', html), html[:200]
    return text, in_spanish(re.sub(r"<[^>]+>", " ", re.sub(r"<(style|head)\b.*?</\1>", " ", html, flags=re.S)), dispute)


def the_one_email(smtp, dispute):
    send_pending()
    [message] = smtp.to(dispute.resident.email)
    smtp.clear()
    return message


def link_in(message, kind: str) -> str:
    match = re.search(rf"https?://\S+/r/{kind}/[^\s\"<>]+", Inbox.text_of(message))
    assert match, Inbox.text_of(message)
    return match.group(0)


def team_agrees_on_a_compromise(dispute, manager) -> None:
    """The manager seats three members; two vote for a compromise (a token and $50 back), one upholds."""
    staff = Actor.staff(manager)
    team = [PanelMember(company_id=dispute.company_id, name=f"Miembro {n} del equipo",
                        email=f"miembro{dispute.id}-{n}@peers.test", organisation=f"Administración vecina {n}")
            for n in (1, 2, 3)]
    db.session.add_all(team)
    db.session.flush()
    seats = panel.seat_panel(staff, dispute, [member.id for member in team])
    panel.send_to_panel(staff, dispute)
    for seat, choice in zip(seats, ("compromise", "compromise", "uphold")):
        panel.record_vote(Actor.panel(seat.member), seat, choice=choice,
                          reason="Las fotos y el informe de la inspección cuentan parte de la historia.",
                          token_kind=TOKEN, token_cents=2500,
                          concession_cents=5000 if choice == "compromise" else None)
    panel.close_panel(Actor.system(), dispute)
    letter = outcome.draft_outcome(staff, dispute)
    # The draft leaves what comes off the charge to the manager: $50 off, $100 still owed.
    assert letter.body_text.count("[importe por completar]") == 2, letter.body_text
    filled = letter.body_text.replace("[importe por completar]", "$50", 1).replace("[importe por completar]", "$100")
    outcome.edit_letter(staff, letter, body_text=filled)
    outcome.approve_letter(staff, letter, override_reason="")
    outcome.send_outcome(staff, dispute)
    db.session.commit()


def test_a_spanish_speaking_resident_goes_through_the_whole_dispute_in_spanish(
        page, spanish_invitation, smtp, manager, screenshot):
    dispute, invitation = spanish_invitation

    # The invitation, in Spanish, says what to send and by when.
    text, _ = email_in_spanish(invitation, dispute)
    assert "14 de marzo de 2026" in text and "$150" in text

    # Its link, on a phone: the form in Spanish.
    page.goto(link_in(invitation, "e"))
    expect(page.get_by_role("heading", name="Envíe su versión")).to_be_visible()
    form = page_in_spanish(page, dispute)
    assert "14 de marzo de 2026" in form and "$150" in form
    screenshot("form")

    page.get_by_label("Qué pasó, en sus propias palabras").fill(DETAILS)
    page.get_by_label("Su respuesta sobre «Carpet cleaning»").fill(ITEM_ANSWER)
    page.get_by_label("¿Qué lo arreglaría para usted?").fill(WISH)
    page.get_by_label("Cantidad que pide, si la hay (opcional)").fill("150")
    page.get_by_label("Fotos y documentos (opcional)").set_input_files([
        {"name": "dormitorio.jpg", "mimeType": "image/jpeg", "buffer": photo()}])
    expect(page.locator("#chosen-files")).to_contain_text("dormitorio.jpg")
    page_in_spanish(page, dispute)  # what the page says of the file chosen
    page.get_by_role("button", name="Enviar mi versión").click()

    # The receipt page, and the receipt email.
    expect(page.get_by_role("heading", name="Gracias, ya tenemos su versión")).to_be_visible()
    receipt = page_in_spanish(page, dispute)
    assert "16 de marzo de 2026" in receipt and "$150" in receipt
    screenshot("receipt")
    email_in_spanish(the_one_email(smtp, dispute), dispute)

    # The status page.
    page.goto(link_in(invitation, "e") + "/status")
    page_in_spanish(page, dispute)
    screenshot("status")

    # The team and the manager: a compromise, and the letter sent.
    db.session.expire_all()
    team_agrees_on_a_compromise(db.session.get(Dispute, dispute.id), manager)
    letter_email = the_one_email(smtp, dispute)
    text, html_words = email_in_spanish(letter_email, dispute)
    for part in (text, html_words):
        assert DETAILS in part and TOKEN in part and "$25" in part and "$50" in part
    [attachment] = list(letter_email.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(attachment.get_content()))
    pdf_text = in_spanish(" ".join(page_.extract_text() for page_ in reader.pages), dispute)
    assert DETAILS in pdf_text and "$25" in pdf_text and "$50" in pdf_text

    # The letter's page, from the email's link: receipt confirmed, the offer accepted.
    page.goto(link_in(letter_email, "o"))
    expect(page.locator(".letter")).to_contain_text(DETAILS)
    page_in_spanish(page, dispute)
    screenshot("letter")
    page.get_by_role("button", name="Sí, recibí esta carta").click()
    expect(page.get_by_text("Nos confirmó que la recibió el lunes, 9 de marzo de 2026.")).to_be_visible()
    page_in_spanish(page, dispute)
    smtp.clear()
    page.get_by_role("button", name="Aceptar la oferta").click()
    expect(page.get_by_role("button", name="Aceptar la oferta")).to_have_count(0)
    expect(page.get_by_text("Usted aceptó esta oferta el lunes, 9 de marzo de 2026.")).to_be_visible()
    page_in_spanish(page, dispute)
    screenshot("accepted")

    # The confirmation email, with what the manager will do, in Spanish too.
    text, html_words = email_in_spanish(the_one_email(smtp, dispute), dispute)
    for part in (text, html_words):
        assert "se descuenta una parte del cargo de $150" in part and TOKEN in part and "$50" in part
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).state != "outcome_sent"
