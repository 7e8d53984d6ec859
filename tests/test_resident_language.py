"""A resident who reads Spanish reads their pages in Spanish: the form, its errors, the receipt, the
status and the outcome page; and on every page behind their link they can switch the language, which
is remembered for their next visit, their emails and their letter, and kept in the dispute's history."""
from __future__ import annotations

import html as html_text
import re

import pytest
from sqlalchemy import select

from resolver import clock
from resolver.extensions import db
from resolver.links import revoke_links
from resolver.models import AuditEvent, Resident

from .dispute_checks import snapshot
from .spanish import english_left
from .test_outcome_pages import csrf_from
from .test_outcome_pages import path_of as outcome_path
from .test_resident_support import EXECUTABLE, ResidentForm, evidence_path

ITEMS = [{"description": "Carpet cleaning", "amount_cents": 15000, "company_reason": "Pet stains in the bedroom."}]


@pytest.fixture
def spanish(resident):
    resident.preferred_language = "es"
    db.session.flush()
    return resident


@pytest.fixture
def waiting(make_dispute, spanish):
    dispute = make_dispute("awaiting_evidence", items=ITEMS)
    db.session.commit()
    return dispute


def words_on(page: str) -> str:
    """What a person reads on ``page``: its title and text, without markup, scripts or the letter's
    copy (the letter is written in the resident's language by the letter itself)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r'<div class="card letter-copy">.*?</div>\s*</section>', " ", page, flags=re.S)
    return html_text.unescape(re.sub(r"<[^>]+>", " ", page))


def their_own(dispute) -> list[str]:
    """What the test's own data put on the page: names, the company's settings, the dispute's words."""
    company, resident, manager = dispute.company, dispute.resident, dispute.manager
    return [resident.name, resident.email, dispute.unit.label, company.name, company.contact_email,
            company.supervisor_name, company.supervisor_email, company.mediation_service_name,
            company.mediation_service_contact, manager.name, manager.email, dispute.issue, dispute.what_was_fixed,
            company.time_zone.replace("_", " "), "Resolver",
            *(text for item in dispute.items for text in (item.description, item.company_reason))]


def assert_all_spanish(response, dispute, *more: str) -> str:
    page = response.get_data(as_text=True)
    assert '<html lang="es">' in page
    assert english_left(words_on(page), [*their_own(dispute), *more]) == []
    return page


def test_the_form_is_in_spanish_with_its_dates(client, waiting):
    page = assert_all_spanish(ResidentForm(client, waiting).open(), waiting)
    assert "Envíe su versión a más tardar a las 11:59\u202fp.m. del sábado, 14 de marzo de 2026" in page
    assert "Es decir, dentro de 5 días (hora de America/Denver)." in page
    assert "Qué pasó, en sus propias palabras" in page and "Enviar mi versión" in page
    assert "Su respuesta sobre «Carpet cleaning»" in page
    assert "$150" in page  # the item's amount, written as in the United States


def test_the_forms_refusals_are_in_spanish(client, waiting):
    form = ResidentForm(client, waiting)
    refused = form.send(details="", suggestion="", amount="")
    assert refused.status_code == 422
    page = assert_all_spanish(refused, waiting)
    assert "Cuéntenos qué pasó, o adjunte al menos un archivo." in page
    assert "Su versión todavía no se envió" in page

    typed = ("La alfombra estaba limpia.", "Devuélvanme el cargo.", "ciento cincuenta")
    refused = form.send(details=typed[0], suggestion=typed[1], amount=typed[2])
    assert refused.status_code == 422
    page = assert_all_spanish(refused, waiting, *typed)
    assert "La cantidad que pide debe escribirse así: 150 o 150.00 (dólares y centavos)." in page

    refused = form.send(details=typed[0], suggestion=typed[1], files=[("programa.exe", EXECUTABLE)])
    assert refused.status_code == 422
    page = assert_all_spanish(refused, waiting, *typed, "programa.exe")
    assert "«programa.exe» es un programa, no una foto ni un documento" in page


