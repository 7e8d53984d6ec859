"""Every response says what a browser may do with it: load only Resolver's own scripts and styles,
never be framed by another site, never send a page's address (a token) on, and never keep a private
page or file in a cache. The walk takes its pages from ``app.url_map``, so a new page is in it."""
from __future__ import annotations

import base64
import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from resolver import clock, create_app
from resolver.extensions import db
from resolver.links import current_link, issue_link, token_for
from resolver.models import PanelSeat
from resolver.web.assets import read_assets

from .fixtures_manager import PASSWORD, csrf_from, give_password
from .test_manager_authz import (  # noqa: F401 (world is a fixture)
    API, API_ROW, MATRIX, STAFF_KINDS, build, methods_of, signed_in, url_values, world,
)

# What must be answered for the walk to mean anything: each kind of page and file, opened for real.
MUST_OPEN = {
    "manager.dashboard", "manager.dispute_page", "manager.evidence_file", "manager.letter_pdf", "manager.settings",
    "mailbox.message", "api.list_disputes", "api.docs",
    "resident.evidence_form", "resident.evidence_status", "resident.evidence_receipt", "resident.evidence_file",
    "resident.outcome_page", "resident.outcome_pdf", "panel.vote_page",
}


@pytest.fixture
def links(world, make_dispute):
    """Real tokens for the pages residents and team members open from their emails."""
    decided = make_dispute("outcome_sent", votes=("uphold", "compromise", "compromise"))
    seat = db.session.scalars(select(PanelSeat).where(PanelSeat.dispute_id == decided.id)).first()
    vote = issue_link(decided, "vote", seat=seat, expires_dt=clock.now_utc() + timedelta(days=30))
    db.session.commit()
    return {
        "resident.evidence": world["resident_token"],
        "resident.outcome": token_for(current_link(decided.id, "outcome", resident_id=decided.resident_id)),
        "panel.": token_for(vote),
    }


def token_of(endpoint: str, links: dict) -> str | None:
    return next((token for prefix, token in links.items() if endpoint.startswith(prefix)), None)


def every_page(app, world, links):
    """(endpoint, response) for a GET of every page and file, by the person it is for."""
    values = url_values(world)
    staff = signed_in(app, world["people"]["supervisor_a"])
    anybody = app.test_client()
    key = {"Authorization": f"Bearer {world['keys']['a']}"}
    for rule in app.url_map.iter_rules():
        if "GET" not in methods_of(rule):
            continue
        kind = MATRIX.get(rule.endpoint)
        filled = {**values, "token": token_of(rule.endpoint, links) or values["token"]}
        client = staff if kind in STAFF_KINDS else anybody
        headers = key if kind in (API, API_ROW) else {}
        response = client.get(build(rule, filled), headers=headers)
        yield rule.endpoint, response
        response.close()  # files are streamed from storage
    yield "not found", anybody.get("/no-such-page")
    yield "not found (staff)", staff.get("/disputes/999999")
    yield "a link nobody was sent", anybody.get("/r/e/not-a-real-link")


def refuses_other_sites_framing(headers) -> bool:
    policy = headers.get("Content-Security-Policy", "")
    if headers.get("X-Frame-Options") == "SAMEORIGIN":
        return "frame-ancestors 'self'" in policy
    return headers.get("X-Frame-Options") == "DENY" and ("frame-ancestors 'none'" in policy or "sandbox" in policy)


def missing_headers(endpoint: str, response) -> list[str]:
    headers = response.headers
    policy = headers.get("Content-Security-Policy", "")
    missing = []
    # Only a sandboxed document (no script, no origin: the mailbox's framed email) keeps inline styles.
    if "default-src" not in policy or "unsafe-inline" in policy and "sandbox" not in policy:
        missing.append(f"a Content-Security-Policy without inline code ({policy!r})")
    if headers.get("X-Content-Type-Options") != "nosniff":
        missing.append("nosniff")
    if headers.get("Referrer-Policy") != "no-referrer":
        missing.append("Referrer-Policy: no-referrer")
    if not refuses_other_sites_framing(headers):
        missing.append("refusal to be framed by another site")
    is_stored = "no-store" not in headers.get("Cache-Control", "")
    if endpoint != "static" and is_stored:
        missing.append(f"Cache-Control: no-store (has {headers.get('Cache-Control')!r})")
    return missing


