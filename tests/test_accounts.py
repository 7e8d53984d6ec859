"""Accounts by email: the first supervisor from `resolver create-company`, invitations from Settings,
and "Forgot your password?", each through a link that works once, expires, and never names who has an
account. Emails go through the real outbox and the test SMTP server."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from resolver import create_app
from resolver.extensions import db
from resolver.mail import send_pending
from resolver.models import Company, CompanyEvent, StaffUser

from .conftest import START, Inbox
from .fixtures_manager import PASSWORD, csrf_from, give_password, sign_in

NEW_PASSWORD = "a kettle on the hob"
_LINK = re.compile(r"https?://\S+/set-password/[A-Za-z0-9_-]+")


def link_in(message) -> str:
    [link] = set(_LINK.findall(Inbox.text_of(message)))
    assert f'href="{link}"' in Inbox.html_of(message), "the HTML part carries the same link"
    return link


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def emailed_link(smtp, address: str, *, subject: str = "") -> str:
    """Send what the outbox holds, as the worker does; the link in the newest email to ``address``."""
    send_pending()
    messages = [m for m in smtp.to(address) if subject in m["Subject"]]
    assert messages, f"no email to {address} about {subject!r}"
    return link_in(messages[-1])


def choose(client, path: str, password: str = NEW_PASSWORD, confirmation: str | None = None):
    token = csrf_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={"password": password, "confirmation": password if confirmation is None
                                   else confirmation, "csrf_token": token})


def ask_for_reset(client, email: str):
    token = csrf_from(client.get("/forgot-password").get_data(as_text=True))
    return client.post("/forgot-password", data={"email": email, "csrf_token": token})


def history(company) -> list[tuple[str, str, str]]:
    db.session.expire_all()
    return [(e.actor_label, e.action, e.subject_label) for e in db.session.scalars(
        select(CompanyEvent).where(CompanyEvent.company_id == company.id).order_by(CompanyEvent.id))]


# The company's first supervisor, from the command line ---------------------------------------------

@pytest.fixture
def new_machine(tmp_path, fresh_database, smtp_server, frozen_clock):
    """A new installation with an empty database, whose mail goes to the test SMTP server."""
    app = create_app({
        "TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": fresh_database(f"accounts_{uuid.uuid4().hex[:8]}"), "SECRET_KEY": "test-secret",
        "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_server.port, "PUBLIC_BASE_URL": "http://resolver.test",
    })
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_create_company_makes_its_first_supervisor_who_sets_a_password_from_the_email(new_machine, smtp):
    run = new_machine.test_cli_runner().invoke
    assert run(args=["init"]).exit_code == 0
    result = run(args=["create-company", "--slug", "aspen", "--name", "Aspen Property Co", "--time-zone",
                       "America/Denver", "--supervisor-email", "Dana@Aspen.test",
                       "--supervisor-name", "Dana Whitfield"])
    assert result.exit_code == 0, result.output
    assert "Created company Aspen Property Co (aspen)" in result.output
    assert "Created supervisor Dana Whitfield <dana@aspen.test>, with no password" in result.output
    assert "waits to be sent" in result.output and "/set-password/" not in result.output  # a mail server is set
    dana = db.session.scalars(select(StaffUser)).one()
    assert (dana.role, dana.password_hash, dana.company.slug) == ("supervisor", "", "aspen")
    assert smtp.to("dana@aspen.test") == []  # queued with the company, sent by the worker

    tick = run(args=["tick"])
    assert tick.exit_code == 0 and "sent 1 emails" in tick.output, tick.output
    [email] = smtp.to("dana@aspen.test")
    assert email["Subject"] == "Your Resolver account for Aspen Property Co is ready"
    text = Inbox.text_of(email)
    assert "you are its first supervisor" in text and "works once, for 7 days" in text
    link = link_in(email)
    assert link.startswith("http://resolver.test/set-password/")

    client = new_machine.test_client()
    page = client.get(path_of(link))
    assert page.status_code == 200 and "Set your password" in page.get_data(as_text=True)
    assert "at least 8 characters" in page.get_data(as_text=True)
    response = choose(client, path_of(link))
    assert response.status_code == 303 and response.headers["Location"] == "/"
    dashboard = client.get("/").get_data(as_text=True)
    assert "Dana Whitfield · Aspen Property Co" in dashboard and "Your password is set" in dashboard
    assert sign_in(new_machine.test_client(), "dana@aspen.test", NEW_PASSWORD).status_code == 302
    company = db.session.scalars(select(Company)).one()
    assert history(company) == [("resolver create-company", "staff_invited", "Dana Whitfield"),
                                ("Dana Whitfield", "staff_joined", "Dana Whitfield")]


def test_create_company_asks_for_the_supervisor_and_refuses_a_bad_address_whole(new_machine, smtp):
    run = new_machine.test_cli_runner().invoke
    run(args=["init"])
    wrong = run(args=["create-company", "--slug", "aspen", "--name", "Aspen Property Co", "--time-zone",
                      "America/Denver"], input="not-an-address\nDana Whitfield\n")
    assert "Email of the company's first supervisor" in wrong.output and "Their name" in wrong.output
    assert wrong.exit_code != 0 and "not an email address" in wrong.output
    assert db.session.scalars(select(Company)).all() == [] and db.session.scalars(select(StaffUser)).all() == []
    asked = run(args=["create-company", "--slug", "aspen", "--name", "Aspen Property Co", "--time-zone",
                      "America/Denver"], input="dana@aspen.test\nDana Whitfield\n")
    assert asked.exit_code == 0, asked.output
    assert db.session.scalars(select(StaffUser.name)).one() == "Dana Whitfield"


def test_without_a_mail_server_create_company_says_where_the_email_will_be(new_machine):
    new_machine.config["MAIL_SERVER"] = None
    run = new_machine.test_cli_runner().invoke
    run(args=["init"])
    result = run(args=["create-company", "--slug", "aspen", "--name", "Aspen Property Co", "--time-zone",
                       "America/Denver", "--supervisor-email", "dana@aspen.test", "--supervisor-name", "Dana"])
    assert result.exit_code == 0, result.output
    assert "local Mailbox (/mailbox/, once signed in)" in result.output
    [printed] = _LINK.findall(result.output)
    page = new_machine.test_client().get(path_of(printed))
    assert page.status_code == 200 and "Set your password" in page.get_data(as_text=True)


# A link works once, for a while -------------------------------------------------------------------

@pytest.fixture
def invited(app, signed_in_client, supervisor, company, smtp):
    """Riley, invited by the supervisor from Settings; the link in Riley's email."""
    desk = signed_in_client(supervisor)
    response = desk.post("/settings/staff", {"name": "Riley New", "email": "Riley@Aspen.test", "role": "manager"})
    assert response.status_code == 303, response.get_data(as_text=True)
    return path_of(emailed_link(smtp, "riley@aspen.test"))


