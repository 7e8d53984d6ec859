"""Joining in a real browser: a supervisor invites a colleague from Settings, and the colleague opens
the link in the email the SMTP server received, chooses a password and lands signed in."""
from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from resolver.mail import send_pending

from ..conftest import Inbox
from .conftest import ARTIFACTS

DESKTOP = pytest.mark.viewport({"width": 1280, "height": 800})


@DESKTOP
def test_an_invited_colleague_sets_a_password_from_the_email_and_is_signed_in(app, browser, page, login, supervisor,
                                                                             smtp, screenshot, request):
    address = f"riley.{uuid.uuid4().hex[:8]}@aspen.test"
    login(page, supervisor)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.locator("#staff-name").fill("Riley New")
    page.locator("#staff-email").fill(address)
    page.locator("#staff-role").select_option("manager")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_role("status").first).to_contain_text("Riley New is invited")
    expect(page.locator("#staff")).to_contain_text("invited, not yet joined")
    screenshot("invited")

    send_pending()  # what the worker does every few seconds
    [email] = smtp.to(address)
    link = re.search(r"http://127\.0\.0\.1:\d+/set-password/\S+", Inbox.text_of(email)).group(0)

    phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()  # the colleague's own
    try:
        phone.goto(link)
        expect(phone.get_by_role("heading", name="Set your password")).to_be_visible()
        expect(phone.get_by_text("Use at least 8 characters")).to_be_visible()
        phone.get_by_label("New password").fill("a kettle on the hob")
        phone.get_by_label("The same password again").fill("a kettle on the hob")
        ARTIFACTS.mkdir(exist_ok=True)
        phone.screenshot(path=str(ARTIFACTS / f"{request.node.name}-set-password.png"), full_page=True)
        phone.get_by_role("button", name="Set my password and sign in").click()
        expect(phone.get_by_role("heading", name="What needs you now")).to_be_visible()
        expect(phone.get_by_text("Your password is set, Riley New")).to_be_visible()
        expect(phone.locator("header.site .who")).to_contain_text("Riley New")
        phone.screenshot(path=str(ARTIFACTS / f"{request.node.name}-joined.png"), full_page=True)
        phone.goto(link)  # the link worked once
        expect(phone.get_by_role("heading", name="This link cannot be used")).to_be_visible()
        phone.screenshot(path=str(ARTIFACTS / f"{request.node.name}-used.png"), full_page=True)
    finally:
        phone.context.close()
