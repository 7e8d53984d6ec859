"""A resident who reads Spanish gets the outcome letter in Spanish: its words, its text and HTML, its
PDF (a tagged, accessible PDF that says it is in Spanish), its dates; what staff typed in English is
shown as English, said so in Spanish; and a Spanish letter is read by the Spanish tone rules."""
from __future__ import annotations

import io
import re

import pypdf
import pytest
from sqlalchemy import select

from resolver.actors import Actor
from resolver.extensions import db
from resolver.files import read_bytes
from resolver.letters.receipt import paper_receipt_pdf
from resolver.letters.tone import check_letter, check_tone, reading_ease_spanish
from resolver.models import OutboxEmail, Vote
from resolver.services import outcome
from resolver.services.outcome.decision import latest_submission
from tests.spanish import english_left

MANAGERS_ENGLISH = "I have also asked our maintenance team to check the carpet again next week."


@pytest.fixture
def staff(manager):
    return Actor.staff(manager)


@pytest.fixture
def spanish_resident(resident):
    resident.preferred_language = "es"
    return resident


def typed_by_people(dispute) -> list[str]:
    """What the test's people typed (names, the resident's words, the team's reasons, the company's
    settings): English the letter may quote, not the letter's own words."""
    company, resident, manager = dispute.company, dispute.resident, dispute.manager
    reasons = db.session.scalars(select(Vote.reason).where(Vote.dispute_id == dispute.id)).all()
    return [
        resident.name, resident.email, manager.name, manager.email, company.name, company.contact_email,
        company.supervisor_name, company.supervisor_email, company.mediation_service_name,
        company.mediation_service_contact, dispute.unit.property.name, dispute.issue, dispute.decision_note or "",
        "The carpet was clean when I left; I have photos.", "Refund the $150 cleaning charge.",
        "coffee-shop gift card", "back from your security deposit", "the deductions from your security deposit",
        "The photos and the inspection report point this way.", *[item.description for item in dispute.items],
        *reasons,
    ]


def sent_spanish_letter(make_dispute, staff, *, votes=("uphold", "resident", "resident")):
    dispute = make_dispute("decided", votes=votes)
    letter = outcome.draft_outcome(staff, dispute)
    outcome.approve_letter(staff, letter, override_reason="checked by hand")
    outcome.send_outcome(staff, dispute)
    return dispute, letter