def test_a_link_works_once(app, client, invited):
    assert client.get(invited).status_code == 200
    assert client.get(invited).status_code == 200  # opening it (a mail scanner does) changes nothing
    assert choose(client, invited).status_code == 303
    again = app.test_client().get(invited)
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    other = app.test_client()
    response = other.post(invited, data={"password": "someone else's", "confirmation": "someone else's",
                                         "csrf_token": csrf_from(other.get("/login").get_data(as_text=True))})
    assert response.status_code == 410 and other.get("/").status_code == 302
    assert sign_in(app.test_client(), "riley@aspen.test", NEW_PASSWORD).status_code == 302


def test_an_invitation_expires_after_seven_days(app, client, invited, frozen_clock):
    frozen_clock.advance(timedelta(days=7) - timedelta(minutes=1))
    assert client.get(invited).status_code == 200
    frozen_clock.advance(timedelta(minutes=2))
    page = client.get(invited)
    text = page.get_data(as_text=True)
    assert page.status_code == 410 and "This link has expired: it worked for 7 days." in text
    assert 'action="/forgot-password"' in text  # a way to ask for a new one, on the same page
    assert choose(app.test_client(), invited).status_code == 410
    assert db.session.scalars(select(StaffUser.password_hash).where(StaffUser.email == "riley@aspen.test")).one() == ""


def test_passwords_that_differ_or_are_short_are_refused_and_the_link_still_works(app, client, invited):
    response = choose(client, invited, NEW_PASSWORD, "a kettle on the hoB")
    assert response.status_code == 422 and "not the same" in response.get_data(as_text=True)
    response = choose(client, invited, "short")
    assert response.status_code == 422 and "Use at least 8 characters" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not signed in
    assert choose(client, invited).status_code == 303


def test_an_unknown_link_says_so_plainly(client):
    page = client.get("/set-password/made-up-token")
    assert page.status_code == 404 and "This link is not one we sent" in page.get_data(as_text=True)
    assert page.headers["Referrer-Policy"] == "no-referrer" and page.headers["Cache-Control"] == "no-store"