def test_every_page_and_file_carries_the_headers_that_keep_it_private(app, world, links):
    problems, opened = [], set()
    for endpoint, response in every_page(app, world, links):
        if response.status_code == 200:
            opened.add(endpoint)
        problems += [f"{endpoint} ({response.status_code}) lacks {what}" for what in missing_headers(endpoint, response)]
    assert not problems, "\n".join(problems)
    assert MUST_OPEN <= opened, f"not opened, so not checked for real: {sorted(MUST_OPEN - opened)}"


def directives_of(response) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))


def carried(element: str, response) -> list[str]:
    """The text of each ``<style>`` or ``<script>`` the page carries inside it."""
    return re.findall(rf"<{element}[^>]*>(.*?)</{element}>", response.get_data(as_text=True), re.S)


def hashes_of(texts: list[str]) -> list[str]:
    return [f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'" for text in texts]


def test_a_page_allows_no_inline_script_and_no_inline_style_but_the_stylesheets_it_carries(client):
    response = client.get("/login")
    directives = directives_of(response)
    assert directives["script-src"] == "'self'"
    styles = carried("style", response)
    assert len(styles) == 2  # resolver.css and staff.css
    assert directives["style-src"] == " ".join(["'self'", *hashes_of(styles)])
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'"
    assert directives["form-action"] == "'self'"


def test_the_evidence_form_carries_its_script_and_allows_that_script_alone_by_its_hash(client, make_dispute):
    dispute = make_dispute("awaiting_evidence")
    link = current_link(dispute.id, "evidence", resident_id=dispute.resident_id)
    db.session.commit()
    response = client.get(f"/r/e/{token_for(link)}")
    [script] = carried("script", response)
    assert "localStorage" in script  # the draft kept in the browser: resolver/static/evidence-form.js
    assert "<script src" not in response.get_data(as_text=True)
    assert directives_of(response)["script-src"] == " ".join(["'self'", *hashes_of([script])])
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


def test_a_script_that_would_end_its_own_element_inside_a_page_stops_the_app_being_built(tmp_path):
    (tmp_path / "greeting.js").write_text('document.body.insertAdjacentHTML("beforeend", "</SCRIPT><p>Hello</p>");')
    with pytest.raises(ValueError, match="greeting.js holds </script"):
        read_assets(tmp_path)


def test_stylesheets_and_scripts_may_be_cached(client):
    for name in ("resolver.css", "resident.css", "evidence-form.js"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200
        assert "no-store" not in response.headers.get("Cache-Control", "")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        response.close()


def test_a_download_keeps_its_own_stricter_policy(app, world):
    staff = signed_in(app, world["people"]["manager_a"])
    response = staff.get(f"/disputes/{world['dispute'].id}/files/{world['file'].id}")
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response.headers["Cache-Control"] == "private, no-store"
    response.close()


@pytest.fixture
def behind_a_proxy(app, database_url, tmp_path):
    """Resolver as deployed behind one HTTPS-terminating proxy (RESOLVER_PROXY_HOPS=1)."""
    proxied = create_app({
        "TESTING": True, "INSTANCE_PATH": str(tmp_path / "proxied"), "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret", "PROXY_HOPS": 1, "WTF_CSRF_ENABLED": True,
    })
    with proxied.app_context():
        yield proxied.test_client()


HTTPS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}


def test_https_pages_tell_the_browser_to_use_https_from_now_on(behind_a_proxy):
    assert behind_a_proxy.get("/login", headers=HTTPS).headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in behind_a_proxy.get("/login").headers


def test_a_client_cannot_claim_https_when_no_proxy_is_trusted(client):
    assert "Strict-Transport-Security" not in client.get("/login", headers=HTTPS).headers


def test_a_form_sent_over_https_without_a_referer_is_accepted(behind_a_proxy, manager):
    """No page sends a Referer any more: the form's own token is what proves it came from Resolver."""
    give_password(manager)
    db.session.commit()
    page = behind_a_proxy.get("/login", headers=HTTPS).get_data(as_text=True)
    response = behind_a_proxy.post("/login", headers=HTTPS, data={
        "csrf_token": csrf_from(page), "email": manager.email, "password": PASSWORD,
    })
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert response.headers["Location"] == "/"
