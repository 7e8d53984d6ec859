"""Fixtures for the manager's web app: staff signed in through the real sign-in form, in the test
client (``signed_in_client(user)``) and in the browser (``login(page, user)``)."""
from __future__ import annotations

import re
from contextlib import contextmanager
from unittest import mock

import pytest
from sqlalchemy import event

from resolver.extensions import db

PASSWORD = "correct horse battery"
# Production hashes passwords with werkzeug's scrypt (N=2**15: a second of this machine's time to hash,
# and again to check at each sign-in). The staff the fixtures give a password get a scrypt hash of a
# small cost instead, which the real sign-in checks the same way; tests/test_fixtures.py checks that
# production's own hash keeps its full cost.
TEST_HASH_METHOD = "scrypt:1024:8:1"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextmanager
def count_statements():
    """The SQL statements the app sends while the block runs (to catch N+1 queries)."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        # The instance's clock is read at most once a second, whatever the page: not the page's own.
        if "FROM installation" not in statement:
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


@contextmanager
def cheap_password_hashes():
    """Passwords set inside the block are hashed at a test's cost (TEST_HASH_METHOD)."""
    from resolver.services import staff

    hash_for_tests = staff.generate_password_hash
    with mock.patch.object(staff, "generate_password_hash",
                           lambda password, **_: hash_for_tests(password, method=TEST_HASH_METHOD)):
        yield


def give_password(user, password: str = PASSWORD) -> None:
    """Set ``user``'s password through the real verb, hashed at a test's cost (TEST_HASH_METHOD)."""
    from resolver.web.manager.auth import set_password

    with cheap_password_hashes():
        set_password(user, password)
    db.session.commit()


class StaffClient:
    """A test client signed in as one staff member; ``post`` adds the CSRF token a real form carries."""

    def __init__(self, client, user):
        self.client = client
        self.user = user
        self.token = None

    def get(self, path, **kwargs):
        return self.client.get(path, **kwargs)

    def head(self, path, **kwargs):
        return self.client.head(path, **kwargs)

    def post(self, path, data=None, *, csrf=True, **kwargs):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf())
        return self.client.post(path, data=data, **kwargs)

    def csrf(self) -> str:
        if self.token is None:
            self.token = csrf_from(self.client.get("/disputes/new").get_data(as_text=True))
        return self.token


def sign_in(client, email: str, password: str = PASSWORD, **extra):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token, **extra})


@pytest.fixture
def signed_in_client(app):
    """``signed_in_client(user)``: a fresh test client signed in as ``user`` (who gets a password)."""

    def make(user) -> StaffClient:
        if not user.password_hash:
            give_password(user)
        client = app.test_client()
        response = sign_in(client, user.email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return StaffClient(client, user)

    return make


@pytest.fixture
def login(app):
    """``login(page, user)``: sign ``user`` in through the browser's sign-in page."""

    def sign_in_page(page, user, password: str = PASSWORD):
        if not user.password_hash:
            give_password(user, password)
        else:
            db.session.commit()
        page.goto(app.config["LIVE_URL"] + "/login")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        return page

    return sign_in_page
