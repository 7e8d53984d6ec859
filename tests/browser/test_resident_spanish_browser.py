"""A Spanish-speaking resident in a real browser, on a 320 px screen (a phone at a large zoom): the
invitation's link, the switch to Spanish, the form refused once and then sent, and the receipt — every
page in Spanish, with nothing axe-core finds and nothing wider than the screen."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from resolver.extensions import db
from resolver.models import Resident, Submission

from ..spanish import english_left
from .screen import fits_the_screen
from .test_resident_browser import invited  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser


def nothing_found_by_axe(page) -> None:
    from axe_playwright_python.sync_playwright import Axe  # axe-core ships in the package: nothing fetched

    found = Axe().run(page)
    assert found.violations_count == 0, found.generate_report()


def read_in_spanish(page, dispute, *typed: str) -> None:
    """The page is Spanish (its language and its words), fits the screen, and axe finds nothing on it."""
    assert page.evaluate("document.documentElement.lang") == "es"
    company, resident = dispute.company, dispute.resident
    own = [resident.name, resident.email, dispute.unit.label, company.name, company.contact_email,
           company.supervisor_name, company.supervisor_email, dispute.manager.name, dispute.manager.email,
           dispute.issue, dispute.what_was_fixed, "America/Denver", "Resolver",
           *(text for item in dispute.items for text in (item.description, item.company_reason)), *typed]
    assert english_left(page.evaluate("document.title + ' ' + document.body.innerText"), own) == []
    assert fits_the_screen(page)
    nothing_found_by_axe(page)


@pytest.mark.viewport({"width": 320, "height": 640})
def test_a_resident_switches_to_spanish_and_sends_their_side(page, invited, screenshot):  # noqa: F811
    dispute, link = invited
    page.goto(link)
    expect(page.get_by_role("heading", name="Send your side")).to_be_visible()

    page.get_by_role("button", name="Español").focus()
    page.keyboard.press("Enter")  # the switch works from the keyboard
    expect(page.get_by_role("heading", name="Envíe su versión")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("A partir de ahora le escribiremos en español")
    expect(page.locator("#deadline")).to_contain_text("del sábado, 14 de marzo de 2026")
    read_in_spanish(page, dispute)
    screenshot("form-es")

    typed = ("Limpié la alfombra con vapor el día que me fui.", "Que me devuelvan el cargo de limpieza.")
    page.get_by_label("Qué pasó, en sus propias palabras").fill(typed[0])
    page.get_by_label("¿Qué lo arreglaría para usted?").fill(typed[1])
    page.get_by_label("Cantidad que pide, si la hay (opcional)").fill("ciento cincuenta")
    page.get_by_role("button", name="Enviar mi versión").click()

    expect(page.get_by_role("heading", name="Su versión todavía no se envió")).to_be_visible()
    expect(page.locator("#problem")).to_contain_text("La cantidad que pide debe escribirse así")
    read_in_spanish(page, dispute, *typed, "ciento cincuenta")
    screenshot("refused-es")

    page.get_by_label("Cantidad que pide, si la hay (opcional)").fill("150")
    page.get_by_role("button", name="Enviar mi versión").click()
    expect(page.get_by_role("heading", name="Gracias, ya tenemos su versión")).to_be_visible()
    expect(page.locator("#reply-due")).to_contain_text("Le responderemos por escrito a más tardar a las")
    read_in_spanish(page, dispute, *typed)
    screenshot("receipt-es")

    db.session.expire_all()
    assert db.session.get(Resident, dispute.resident_id).preferred_language == "es"
    submission = db.session.scalars(db.select(Submission).where(Submission.dispute_id == dispute.id)).one()
    assert submission.suggested_amount_cents == 15000 and submission.details == typed[0]