def test_the_receipt_and_the_status_page_are_in_spanish(client, waiting):
    typed = ("Dejé la alfombra limpia.", "Devuélvanme el cargo.")
    sent = ResidentForm(client, waiting).send(details=typed[0], suggestion=typed[1], amount="150")
    assert sent.status_code == 303
    receipt = assert_all_spanish(client.get(sent.headers["Location"]), waiting, *typed)
    assert "Gracias, ya tenemos su versión" in receipt and "Cantidad que pide: <strong>$150</strong>" in receipt
    status = assert_all_spanish(client.get(evidence_path(waiting, "/status")), waiting, *typed)
    assert "Cómo va su caso" in status and "Recibimos su versión" in status


def test_a_withdrawn_link_says_so_in_spanish(client, waiting):
    path = evidence_path(waiting)
    revoke_links(waiting.id, "evidence", clock.now_utc(), "testing")
    db.session.commit()
    response = client.get(path)
    assert response.status_code == 410
    assert "Este enlace ya no está activo" in assert_all_spanish(response, waiting)


def test_the_outcome_page_is_in_spanish(client, make_dispute, spanish):
    dispute = make_dispute("outcome_sent", votes=("uphold", "compromise", "compromise"))
    db.session.commit()
    response = client.get(outcome_path(dispute))
    # The offer's lines are the letter's own words, written by the letter in the resident's language.
    offer = re.search(r'<h2 id="offer-heading">.*?<ul>(.*?)</ul>', response.get_data(as_text=True), re.S)
    page = assert_all_spanish(response, dispute, *(words_on(offer.group(1)).split("\n") if offer else ()))
    assert "Nuestra respuesta por escrito" in page and "Sí, recibí esta carta" in page
    assert "Aceptar la oferta" in page and "Descargar la carta (PDF)" in page


# The language switch ------------------------------------------------------------------------------

def switch(client, path: str, language: str, *, back: str | None = None):
    page = client.get(path).get_data(as_text=True)
    base = path.split("/")[:4]  # /r/e/<token>
    return client.post("/".join(base) + "/language",
                       data={"csrf_token": csrf_from(page), "language": language, "back": back or path})


def preferred(resident_id: int) -> str:
    return db.session.execute(select(Resident.preferred_language).where(Resident.id == resident_id)).scalar_one()


def language_events(dispute) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(
        AuditEvent.dispute_id == dispute.id, AuditEvent.action == "language_chosen")).all()


def test_every_page_behind_the_link_offers_the_other_language_named_in_itself(client, make_dispute):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    page = client.get(evidence_path(dispute)).get_data(as_text=True)
    assert '<html lang="en">' in page
    assert '<button type="submit" name="language" value="es" lang="es">Español</button>' in page
    assert 'aria-labelledby="language-label"' in page and "Language:" in page


def test_switching_to_spanish_is_remembered_and_recorded(client, app, make_dispute, signed_in_client, manager):
    dispute = make_dispute("awaiting_evidence", items=ITEMS)
    db.session.commit()
    status = evidence_path(dispute, "/status")
    response = switch(client, status, "es")
    assert response.status_code == 303 and response.headers["Location"].endswith(status)
    page = assert_all_spanish(client.get(response.headers["Location"]), dispute)
    assert "A partir de ahora le escribiremos en español" in page
    assert preferred(dispute.resident_id) == "es"
    [event] = language_events(dispute)
    assert event.actor_kind == "resident" and event.actor_label == "Resident" and event.data == {"language": "es"}
    # The next visit, from another browser, is in Spanish too.
    assert_all_spanish(app.test_client().get(evidence_path(dispute)), dispute)
    # The manager reads it in the dispute's history, in words.
    history = signed_in_client(manager).get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert (f"{dispute.resident.name} chose to read Resolver in Spanish: their pages, emails and letters "
            "from now on.") in history


