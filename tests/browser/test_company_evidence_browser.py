"""The company's own files in a real headless chromium: a manager attaches the invoice from the dispute
page, sends the case, and the team and the resident each see it on the company's side."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from resolver.actors import Actor
from resolver.extensions import db
from resolver.links import PUBLIC_ADDRESS, current_link, token_for
from resolver.models import OutboxEmail
from resolver.services import panel

from ..test_resident_support import pdf

DESKTOP = pytest.mark.viewport({"width": 1280, "height": 800})


@DESKTOP
def test_the_company_attaches_its_invoice_and_both_others_see_it(
        app, page, login, manager, make_dispute, make_panel, screenshot, tmp_path):
    dispute = make_dispute("evidence_received")
    db.session.commit()
    invoice = tmp_path / "cleaning-invoice.pdf"
    invoice.write_bytes(pdf("Carpet cleaning invoice 4471"))
    login(page, manager)
    page.goto(f"{app.config['LIVE_URL']}/disputes/{dispute.id}")
    page.get_by_label("Files").set_input_files(str(invoice))
    page.get_by_label("What they show").fill("The cleaning company's invoice, 12 March")
    page.get_by_role("button", name="Attach to the company's side").click()
    expect(page.get_by_text("1 file added to the company's side.")).to_be_visible()
    expect(page.get_by_test_id("company-files")).to_contain_text("The cleaning company's invoice, 12 March")
    screenshot("attached")

    db.session.expire_all()  # the page changed the dispute
    members = make_panel(dispute.company, size=3)
    panel.seat_panel(Actor.staff(manager), dispute, [m.id for m in members], chair_id=None)
    panel.send_to_panel(Actor.staff(manager), dispute)
    db.session.commit()
    page.reload()
    expect(page.get_by_text("The company's files can no longer be added or removed.")).to_be_visible()
    expect(page.get_by_role("button", name="Attach to the company's side")).to_have_count(0)

    invitation = db.session.scalars(select(OutboxEmail).where(  # this dispute's: the browser tests share a database
        OutboxEmail.template == "panel_invitation", OutboxEmail.dispute_id == dispute.id)).first()
    vote_path = re.search(re.escape(PUBLIC_ADDRESS) + r"(/p/v/\S+)", invitation.body_text).group(1)
    page.goto(app.config["LIVE_URL"] + vote_path)
    company_files = page.locator("#company-files")
    expect(company_files.get_by_role("link", name="cleaning-invoice.pdf")).to_be_visible()
    expect(company_files).to_contain_text("The cleaning company's invoice, 12 March")
    screenshot("team")

    link = current_link(dispute.id, "evidence", resident_id=dispute.resident_id)
    page.goto(f"{app.config['LIVE_URL']}/r/e/{token_for(link)}/status")
    side = page.locator("#company-side")
    expect(side.get_by_role("heading", name="Our side")).to_be_visible()
    expect(side.get_by_role("link", name="cleaning-invoice.pdf")).to_be_visible()
    screenshot("resident")
