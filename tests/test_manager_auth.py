"""Staff sign-in: hashed passwords, throttled failures, sessions that end, safe redirects, CSRF."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from resolver import create_app
from resolver.config import from_environment
from resolver.extensions import db
from resolver.models import SignInAttempt
from resolver.web.manager.auth import check_password, set_password

from .fixtures_manager import PASSWORD, csrf_from, give_password, sign_in


def test_passwords_are_stored_as_scrypt_hashes(app, manager):
    set_password(manager, "a long passphrase")
    assert manager.password_hash.startswith("scrypt:")
    assert "a long passphrase" not in manager.password_hash
    assert check_password(manager, "a long passphrase")
    assert not check_password(manager, "a long passphrasE")


def test_a_manager_signs_in_and_lands_on_the_dashboard(app, client, manager):
    give_password(manager)
    response = sign_in(client, manager.email.upper())  # the address is not case-sensitive
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "What needs you now" in page
    assert manager.name in page and "Sign out" in page


def test_a_wrong_password_is_refused_with_a_clear_message(app, client, manager):
    give_password(manager)
    response = sign_in(client, manager.email, "not the password")
    assert response.status_code == 401
    assert "do not match an account" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still signed out


def test_an_unknown_address_gets_the_same_answer(app, client):
    response = sign_in(client, "nobody@nowhere.test", "whatever it is")
    assert response.status_code == 401
    assert "do not match an account" in response.get_data(as_text=True)


def test_pages_send_a_signed_out_visitor_to_sign_in_and_back(app, client, manager, make_dispute):
    dispute = make_dispute("awaiting_evidence")
    give_password(manager)
    response = client.get(f"/disputes/{dispute.id}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    response = sign_in(client, manager.email, next=f"/disputes/{dispute.id}")
    assert response.headers["Location"] == f"/disputes/{dispute.id}"


def test_sign_in_never_redirects_to_another_site(app, manager):
    give_password(manager)
    for target in ("//evil.test/x", "https://evil.test/", "/\\evil.test", "javascript:alert(1)"):
        response = sign_in(app.test_client(), manager.email, next=target)
        assert response.headers["Location"] == "/", target


def client_at(app, address: str):
    """A browser on another machine: its requests come from ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def wait_told(response) -> timedelta:
    """How long a refused sign-in says to wait."""
    match = re.search(r"please wait (\d+) (minute|hour)s?", response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)
    return timedelta(**{f"{match.group(2)}s": int(match.group(1))})


def test_five_failures_make_that_client_wait_then_it_works_again(app, client, manager, frozen_clock):
    give_password(manager)
    for _ in range(5):
        assert sign_in(client, manager.email, "wrong guess").status_code == 401
    response = sign_in(client, manager.email, PASSWORD)  # even the right password waits now, from here
    assert response.status_code == 429
    assert "Too many sign-in attempts from here" in response.get_data(as_text=True)
    assert wait_told(response) == timedelta(minutes=1)
    assert client.get("/").status_code == 302
    frozen_clock.advance(timedelta(minutes=1, seconds=1))
    assert sign_in(client, manager.email, PASSWORD).status_code == 302
    assert client.get("/").status_code == 200


def test_each_further_failure_doubles_the_wait_up_to_half_an_hour(app, manager, frozen_clock):
    give_password(manager)
    guesser = client_at(app, "10.0.0.66")
    for _ in range(5):
        sign_in(guesser, manager.email, "wrong guess")
    waits = []
    for _ in range(7):
        waits.append(wait_told(sign_in(guesser, manager.email, "wrong guess")))
        frozen_clock.advance(waits[-1])
        assert sign_in(guesser, manager.email, "wrong guess").status_code == 401
    assert waits == [timedelta(minutes=n) for n in (1, 2, 4, 8, 16, 30, 30)]