def test_switching_back_to_english_from_the_outcome_page(client, make_dispute, spanish):
    dispute = make_dispute("outcome_sent", votes=("uphold", "compromise", "compromise"))
    db.session.commit()
    path = outcome_path(dispute)
    page = client.get(path).get_data(as_text=True)
    assert '<button type="submit" name="language" value="en" lang="en">English</button>' in page
    response = switch(client, path, "en")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert '<html lang="en">' in page and "Our written reply" in page
    assert "From now on we will write to you in English" in page
    assert preferred(dispute.resident_id) == "en" and len(language_events(dispute)) == 1


def test_an_unknown_language_is_refused_and_changes_nothing(client, waiting):
    before = snapshot(waiting.id)
    response = switch(client, evidence_path(waiting), "xx")
    assert response.status_code == 422
    assert "Por favor, elija uno de los idiomas de la lista." in response.get_data(as_text=True)
    assert preferred(waiting.resident_id) == "es" and snapshot(waiting.id) == before


def test_a_switch_without_the_pages_security_token_changes_nothing(client, waiting):
    before = snapshot(waiting.id)
    response = client.post(evidence_path(waiting, "/language"), data={"language": "en"})
    assert response.status_code == 400
    assert preferred(waiting.resident_id) == "es" and snapshot(waiting.id) == before


def test_a_withdrawn_link_cannot_switch(client, waiting):
    path = evidence_path(waiting)
    page = client.get(path).get_data(as_text=True)
    revoke_links(waiting.id, "evidence", clock.now_utc(), "testing")
    db.session.commit()
    before = snapshot(waiting.id)
    response = client.post(path + "/language", data={"csrf_token": csrf_from(page), "language": "en"})
    assert response.status_code == 410
    assert preferred(waiting.resident_id) == "es" and snapshot(waiting.id) == before


def test_the_switch_goes_back_only_to_the_links_own_pages(client, waiting):
    form = evidence_path(waiting)
    for elsewhere in ("https://example.test/phish", "//example.test/phish", "/manager/", form + "/more-time"):
        response = switch(client, form, "en", back=elsewhere)
        assert response.status_code == 303
        assert response.headers["Location"].endswith(form), elsewhere


def test_the_switch_keeps_the_links_pace(client, waiting, frozen_clock):
    path = evidence_path(waiting)
    for language in ("en", "es") * 5:  # ten sends in an hour: as many as a link may
        assert switch(client, path, language).status_code == 303
    before = snapshot(waiting.id)
    response = switch(client, path, "en")
    assert response.status_code == 429 and "Espere un poco antes de enviar de nuevo" in response.get_data(as_text=True)
    assert preferred(waiting.resident_id) == "es" and snapshot(waiting.id) == before


def test_the_outcome_pages_answers_and_refusals_are_in_spanish(client, make_dispute, spanish):
    dispute = make_dispute("outcome_sent", votes=("uphold", "compromise", "compromise"))
    db.session.commit()
    path = outcome_path(dispute)
    token = csrf_from(client.get(path).get_data(as_text=True))
    accepted = client.post(path + "/offer", data={"csrf_token": token, "answer": "accept"})
    page = client.get(accepted.headers["Location"]).get_data(as_text=True)
    assert "Gracias. Usted aceptó nuestra oferta; le avisaremos cuando esté hecho." in page
    again = client.post(path + "/offer", data={"csrf_token": token, "answer": "decline"})
    assert "Su respuesta ya está registrada: aceptó esta oferta el lunes, 9 de marzo de 2026." in again.get_data(
        as_text=True)
    refused = client.post(path + "/offer", data={"csrf_token": token, "answer": "maybe"})
    assert refused.status_code == 422
    assert "Por favor, elija uno de los dos botones." in refused.get_data(as_text=True)


def test_a_button_pressed_without_the_outcome_pages_security_token_is_explained_in_spanish(client, make_dispute,
                                                                                           spanish):
    dispute = make_dispute("outcome_sent", votes=("uphold", "compromise", "compromise"))
    db.session.commit()
    before = snapshot(dispute.id)
    response = client.post(outcome_path(dispute) + "/receipt")
    assert response.status_code == 400 and snapshot(dispute.id) == before
    assert "Por su seguridad, hay que enviar esta página otra vez." in response.get_data(as_text=True)
