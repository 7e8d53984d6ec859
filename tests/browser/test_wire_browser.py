"""What travels to a browser on a slow phone connection, from the live server (waitress, as `resolver
serve` runs): pages compressed for a browser that asks, their stylesheets and scripts inside them (so a
first visit is one request), static files under an address carrying their content's hash and kept a
year, and nothing fetched again on a second view."""
from __future__ import annotations

import gzip
import http.client
import re
from urllib.parse import urlsplit

import pytest
from flask import url_for
from playwright.sync_api import expect


pytestmark = pytest.mark.browser


@pytest.fixture
def connection(app):
    """One HTTP/1.1 connection to the live server, kept open between requests."""
    address = urlsplit(app.config["LIVE_URL"])
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    yield connection
    connection.close()


def fetch(connection, path: str, **headers) -> tuple[http.client.HTTPResponse, bytes]:
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    return response, response.read()


def test_a_page_comes_compressed_when_the_browser_asks_over_one_kept_connection(connection, evidence_path):
    plain_response, plain = fetch(connection, evidence_path)
    assert plain_response.getheader("Content-Encoding") is None
    assert b"Send my side" in plain
    for encoding in ("br", "gzip"):
        response, body = fetch(connection, evidence_path, **{"Accept-Encoding": encoding})
        assert response.getheader("Content-Encoding") == encoding
        assert "Accept-Encoding" in response.getheader("Vary")
        assert len(body) < len(plain) / 2, f"{encoding}: {len(body)} bytes of {len(plain)}"
        assert response.getheader("Connection") != "close"
    assert b"Send my side" in gzip.decompress(body)


def test_a_static_file_is_kept_a_year_under_its_fingerprint(app, connection):
    with app.test_request_context():
        script = url_for("static", filename="evidence-form.js")
    assert re.fullmatch(r"/static/evidence-form\.[0-9a-f]{10}\.js", script), script
    response, body = fetch(connection, script, **{"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.getheader("Cache-Control") == "public, max-age=31536000, immutable"
    assert "Cookie" not in (response.getheader("Vary") or "")
    assert response.getheader("Set-Cookie") is None
    assert b"localStorage" in gzip.decompress(body)
    # An address without the current hash (a page from before a deploy) still gets the file, kept briefly.
    for old_address in (script.replace(script.split(".")[-2], "0123456789"), "/static/evidence-form.js"):
        response, body = fetch(connection, old_address)
        assert response.status == 200 and b"localStorage" in body
        assert response.getheader("Cache-Control") == "public, max-age=300"


def test_a_first_visit_to_the_evidence_form_is_one_request_and_its_script_runs(app, browser, evidence_path):
    context = browser.new_context()  # nothing cached
    page = context.new_page()
    requested, refused = [], []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: refused.append(message.text) if "Refused to" in message.text else None)
    url = app.config["LIVE_URL"] + evidence_path
    response = page.goto(url, wait_until="load")
    assert requested == [url]
    policy = response.headers["content-security-policy"]
    assert "unsafe-inline" not in policy
    assert re.search(r"script-src 'self' 'sha256-[A-Za-z0-9+/=]+';", policy), policy
    # The script lists a chosen file with its size, as it does for a resident choosing photos.
    page.get_by_label("Photos and documents (optional)").set_input_files(
        [{"name": "move-out.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8" + b"0" * 2046}])
    expect(page.locator("#chosen-files")).to_have_text("move-out.jpg (2 KB)")
    assert refused == []
    context.close()


def test_a_page_carries_its_stylesheets_allowed_by_their_hashes_and_nothing_is_refused(app, page, evidence_path):
    refused = []
    page.on("console", lambda message: refused.append(message.text) if "Refused to" in message.text else None)
    response = page.goto(app.config["LIVE_URL"] + evidence_path)
    policy = response.headers["content-security-policy"]
    assert "unsafe-inline" not in policy
    assert re.search(r"style-src 'self'( 'sha256-[A-Za-z0-9+/=]+'){2};", policy), policy
    assert page.locator("style").count() == 2
    # resolver.css's accent on the name at the top, and resident.css's narrow column, both applied.
    assert page.locator(".brand").evaluate("brand => getComputedStyle(brand).color") == "rgb(34, 89, 75)"
    assert page.locator("main").evaluate("main => getComputedStyle(main).maxWidth") == "640px"
    assert refused == []


def test_a_second_view_of_a_page_asks_the_server_only_for_the_page(app, browser, evidence_path):
    context = browser.new_context()
    page = context.new_page()
    url = app.config["LIVE_URL"] + evidence_path
    requested, from_cache = [], answered_from_cache(context, page)
    page.on("request", lambda request: requested.append(request))
    page.goto(url, wait_until="load")

    requested.clear()
    page.goto(url, wait_until="load")
    assert [r.url for r in requested if r.url not in from_cache] == [url]
    context.close()


def answered_from_cache(context, page) -> set[str]:
    """The addresses chromium answers from its own cache on ``page``, without asking the server (as the
    DevTools protocol reports them; Playwright's request events include both kinds)."""
    addresses, answered = {}, set()
    session = context.new_cdp_session(page)
    session.on("Network.requestWillBeSent", lambda event: addresses.__setitem__(event["requestId"],
                                                                                event["request"]["url"]))
    session.on("Network.requestServedFromCache", lambda event: answered.add(addresses[event["requestId"]]))
    session.send("Network.enable")
    return answered


def test_a_staff_page_carries_only_the_styles_it_uses_and_no_comments(app, signed_in_client, manager):
    """What a phone waits for: the sign-in page and the dashboard carry the base and staff styles, not the
    mailbox's or the import preview's, and none of the notes written in the stylesheets for their editors."""
    styles_of = lambda html: re.findall(r"<style[^>]*>(.*?)</style>", html, re.S)  # noqa: E731
    client = signed_in_client(manager)
    with app.test_request_context():
        inbox = url_for("mailbox.inbox")
    mailbox = styles_of(client.get(inbox).get_data(as_text=True))
    dashboard = styles_of(client.get("/").get_data(as_text=True))
    sign_in = styles_of(app.test_client().get("/login").get_data(as_text=True))
    assert any(".mail-list" in style for style in mailbox)  # the mailbox still looks like itself
    for styles in (sign_in, dashboard):
        assert len(styles) == 2
        assert not any(".mail-list" in style or ".kind-wrong" in style for style in styles)
    assert not any("/*" in style for style in sign_in + dashboard + mailbox)
