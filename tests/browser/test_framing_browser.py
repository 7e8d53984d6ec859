"""The pages people open from their emails, in a real chromium under Resolver's Content-Security-Policy:
another site cannot frame them, the token in their address is never sent on in a Referer, and the
evidence form, its receipt and the vote page still do what their scripts did, with nothing refused."""
from __future__ import annotations

import threading
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from resolver.actors import Actor
from resolver.extensions import db
from resolver.links import current_link, token_for
from resolver.mailcatcher import mailbox_folder, store_message
from resolver.services import panel

from ..conftest import free_port

pytestmark = pytest.mark.browser


def live(app, path: str) -> str:
    return app.config["LIVE_URL"] + path


@pytest.fixture
def outcome_path(make_dispute):
    dispute = make_dispute("outcome_sent", votes=("uphold", "compromise", "compromise"))
    db.session.commit()
    return f"/r/o/{token_for(current_link(dispute.id, 'outcome', resident_id=dispute.resident_id))}"


@pytest.fixture
def vote_path(make_dispute, make_panel, manager):
    dispute = make_dispute("evidence_received")
    members = make_panel(dispute.company, size=3)
    [seat, *_] = panel.seat_panel(Actor.staff(manager), dispute, [m.id for m in members])
    panel.send_to_panel(Actor.staff(manager), dispute)
    db.session.commit()
    return f"/p/v/{token_for(current_link(dispute.id, 'vote', seat_id=seat.id))}"


@pytest.fixture
def refusals(page):
    """What chromium reports it refused under the page's policy (an inline script, a style, a frame)."""
    refused = []
    page.on("console", lambda message: refused.append(message.text) if "Refused to" in message.text else None)
    return refused


@pytest.fixture
def another_site():
    """A page on another origin (another port on loopback) that frames whatever ``frame(urls)`` names."""
    framed: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = "".join(f'<iframe src="{url}" width="600" height="400"></iframe>' for url in framed)
            data = f"<!doctype html><title>Not Resolver</title>{body}".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def frame(urls: list[str]) -> str:
        framed[:] = urls
        return f"http://127.0.0.1:{server.server_port}/"

    yield frame
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_another_site_cannot_frame_any_page_opened_from_an_email(
    app, page, another_site, evidence_path, outcome_path, vote_path
):
    urls = [live(app, path) for path in (evidence_path, f"{evidence_path}/status", outcome_path, vote_path)]
    page.goto(another_site(urls))
    page.wait_for_load_state("load")
    frames = [frame for frame in page.frames if frame != page.main_frame]
    assert len(frames) == len(urls)
    for frame in frames:
        # A refused frame shows the browser's error page, never Resolver's.
        assert "This page is for" not in frame.content()
        assert "Voting as" not in frame.content()


def test_a_residents_pages_never_send_their_address_on(app, browser, evidence_path, outcome_path):
    for path in (evidence_path, f"{evidence_path}/status", outcome_path):
        context = browser.new_context()  # nothing cached: the page fetches what it links to
        page = context.new_page()
        requests = []
        page.on("request", lambda request: requests.append(request))  # headers are read after the load
        page.goto(live(app, path))
        page.wait_for_load_state("load")
        referers = {r.url: r.all_headers().get("referer") for r in requests if r.url != live(app, path)}
        sent_on = {url: referer for url, referer in referers.items() if referer}
        assert not sent_on, f"{path} sent its address on: {sent_on}"
        context.close()


def test_the_evidence_form_and_its_receipt_still_keep_a_draft_list_files_and_send_once(
    app, page, refusals, evidence_path
):
    response = page.goto(live(app, evidence_path))
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    page.get_by_label("What happened, in your own words").fill("I steam-cleaned the carpet the day I left.")
    page.reload()  # the draft kept in this browser comes back
    expect(page.get_by_label("What happened, in your own words")).to_have_value(
        "I steam-cleaned the carpet the day I left.")
    page.get_by_label("Photos and documents (optional)").set_input_files(
        [{"name": "receipt.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 steam clean $89\n%%EOF\n"}])
    expect(page.locator("#chosen-files")).to_contain_text("receipt.pdf")
    page.get_by_label("What would put this right for you?").fill("Refund the cleaning charge.")
    page.get_by_role("button", name="Send my side").click()
    expect(page.get_by_role("heading", name="Thank you, we have your side")).to_be_visible()
    drafts = page.evaluate("Object.keys(window.localStorage).filter(k => k.startsWith('resolver-draft-'))")
    assert drafts == []  # the receipt cleared the draft
    assert refusals == []


def test_a_vote_sent_with_a_problem_brings_the_member_to_the_problem(app, page, refusals, vote_path):
    response = page.goto(live(app, vote_path))
    assert "script-src 'self';" in response.headers["content-security-policy"]
    page.fill("#reason", "The photos show a clean carpet.")  # but no choice made
    page.get_by_role("button", name="Record my vote").click()
    expect(page.locator("#problem")).to_be_focused()
    assert refusals == []


def test_the_outcome_letter_keeps_its_look_without_inline_styles(app, page, refusals, outcome_path):
    response = page.goto(live(app, outcome_path))
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    letter = page.locator(".letter-copy .letter")
    expect(letter).to_be_visible()
    assert "Georgia" in letter.evaluate("element => getComputedStyle(element).fontFamily")
    offer_border = page.locator(".letter .offer").evaluate("element => getComputedStyle(element).borderTopStyle")
    assert offer_border == "solid"
    assert refusals == []


def caught_email(company_id: int) -> str:
    """An email as the mailbox catches it when there is no mail server, styled inline as Resolver's are."""
    message = EmailMessage()
    message["Subject"] = "Please send your side"
    message["From"] = "Resolver <resolver@localhost>"
    message["To"] = "tammy@mail.test"
    message["X-Resolver-Company"] = str(company_id)
    message.set_content("Hello Tammy, http://resolver.test/r/e/tok3n")
    message.add_alternative('<p style="color: #2c6e5a; font-weight: bold">Hello Tammy</p>', subtype="html")
    return store_message(mailbox_folder(), bytes(message))


def test_staff_pages_load_with_nothing_refused(app, page, refusals, login, manager, make_dispute):
    dispute = make_dispute("outcome_sent", votes=("uphold", "compromise", "compromise"))
    db.session.commit()
    message_id = caught_email(manager.company_id)
    login(page, manager)
    for path in ("/", f"/disputes/{dispute.id}", "/reports", "/settings", "/properties", "/residents",
                 "/disputes/new", "/mailbox/", f"/mailbox/{message_id}", "/api/v1/"):
        response = page.goto(live(app, path))
        assert response.status == 200, path
        assert "unsafe-inline" not in response.headers["content-security-policy"], path
    page.goto(live(app, f"/mailbox/{message_id}"))  # the email as its recipient's mail program shows it
    greeting = page.frame_locator("iframe.mail-html").get_by_text("Hello Tammy")
    assert greeting.evaluate("element => getComputedStyle(element).color") == "rgb(44, 110, 90)"
    assert refusals == []
