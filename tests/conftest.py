"""Fixtures shared by every test: an app on a fresh database, a movable clock, a real SMTP server
on loopback, and factories that build disputes in any state through the real verbs."""
from __future__ import annotations

import socket
import threading
from datetime import datetime, timezone
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from resolver import clock, create_app
from resolver.extensions import db

pytest_plugins = ["tests.factories"]

# Monday 9 March 2026, 16:00 UTC (09:00 in Denver): a quiet start to the week.
START = datetime(2026, 3, 9, 16, 0, tzinfo=timezone.utc)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """Messages the test SMTP server accepted, parsed."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()
        self.refuse = False

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "451 4.3.0 Try again later"
        with self.lock:
            parsed = message_from_bytes(envelope.content, policy=policy.default)
            self.messages.append({"rcpt": list(envelope.rcpt_tos), "message": parsed})
        return "250 OK"

    def clear(self):
        with self.lock:
            self.messages.clear()
        self.refuse = False

    def to(self, address: str):
        return [m["message"] for m in self.messages if address in m["rcpt"]]

    @staticmethod
    def text_of(message) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    @staticmethod
    def html_of(message) -> str:
        return message.get_body(preferencelist=("html",)).get_content()


@pytest.fixture(scope="session")
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def smtp(smtp_server):
    """The session's SMTP server, emptied for this test; ``smtp.messages`` holds what arrived."""
    smtp_server.handler.clear()
    yield smtp_server.handler
    smtp_server.handler.clear()


@pytest.fixture
def frozen_clock():
    clock.freeze(START)
    yield clock
    clock.reset()


@pytest.fixture
def app(tmp_path, smtp_server, frozen_clock):
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'resolver.db'}",
            "SECRET_KEY": "test-secret",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp_server.port,
            "PUBLIC_BASE_URL": "http://resolver.test",
            "WTF_CSRF_ENABLED": True,
        }
    )
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()