# Invitations from Settings ------------------------------------------------------------------------

def test_a_supervisor_invites_and_invites_again_and_a_manager_cannot(app, signed_in_client, supervisor, manager,
                                                                    company, smtp):
    give_password(manager)
    refused = signed_in_client(manager).post("/settings/staff", {"name": "Eve", "email": "eve@aspen.test",
                                                                 "role": "supervisor"})
    assert refused.status_code == 403 and not db.session.scalars(select(StaffUser).where(
        StaffUser.email == "eve@aspen.test")).first()
    desk = signed_in_client(supervisor)
    assert desk.post("/settings/staff", {"name": "Riley New", "email": "riley@aspen.test",
                                         "role": "supervisor"}).status_code == 303
    first = path_of(emailed_link(smtp, "riley@aspen.test", subject=f"{supervisor.name} invited you"))
    riley = db.session.scalars(select(StaffUser).where(StaffUser.email == "riley@aspen.test")).one()
    settings = desk.get("/settings").get_data(as_text=True)
    assert "invited, not yet joined" in settings and "Send the invitation again" in settings

    assert signed_in_client(manager).post(f"/settings/staff/{riley.id}", {"change": "invite"}).status_code == 403
    assert desk.post(f"/settings/staff/{riley.id}", {"change": "invite"}).status_code == 303
    second = path_of(emailed_link(smtp, "riley@aspen.test"))
    assert second != first
    withdrawn = app.test_client().get(first)
    assert withdrawn.status_code == 410 and "a newer email replaced it" in withdrawn.get_data(as_text=True)
    assert choose(app.test_client(), second).status_code == 303
    settings = desk.get("/settings").get_data(as_text=True)
    assert "invited, not yet joined" not in settings
    refused = desk.post(f"/settings/staff/{riley.id}", {"change": "invite"})
    assert refused.status_code == 409 and "already chosen a password" in refused.get_data(as_text=True)
    assert history(company) == [
        (supervisor.name, "staff_invited", "Riley New"), (supervisor.name, "staff_invitation_sent_again", "Riley New"),
        ("Riley New", "staff_joined", "Riley New"),
    ]
    assert "sent Riley New the invitation again" in settings and "chose a password and joined" in settings


def test_the_invitation_reads_like_the_company(app, invited, smtp, supervisor, company):
    [email] = smtp.to("riley@aspen.test")
    text = Inbox.text_of(email)
    assert email["Subject"] == f"{supervisor.name} invited you to {company.name} on Resolver"
    assert f"{supervisor.name} has made you an account" in text and "You sign in as a manager" in text
    assert "The link works once, for 7 days (until" in text and "http://resolver.test/login" in text
    assert f"ask {supervisor.name} to send the invitation again" in text
    for part in (email["Subject"], text, Inbox.html_of(email)):
        assert not re.search(r"\b(None|Undefined)\b|\{\{|\{%", part)
    assert "\n\n\n" not in text


# Forgot your password? ----------------------------------------------------------------------------

def _without(text: str, email: str) -> str:
    """The page, without the address it repeats back and its form's one-time token."""
    return re.sub(r'name="csrf_token" value="[^"]+"', "", text.replace(email, "ADDRESS"))


def test_a_reset_says_the_same_whether_or_not_the_address_has_an_account(app, client, manager, smtp):
    give_password(manager)
    known = ask_for_reset(client, manager.email)
    unknown = ask_for_reset(app.test_client(), "nobody@aspen.test")
    assert known.status_code == unknown.status_code == 200
    assert _without(known.get_data(as_text=True), manager.email) == _without(unknown.get_data(as_text=True),
                                                                             "nobody@aspen.test")
    assert "we have sent it a link" in known.get_data(as_text=True)
    link = path_of(emailed_link(smtp, manager.email, subject="new Resolver password"))
    assert smtp.to("nobody@aspen.test") == []
    assert "works once, for 1 hour" in Inbox.text_of(smtp.to(manager.email)[0])

    old_session = app.test_client()
    assert sign_in(old_session, manager.email, PASSWORD).status_code == 302
    assert "Choose a new password" in client.get(link).get_data(as_text=True)
    assert choose(client, link).status_code == 303
    assert old_session.get("/").status_code == 302  # the new password ends the other sessions
    assert sign_in(app.test_client(), manager.email, PASSWORD).status_code == 401
    assert sign_in(app.test_client(), manager.email, NEW_PASSWORD).status_code == 302
    assert [action for _, action, _ in history(manager.company)] == ["staff_password_reset"]


