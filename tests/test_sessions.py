"""Staff sessions end when they should: on sign-out (everywhere, so a copied cookie is useless), after
the company's idle time, and their cookie is Secure whenever Resolver is reached over HTTPS."""
from __future__ import annotations

from datetime import timedelta

import pytest

from resolver import create_app
from resolver.extensions import db
from resolver.models import Company

from .fixtures_manager import PASSWORD, csrf_from, give_password, sign_in


def copy_of_session_cookie(app, staff):
    """A second browser holding the same session cookie, as someone who copied it would."""
    thief = app.test_client()
    thief.set_cookie("session", staff.client.get_cookie("session").value)
    return thief


def test_a_cookie_copied_before_signing_out_no_longer_opens_a_dispute(app, signed_in_client, manager,
                                                                      make_dispute):
    dispute = make_dispute("awaiting_evidence")
    staff = signed_in_client(manager)
    thief = copy_of_session_cookie(app, staff)
    assert thief.get(f"/disputes/{dispute.id}").status_code == 200  # the copy works while the session lasts
    response = staff.post("/logout")
    assert response.status_code == 302
    assert "signed out, here and on any other device" in staff.get("/login").get_data(as_text=True)
    response = thief.get(f"/disputes/{dispute.id}")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_signing_out_ends_the_other_sessions_and_signing_in_again_works(app, signed_in_client, manager):
    laptop = signed_in_client(manager)
    phone = signed_in_client(manager)
    assert laptop.post("/logout").status_code == 302
    assert phone.get("/").status_code == 302
    assert sign_in(phone.client, manager.email).status_code == 302
    assert phone.get("/").status_code == 200


# Secure cookies ---------------------------------------------------------------------------------------

@pytest.fixture
def deployed_app(app, monkeypatch):
    """``deployed_app(**environment)``: the same Resolver (same database and key) started with more
    ``RESOLVER_*`` environment variables, as a deployment would be."""
    made = []

    def make(**environment):
        for name, value in environment.items():
            monkeypatch.setenv(f"RESOLVER_{name}", value)
        names = ("TESTING", "DATABASE_URL", "SECRET_KEY", "MAIL_SERVER", "MAIL_PORT", "PUBLIC_BASE_URL",
                 "WTF_CSRF_ENABLED")
        made.append(create_app({**{name: app.config[name] for name in names}, "INSTANCE_PATH": app.instance_path}))
        return made[-1]

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()  # its own connections, closed rather than left to the garbage collector


def cookie_set_by_signing_in(client, email, **headers):
    token = csrf_from(client.get("/login", headers=headers).get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token},
                           headers={**headers, "Referer": "https://localhost/login"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Set-Cookie"]


def test_over_https_through_the_proxy_the_session_cookie_is_secure(app, manager, deployed_app):
    give_password(manager)
    proxied = deployed_app(PROXY_HOPS="1")
    https = {"X-Forwarded-For": "198.51.100.21", "X-Forwarded-Proto": "https"}
    assert "Secure" in cookie_set_by_signing_in(proxied.test_client(), manager.email, **https)
    http = {"X-Forwarded-For": "198.51.100.21", "X-Forwarded-Proto": "http"}
    assert "Secure" not in cookie_set_by_signing_in(proxied.test_client(), manager.email, **http)


def test_without_a_trusted_proxy_a_claim_of_https_is_not_believed(app, client, manager):
    give_password(manager)
    cookie = cookie_set_by_signing_in(client, manager.email, **{"X-Forwarded-Proto": "https"})
    assert "Secure" not in cookie


def test_the_setting_makes_the_session_cookie_secure_always(app, manager, deployed_app):
    give_password(manager)
    forced = deployed_app(SESSION_COOKIE_SECURE="true")
    assert "Secure" in cookie_set_by_signing_in(forced.test_client(), manager.email)


# Idle timeout -----------------------------------------------------------------------------------------

def test_staff_are_signed_out_after_thirty_minutes_without_activity(app, signed_in_client, manager, frozen_clock):
    staff = signed_in_client(manager)
    for _ in range(4):  # busy for two hours: each page keeps the session going
        frozen_clock.advance(timedelta(minutes=29))
        assert staff.get("/").status_code == 200
    frozen_clock.advance(timedelta(minutes=31))
    response = staff.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "You were signed out after 30 minutes without activity" in staff.get("/login").get_data(as_text=True)
    assert staff.get("/").status_code == 302  # and it stays ended
    assert sign_in(staff.client, manager.email).status_code == 302


def test_the_company_chooses_how_long_staff_may_be_idle(app, signed_in_client, supervisor, manager, company,
                                                       frozen_clock):
    boss = signed_in_client(supervisor)
    form = boss.get("/settings").get_data(as_text=True)
    assert 'name="idle_timeout_minutes" value="30"' in form
    assert boss.post("/settings/company", _rules_of(company, idle_timeout_minutes="120")).status_code == 303
    db.session.expire_all()
    assert db.session.get(Company, company.id).idle_timeout_minutes == 120
    assert "minutes without activity before staff are signed out" in boss.get("/settings").get_data(as_text=True)
    staff = signed_in_client(manager)
    frozen_clock.advance(timedelta(minutes=119))
    assert staff.get("/").status_code == 200
    frozen_clock.advance(timedelta(minutes=121))
    assert staff.get("/").status_code == 302
    assert "signed out after 2 hours without activity" in staff.get("/login").get_data(as_text=True)


@pytest.mark.parametrize("minutes", ["481", "600", "4", "0", "-5", "thirty", ""])
def test_the_idle_time_is_at_most_eight_hours(app, signed_in_client, supervisor, company, minutes):
    boss = signed_in_client(supervisor)
    response = boss.post("/settings/company", _rules_of(company, idle_timeout_minutes=minutes))
    assert response.status_code == 422
    assert "from 5 to 480 (8 hours)" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Company, company.id).idle_timeout_minutes == 30


def test_eight_hours_of_idle_time_is_allowed_and_the_session_still_ends_at_eight_hours(
        app, signed_in_client, supervisor, company, frozen_clock):
    boss = signed_in_client(supervisor)
    assert boss.post("/settings/company", _rules_of(company, idle_timeout_minutes="480")).status_code == 303
    frozen_clock.advance(timedelta(hours=7, minutes=59))
    assert boss.get("/").status_code == 200
    frozen_clock.advance(timedelta(minutes=2))
    assert boss.get("/").status_code == 302
    assert "a session lasts 8 hours" in boss.get("/login").get_data(as_text=True)


def _rules_of(company: Company, **changes) -> dict:
    """The rules form as the settings page fills it for ``company``, with ``changes``."""
    return {
        "evidence_window_days": company.evidence_window_days, "reply_window_days": company.reply_window_days,
        "panel_window_days": company.panel_window_days, "follow_up_days": company.follow_up_days,
        "offer_valid_days": company.offer_valid_days, "time_zone": company.time_zone,
        "panel_size": company.panel_size, "token_cap": company.token_cap_cents / 100,
        "concession_cap": company.concession_cap_cents / 100, "max_file_mb": company.max_file_bytes // 2 ** 20,
        "max_dispute_mb": company.max_dispute_bytes // 2 ** 20, "max_files": company.max_files,
        "mediation_choice": "none", **changes,
    }
