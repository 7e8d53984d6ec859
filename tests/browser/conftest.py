"""One live server and one headless chromium for the whole test session.

Browser tests use the live app as their ``app``, so the factory fixtures build data the browser
then sees. Screenshots go to ``test-artifacts/`` for people to look at.
"""
from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from waitress.server import create_server

from resolver import create_app
from resolver.extensions import db
from resolver.links import current_link, token_for

from ..conftest import TEMPLATE_CODE, free_port

CHROMIUM = os.environ.get("RESOLVER_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, smtp_server, fresh_database):
    folder = tmp_path_factory.mktemp("live")
    port = free_port()
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(folder / "instance"),
            "DATABASE_URL": fresh_database("resolver_live"),
            "SECRET_KEY": "browser-secret",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp_server.port,
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        }
    )
    app.jinja_env.bytecode_cache = TEMPLATE_CODE  # the pages the other tests' apps compiled already
    with app.app_context():
        db.create_all()
    # waitress, as `resolver serve` runs: it closes a response's file even when chromium drops the
    # connection mid-response (Werkzeug's development server can leave it to the garbage collector).
    # Its loop polls rather than selects: closing the server at the end of the run while the loop waits
    # on the listening socket then leaves a closed socket polled (skipped), not select() failing on it
    # with EBADF in the server's thread, which pytest reports as an error of whichever test ran last.
    server = create_server(app, host="127.0.0.1", port=port, threads=8, asyncore_use_poll=True)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    app.config["LIVE_URL"] = f"http://127.0.0.1:{port}"
    yield app
    server.close()  # stops listening; the daemon thread's loop ends with the run
    with app.app_context():
        db.engine.dispose()  # on PostgreSQL, pooled connections left open would warn at exit


@pytest.fixture
def app(live_server, frozen_clock):
    """The live app, in an app context, for this test's factories."""
    with live_server.app_context():
        yield live_server
        db.session.remove()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium is not installed at {CHROMIUM}; the README's test command installs it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser context per test (its own cookies), with a phone-sized page by default."""
    marker = request.node.get_closest_marker("viewport")
    viewport = marker.args[0] if marker else {"width": 390, "height": 844}
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page, request):
    """``screenshot("receipt")`` saves test-artifacts/<test>-receipt.png."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def record_call_in_browser(app):
    """``record_call_in_browser(page, dispute, day, {member name: (choice, reason[, concession])})``: the
    manager, signed in on ``page``, records a team's call from the dispute page, as a person would (a
    concession the member recommended, as typed: "60")."""

    def record(page, dispute, day, votes: dict[str, tuple[str, ...]]) -> None:
        page.goto(f"{app.config['LIVE_URL']}/disputes/{dispute.id}")
        page.get_by_role("link", name="Record a team call").click()
        page.get_by_label("Day of the call").fill(day.isoformat())
        for name, (choice, reason, *concession) in votes.items():
            row = page.locator(f'fieldset[data-member="{name}"]')
            row.get_by_label(f"{name} attended the call").check()
            row.locator(f'input[type="radio"][value="{choice}"]').check()
            row.get_by_label("Their reason").fill(reason)
            for amount in concession:
                row.get_by_label(re.compile(r"^A concession they recommended")).fill(amount)
        page.get_by_role("button", name="Record the call's votes").click()
        page.get_by_text("each member has been emailed what you recorded").wait_for()

    return record


@pytest.fixture
def evidence_path(make_dispute):
    """The path of the evidence form of a dispute waiting for the resident's side."""
    dispute = make_dispute("awaiting_evidence")
    link = current_link(dispute.id, "evidence", resident_id=dispute.resident_id)
    db.session.commit()
    return f"/r/e/{token_for(link)}"