def test_an_attacker_failing_fifty_times_cannot_lock_the_real_manager_out(app, manager, frozen_clock):
    give_password(manager)
    attacker = client_at(app, "10.0.0.66")
    failures = 0
    while failures < 50:
        response = sign_in(attacker, manager.email, f"guess {failures}")
        if response.status_code == 429:  # it waits as it is told, and tries again
            frozen_clock.advance(wait_told(response))
            continue
        assert response.status_code == 401
        failures += 1
    refused = sign_in(attacker, manager.email, PASSWORD)
    assert refused.status_code == 429
    assert "please wait 30 minutes" in refused.get_data(as_text=True)
    real_manager = client_at(app, "10.0.0.7")
    assert sign_in(real_manager, manager.email, PASSWORD).status_code == 302
    assert real_manager.get("/").status_code == 200


def test_an_address_tried_from_many_clients_slows_each_of_them_not_the_real_user(app, manager, frozen_clock):
    give_password(manager)
    botnet = [client_at(app, f"10.1.0.{n}") for n in range(20)]
    for bot in botnet:
        assert sign_in(bot, manager.email, "wrong guess").status_code == 401
    # Under attack, a client waits from its first failure (not its fifth) ...
    second_try = sign_in(botnet[0], manager.email, "another guess")
    assert second_try.status_code == 429 and wait_told(second_try) == timedelta(minutes=1)
    # ... and a client that has not failed is let in with the right password.
    real_manager = client_at(app, "10.0.0.7")
    assert sign_in(real_manager, manager.email, PASSWORD).status_code == 302


def test_one_client_guessing_many_addresses_is_slowed_down(app, client, company, make_staff, frozen_clock):
    victim = make_staff(company)
    give_password(victim)
    for n in range(30):
        sign_in(client, f"guess{n}@aspen.test", "password1")
    response = sign_in(client, victim.email, PASSWORD)
    assert response.status_code == 429 and wait_told(response) == timedelta(minutes=15)
    assert db.session.query(SignInAttempt).filter_by(is_success=True).count() == 0
    assert sign_in(client_at(app, "10.0.0.7"), victim.email, PASSWORD).status_code == 302  # only that client
    frozen_clock.advance(timedelta(minutes=15, seconds=1))
    assert sign_in(client, victim.email, PASSWORD).status_code == 302


def test_a_session_ends_after_eight_hours(app, signed_in_client, manager, frozen_clock):
    staff = signed_in_client(manager)
    assert staff.get("/").status_code == 200
    for _ in range(23):  # busy all day: never idle for long
        frozen_clock.advance(timedelta(minutes=20))
        assert staff.get("/").status_code == 200
    frozen_clock.advance(timedelta(minutes=19))
    assert staff.get("/").status_code == 200
    frozen_clock.advance(timedelta(minutes=2))
    response = staff.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "a session lasts 8 hours and yours has ended" in staff.get("/login").get_data(as_text=True)


def test_changing_the_password_ends_other_sessions(app, signed_in_client, manager):
    staff = signed_in_client(manager)
    set_password(manager, "a brand new password")
    db.session.commit()
    assert staff.get("/").status_code == 302


def test_a_switched_off_account_is_signed_out_and_cannot_sign_in(app, signed_in_client, manager, client):
    staff = signed_in_client(manager)
    manager.is_active = False
    db.session.commit()
    assert staff.get("/").status_code == 302
    assert sign_in(client, manager.email).status_code == 401


def test_sign_out_is_a_post_with_csrf(app, signed_in_client, manager):
    staff = signed_in_client(manager)
    assert staff.get("/logout").status_code == 405
    assert staff.post("/logout", csrf=False).status_code == 400  # no token: refused, still signed in
    assert staff.get("/").status_code == 200
    assert staff.post("/logout").status_code == 302
    assert staff.get("/").status_code == 302