def test_a_reset_link_lasts_an_hour_and_only_the_newest_works(app, client, manager, smtp, frozen_clock):
    ask_for_reset(client, manager.email)
    older = path_of(emailed_link(smtp, manager.email))
    ask_for_reset(client, manager.email)
    newer = path_of(emailed_link(smtp, manager.email))
    assert client.get(older).status_code == 410 and client.get(newer).status_code == 200
    frozen_clock.advance(timedelta(hours=1, minutes=1))
    page = client.get(newer)
    assert page.status_code == 410 and "it worked for 1 hour" in page.get_data(as_text=True)


def test_a_password_set_another_way_stops_the_links(app, client, signed_in_client, supervisor, manager, smtp):
    ask_for_reset(client, manager.email)
    link = path_of(emailed_link(smtp, manager.email))
    assert signed_in_client(supervisor).post(f"/settings/staff/{manager.id}", {
        "change": "password", "password": "the supervisor's pick"}).status_code == 303
    assert client.get(link).status_code == 410


def test_resets_are_throttled_for_any_address_alike(app, manager, smtp, frozen_clock):
    for address in (manager.email, "nobody@aspen.test"):
        answers = [ask_for_reset(app.test_client(), address).status_code for _ in range(4)]
        assert answers == [200, 200, 200, 429], address
    smtp.clear()
    send_pending()
    assert len(smtp.to(manager.email)) == 3
    frozen_clock.advance(timedelta(minutes=16))
    assert ask_for_reset(app.test_client(), manager.email).status_code == 200


def test_a_switched_off_account_gets_no_reset_and_its_links_stop(app, client, signed_in_client, supervisor,
                                                                 manager, smtp):
    ask_for_reset(client, manager.email)
    link = path_of(emailed_link(smtp, manager.email))
    assert signed_in_client(supervisor).post(f"/settings/staff/{manager.id}",
                                             {"change": "deactivate"}).status_code == 303
    assert client.get(link).status_code == 410
    smtp.clear()
    answer = ask_for_reset(client, manager.email)
    assert answer.status_code == 200 and "we have sent it a link" in answer.get_data(as_text=True)
    send_pending()
    assert smtp.to(manager.email) == []
    # Switched on again, the old link still does not work: it was withdrawn.
    assert signed_in_client(supervisor).post(f"/settings/staff/{manager.id}",
                                             {"change": "activate"}).status_code == 303
    assert client.get(link).status_code == 410


def test_a_switched_off_account_cannot_use_a_link_it_still_holds(app, client, manager, smtp):
    ask_for_reset(client, manager.email)
    link = path_of(emailed_link(smtp, manager.email))
    manager.is_active = False  # switched off directly, as a database edit would
    db.session.commit()
    page = client.get(link)
    assert page.status_code == 410 and "switched off" in page.get_data(as_text=True)
    assert choose(client, link).status_code == 410 and client.get("/").status_code == 302


def test_only_a_hash_of_each_link_is_kept(app, client, manager, smtp):
    from resolver.models import StaffToken

    ask_for_reset(client, manager.email)
    nonce = emailed_link(smtp, manager.email).rsplit("/", 1)[1]
    [token] = db.session.scalars(select(StaffToken)).all()
    assert len(token.nonce_hash) == 64 and nonce not in token.nonce_hash


def test_the_sign_in_page_offers_a_reset(client):
    assert 'href="/forgot-password">Forgot your password?' in client.get("/login").get_data(as_text=True)


def test_of_two_requests_racing_with_one_link_only_one_sets_the_password(app, client, manager, smtp):
    from resolver.errors import LinkError
    from resolver.models import StaffToken
    from resolver.services import accounts

    ask_for_reset(client, manager.email)
    nonce = emailed_link(smtp, manager.email).rsplit("/", 1)[1]
    accounts.usable_token(nonce)  # this request has read the link, and found it unused...
    with db.engine.begin() as other:  # ...when another request uses it and commits first
        other.execute(StaffToken.__table__.update().values(used_dt=START))
    with pytest.raises(LinkError, match="already been used"):
        accounts.choose_password(nonce, "the loser's pick", "the loser's pick")
    db.session.rollback()
    assert sign_in(app.test_client(), manager.email, "the loser's pick").status_code == 401