def words_of(html: str) -> str:
    """What a person reads in ``html``: its text, tags aside."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace(" .", ".").split())


def pdf_of(letter) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(read_bytes(letter.pdf_sha256)))


def pdf_text(reader: pypdf.PdfReader) -> str:
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_a_spanish_speaking_residents_letter_is_drafted_in_spanish_and_says_so(spanish_resident, make_dispute, staff):
    dispute = make_dispute("decided", votes=("uphold", "resident", "resident"))
    letter = outcome.draft_outcome(staff, dispute)
    assert letter.language == "es"
    text = " ".join(letter.body_text.split())
    assert text.startswith(f"Estimado/a {spanish_resident.name}:")
    assert "Gracias por enviarnos su versión de los hechos" in text
    assert "a nuestro equipo de resolución: tres personas" in text
    assert english_left(letter.body_text, typed_by_people(dispute)) == []
    assert english_left(letter.subject, typed_by_people(dispute)) == []
    assert 'lang="es"' in letter.body_html
    assert english_left(words_of(letter.body_html), typed_by_people(dispute)) == []


ITEMS = [
    {"description": "Carpet cleaning", "amount_cents": 15000, "company_reason": "Stains in the bedroom."},
    {"description": "Wall repair", "amount_cents": 8000, "company_reason": "Holes by the door."},
]


@pytest.mark.parametrize("votes, items", [
    (("uphold", "uphold", "uphold"), None),
    (("compromise", "compromise", "uphold"), None),
    (("compromise", "compromise", "resident"), ITEMS),
    (("resident", "resident", "uphold"), ITEMS),
    (("uphold", "resident", "compromise"), None),
])
def test_every_kind_of_decision_is_drafted_wholly_in_spanish(spanish_resident, make_dispute, staff, votes, items):
    dispute = make_dispute("decided", votes=votes, items=items)
    letter = outcome.draft_outcome(staff, dispute)
    assert english_left(letter.body_text, typed_by_people(dispute)) == []
    assert english_left(words_of(letter.body_html), typed_by_people(dispute)) == []


def test_the_sent_letter_text_html_and_pdf_are_spanish_with_spanish_dates_and_us_amounts(
        spanish_resident, make_dispute, staff):
    dispute, letter = sent_spanish_letter(make_dispute, staff)
    email = db.session.scalars(select(OutboxEmail).where(OutboxEmail.template == "outcome_letter")).one()
    reader = pdf_of(letter)
    text = pdf_text(reader)
    data = typed_by_people(dispute)
    # The dates the resident can hold us to, written the Spanish way; the amounts as in the United States.
    assert "Esta oferta está vigente hasta el miércoles, 8 de abril de 2026." in text
    assert "Por favor, avíseme que recibió esta carta a más tardar el lunes, 16 de marzo de 2026." in text
    assert "$25" in text and "$50" in text
    assert "Nuestra oferta para usted" in text and "Saludos cordiales," in text
    assert english_left(text, data + ["mediation.test"]) == []
    assert "Esta oferta está vigente hasta el miércoles, 8 de abril de 2026." in words_of(letter.body_html)
    # The email's text part carries the same Spanish letter.
    assert "NUESTRA OFERTA PARA USTED" in email.body_text
    assert "Esta oferta está vigente hasta el miércoles, 8 de abril de 2026." in email.body_text


def test_the_letter_pdf_is_tagged_and_names_its_language(spanish_resident, make_dispute, staff):
    _, letter = sent_spanish_letter(make_dispute, staff)
    root = pdf_of(letter).trailer["/Root"]
    assert "/StructTreeRoot" in root
    assert root["/MarkInfo"]["/Marked"].value is True
    assert root["/Lang"] == "es"


def test_an_english_letters_pdf_is_tagged_and_says_english(make_dispute, staff):
    _, letter = sent_spanish_letter(make_dispute, staff)  # the resident prefers nothing: English
    root = pdf_of(letter).trailer["/Root"]
    assert letter.language == "en"
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"].value is True
    assert root["/Lang"] == "en"
    assert "This offer is open until Wednesday 8 April 2026." in pdf_text(pdf_of(letter))


def test_a_letter_keeps_the_language_it_was_written_in_when_the_resident_changes_theirs(
        spanish_resident, make_dispute, staff):
    dispute = make_dispute("decided", votes=("uphold", "resident", "resident"))
    letter = outcome.draft_outcome(staff, dispute)
    spanish_resident.preferred_language = "en"  # changed before the letter went
    outcome.approve_letter(staff, letter, override_reason="checked by hand")
    outcome.send_outcome(staff, dispute)
    text = pdf_text(pdf_of(letter))
    assert "Nuestra oferta para usted" in text and "Our offer to you" not in text
    assert pdf_of(letter).trailer["/Root"]["/Lang"] == "es"


def test_the_managers_english_paragraph_is_shown_with_a_note_in_spanish(spanish_resident, make_dispute, staff):
    dispute = make_dispute("decided", votes=("uphold", "resident", "resident"))
    letter = outcome.draft_outcome(staff, dispute)
    outcome.edit_letter(staff, letter, body_text=letter.body_text + "\n" + MANAGERS_ENGLISH + "\n")
    html = " ".join(letter.body_html.split())
    assert (f"Este párrafo lo escribió su administrador en inglés:</p> <p style=\"margin: 0 0 1em;\">"
            f"{MANAGERS_ENGLISH}") in html
    # The Spanish paragraphs the draft wrote carry no such note: only the one the manager added.
    assert html.count("Este párrafo lo escribió su administrador en inglés") == 1


def test_the_manager_sees_the_english_of_a_spanish_draft_beside_it(spanish_resident, make_dispute, staff, manager,
                                                                 signed_in_client):
    dispute = make_dispute("decided", votes=("uphold", "resident", "resident"))
    letter = outcome.draft_outcome(staff, dispute)
    assert f"Dear {spanish_resident.name}," in letter.english_html
    assert "Our offer to you" in letter.english_html
    db.session.commit()
    page = signed_in_client(manager).get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert "The letter as drafted, in English" in page
    assert f"Dear {spanish_resident.name}," in page


def test_an_english_letter_has_no_english_copy_and_no_language_notes(make_dispute, staff):
    dispute = make_dispute("decided", votes=("uphold", "resident", "resident"))
    letter = outcome.draft_outcome(staff, dispute)
    outcome.edit_letter(staff, letter, body_text=letter.body_text + "\n" + MANAGERS_ENGLISH + "\n")
    assert letter.english_html == ""
    assert "administrador" not in letter.body_html and "in English" not in letter.body_html


def test_a_spanish_letter_that_blames_or_refuses_coldly_is_flagged_by_the_spanish_rules(
        spanish_resident, make_dispute, staff):
    dispute = make_dispute("decided", votes=("uphold", "uphold", "uphold"))
    letter = outcome.draft_outcome(staff, dispute)
    assert outcome.tone_flags(letter) == []  # the Spanish draft passes its own check
    cold = ("Por medio de la presente le informamos que su solicitud ha sido denegada. "
            "El daño en la alfombra es su culpa.")
    outcome.edit_letter(staff, letter, body_text=letter.body_text + "\n" + cold + "\n")
    codes = {flag["code"] for flag in letter.tone_flags}
    assert {"flat_refusal", "blaming", "lecturing", "cold_phrasing"} <= codes
    with pytest.raises(outcome.ToneCheckFailed):
        outcome.approve_letter(staff, letter)


def test_an_english_paragraph_in_a_spanish_letter_is_read_by_the_english_rules_too():
    letter = ("Siento mucho lo que pasó. Usted nos contó que la alfombra estaba limpia. Le avisaré en un plazo de "
              "5 días. Gracias.\n\nAs I already told you, we will not refund the deposit.")
    assert {flag.code for flag in check_tone(letter, language="es")} == {"already_told", "flat_refusal"}


def test_the_spanish_rules_read_spanish_and_the_english_rules_english():
    spanish = "Lamento que se sienta así. Cálmese, por favor. Como ya le dije, no vamos a devolver el depósito."
    codes = {flag.code for flag in check_tone(spanish, language="es")}
    assert {"sorry_you_feel", "calm_down", "already_told", "flat_refusal", "missing_apology"} <= codes
    kind = ("Siento mucho lo que pasó. Usted nos contó que la alfombra estaba limpia. Le avisaré en un plazo de "
            "5 días. Gracias.")
    assert check_tone(kind, language="es") == []


def test_spanish_readability_is_measured_the_spanish_way(spanish_resident, make_dispute, staff):
    assert reading_ease_spanish("Gracias por su carta. La leímos con cuidado.") > 70
    hard = ("La administración, considerando las circunstancias extraordinariamente particulares de la "
            "reclamación interpuesta, determinó subsecuentemente la improcedencia administrativa de la "
            "devolución solicitada por incumplimiento contractual documentado.")
    assert reading_ease_spanish(hard) < 40
    dispute = make_dispute("decided", votes=("uphold", "uphold", "uphold"))
    letter = outcome.draft_outcome(staff, dispute)
    assert "hard_to_read" not in {flag["code"] for flag in letter.tone_flags}  # the Spanish draft reads plainly
    flags = check_letter(hard, own_words=hard, is_against_resident=False, is_without_mediation=True, language="es")
    hard_to_read = [flag.message for flag in flags if flag.code == "hard_to_read"]
    assert len(hard_to_read) == 1 and "Fernández-Huerta" in hard_to_read[0]


def test_the_printed_receipt_is_in_the_residents_language(spanish_resident, make_dispute):
    dispute = make_dispute("decided", votes=("uphold", "resident", "resident"))
    submission = latest_submission(dispute)
    reader = pypdf.PdfReader(io.BytesIO(paper_receipt_pdf(dispute, submission)))
    text = pdf_text(reader)
    assert f"Estimado/a {spanish_resident.name}:" in text
    assert "Gracias por enviarnos su versión. La recibimos a las" in text
    assert "Cantidad que solicita: $150" in text
    # (an email address may be broken across a line; it is an address, not words)
    without_addresses = re.sub(r"\S+@\S+(?: \S+\.test)?", " ", text)
    assert english_left(without_addresses, typed_by_people(dispute) + ["America/Denver"]) == []
    assert reader.trailer["/Root"]["/Lang"] == "es"