def test_the_sign_in_form_needs_its_csrf_token(app, client, manager):
    give_password(manager)
    response = client.post("/login", data={"email": manager.email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_the_session_cookie_is_httponly_and_lax(app, client, manager):
    give_password(manager)
    response = sign_in(client, manager.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie


def test_signing_in_clears_the_count_of_earlier_mistakes(app, client, manager, frozen_clock):
    give_password(manager)
    for _ in range(4):
        sign_in(client, manager.email, "wrong guess")
    frozen_clock.advance(timedelta(minutes=1))
    assert sign_in(client, manager.email).status_code == 302
    other = app.test_client()
    for _ in range(4):
        frozen_clock.advance(timedelta(minutes=1))
        assert sign_in(other, manager.email, "another typo").status_code == 401
    assert sign_in(other, manager.email).status_code == 302
    frozen_clock.advance(timedelta(minutes=1))
    for _ in range(5):
        sign_in(app.test_client(), manager.email, "and again")
    assert sign_in(app.test_client(), manager.email).status_code == 429


def test_the_real_user_signing_in_elsewhere_does_not_clear_a_guessers_count(app, manager, frozen_clock):
    give_password(manager)
    guesser = client_at(app, "10.0.0.66")
    for _ in range(5):
        sign_in(guesser, manager.email, "wrong guess")
    assert sign_in(client_at(app, "10.0.0.7"), manager.email).status_code == 302
    assert sign_in(guesser, manager.email, "one more guess").status_code == 429


def _guess(client, email: str, **headers):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": "wrong guess", "csrf_token": token},
                       headers=headers)


@pytest.fixture
def proxied_app(app, monkeypatch):
    """The same Resolver (same database and key) configured as deployed behind one proxy."""
    monkeypatch.setenv("RESOLVER_PROXY_HOPS", "1")
    names = ("TESTING", "DATABASE_URL", "SECRET_KEY", "MAIL_SERVER", "MAIL_PORT", "PUBLIC_BASE_URL",
             "WTF_CSRF_ENABLED")
    proxied = create_app({**{name: app.config[name] for name in names}, "INSTANCE_PATH": app.instance_path})
    yield proxied
    with proxied.app_context():
        db.engine.dispose()  # its own connections, closed rather than left to the garbage collector


def test_without_a_proxy_a_forwarded_header_is_not_believed(app, client, manager):
    """Nobody dodges the per-client count by sending a made-up X-Forwarded-For."""
    _guess(client, "a@aspen.test", **{"X-Forwarded-For": "203.0.113.7"})
    assert [a.ip for a in db.session.scalars(select(SignInAttempt))] == ["127.0.0.1"]


def test_behind_a_proxy_each_client_is_counted_by_its_own_address(app, manager, proxied_app):
    """With RESOLVER_PROXY_HOPS=1 the address the proxy saw is the client's: one noisy client behind
    the proxy is slowed down without locking out everyone else who comes through the same proxy."""
    give_password(manager)
    proxied = proxied_app
    noisy = proxied.test_client()
    for n in range(30):
        # A client may prepend addresses of its own; only the one the proxy appended is believed.
        _guess(noisy, f"guess{n}@aspen.test", **{"X-Forwarded-For": f"10.9.9.{n}, 198.51.100.20"})
    assert {a.ip for a in db.session.scalars(select(SignInAttempt))} == {"198.51.100.20"}
    token = csrf_from(noisy.get("/login").get_data(as_text=True))
    blocked = noisy.post("/login", data={"email": manager.email, "password": PASSWORD, "csrf_token": token},
                         headers={"X-Forwarded-For": "198.51.100.20"})
    assert blocked.status_code == 429
    colleague = proxied.test_client()
    token = csrf_from(colleague.get("/login").get_data(as_text=True))
    response = colleague.post("/login", data={"email": manager.email, "password": PASSWORD, "csrf_token": token},
                              headers={"X-Forwarded-For": "198.51.100.21", "X-Forwarded-Proto": "https",
                                       "Referer": "https://localhost/login"})
    assert response.status_code == 302
    assert colleague.get("/", headers={"X-Forwarded-For": "198.51.100.21"}).status_code == 200


def test_the_number_of_proxies_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("RESOLVER_PROXY_HOPS", "2")
    assert from_environment()["PROXY_HOPS"] == 2


def _ask_for_reset(client, email: str):
    token = csrf_from(client.get("/forgot-password").get_data(as_text=True))
    return client.post("/forgot-password", data={"email": email, "csrf_token": token})


def test_a_flood_of_reset_requests_cannot_stop_the_real_manager_asking_for_one(app, manager, frozen_clock):
    attacker = client_at(app, "10.0.0.66")
    answers = [_ask_for_reset(attacker, manager.email).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert "Please wait 1 minute" in _ask_for_reset(attacker, manager.email).get_data(as_text=True)
    assert _ask_for_reset(client_at(app, "10.0.0.7"), manager.email).status_code == 200
