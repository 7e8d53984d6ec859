"""Links in emails point where Resolver is really served: at RESOLVER_PUBLIC_BASE_URL, else at the address
`resolver serve` recorded; an email whose links would point nowhere waits, and staff are told what to set."""
from __future__ import annotations

import logging
import re

from sqlalchemy import select

from resolver.extensions import db
from resolver.installation import public_address, record_public_address
from resolver.links import PUBLIC_ADDRESS, email_url, fill_public_address
from resolver.models import OutboxEmail


def links_in(text: str) -> list[str]:
    return re.findall(r"https?://[^\s<>\"')]+", text)


def test_an_email_link_is_filled_in_with_the_address_a_path_and_all(app):
    url = email_url("manager.dispute_page", dispute_id=7)
    assert url == f"{PUBLIC_ADDRESS}/disputes/7"
    assert fill_public_address(f"Open it: {url}", "https://office.example.com/resolver/") == (
        "Open it: https://office.example.com/resolver/disputes/7")
    html = fill_public_address(f'<a href="{url}">', 'https://example.com/?a=1&b="2"', is_html=True)
    assert html == '<a href="https://example.com/?a=1&amp;b=&#34;2&#34;/disputes/7">'


def test_with_no_address_a_tick_keeps_emails_with_links_queued_and_says_what_to_set_once(
    app, smtp, make_dispute, company, caplog
):
    app.config["PUBLIC_BASE_URL"] = None  # RESOLVER_PUBLIC_BASE_URL unset, and `serve` never ran here
    make_dispute("awaiting_evidence")
    make_dispute("awaiting_evidence")
    note = OutboxEmail(company_id=company.id, template="note", message_id="<note-1@resolver.test>",
                       to_addr="office@aspen.test", subject="A note without links", body_text="Hello.\n")
    db.session.add(note)
    db.session.commit()
    with_links = db.session.scalars(select(OutboxEmail).where(OutboxEmail.has_links.is_(True))).all()
    assert len(with_links) >= 2

    with caplog.at_level(logging.INFO, logger="resolver.mail"):
        result = app.test_cli_runner().invoke(args=["tick"])
    assert result.exit_code == 0, result.output
    [line] = result.output.splitlines()
    assert line == (f"Fired 0 timers, sent 1 emails. {len(with_links)} emails with links wait: no public address is "
                    "known for the links in them. Set RESOLVER_PUBLIC_BASE_URL to the address people reach Resolver "
                    "at (e.g. https://resolver.example.com), or start `resolver serve`, which records the address "
                    "it serves on.")
    said = [r.getMessage() for r in caplog.records if r.name == "resolver.mail" and r.levelno >= logging.WARNING]
    assert said == [f"{len(with_links)} emails with links wait: no public address is known for the links in them. "
                    "Set RESOLVER_PUBLIC_BASE_URL to the address people reach Resolver at (e.g. "
                    "https://resolver.example.com), or start `resolver serve`, which records the address it serves on"]
    assert [m["message"]["Subject"] for m in smtp.messages] == ["A note without links"]  # emails without links go
    db.session.expire_all()
    for email in with_links:  # untouched: not tried, not failed, due as before
        email = db.session.get(OutboxEmail, email.id)
        assert (email.status, email.attempts, email.last_error, email.claimed_until_dt) == ("pending", 0, "", None)

    record_public_address("http://127.0.0.1:5101")  # what `resolver serve --port 5101` does as it starts
    assert public_address() == "http://127.0.0.1:5101"
    again = app.test_cli_runner().invoke(args=["tick"])
    assert again.output.startswith(f"Fired 0 timers, sent {len(with_links)} emails."), again.output
    sent = [m["message"] for m in smtp.messages][1:]
    links = [url for message in sent for url in links_in(smtp.text_of(message))]
    assert links and all(url.startswith("http://127.0.0.1:5101/") for url in links), links
    assert not any(PUBLIC_ADDRESS in smtp.html_of(message) for message in sent)


def test_the_mailbox_page_says_what_to_set_while_emails_with_links_wait(app, make_dispute, manager, signed_in_client):
    app.config["PUBLIC_BASE_URL"] = None
    make_dispute("awaiting_evidence")
    db.session.commit()
    staff = signed_in_client(manager)
    page = staff.get("/mailbox/").get_data(as_text=True)
    assert 'data-testid="no-public-address"' in page
    assert "Resolver does not know the address people reach it at" in page
    assert "RESOLVER_PUBLIC_BASE_URL" in page and "resolver serve" in page

    record_public_address("http://127.0.0.1:5101")
    assert 'data-testid="no-public-address"' not in staff.get("/mailbox/").get_data(as_text=True)


def test_the_configured_address_wins_over_the_recorded_one(app):
    record_public_address("http://127.0.0.1:5101")
    app.config["PUBLIC_BASE_URL"] = "https://resolver.example.com/"
    assert public_address() == "https://resolver.example.com"
