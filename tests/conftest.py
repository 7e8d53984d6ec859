"""Fixtures shared by every test: an app on a fresh database, a movable clock, a real SMTP server
on loopback, and factories that build disputes in any state through the real verbs."""
from __future__ import annotations

import gc
import os
import shutil
import socket
import threading
import weakref
from datetime import datetime, timezone
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient
from jinja2 import BytecodeCache
from sqlalchemy import event
from sqlalchemy.engine import Engine

from resolver import clock, create_app
from resolver.extensions import db

pytest_plugins = ["tests.factories", "tests.fixtures_manager", "tests.s3server"]

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


# The suite runs on SQLite by default and on PostgreSQL with RESOLVER_TEST_DATABASE=postgresql.
TEST_DATABASE = os.environ.get("RESOLVER_TEST_DATABASE", "sqlite")


def is_postgres() -> bool:
    return TEST_DATABASE == "postgresql"


# The browser tests run on one database when the suite runs on both side by side (scripts/test.sh sets
# RESOLVER_TEST_BROWSER_DATABASE=sqlite for both runs): a browser test's subject is what a person sees
# and does in chromium, and the pages' database work under it is the same code that the test client's
# tests run on both databases. They took 4 of the 16 minutes of a run. Unset, as when one database is run
# by hand, every run has them.
BROWSER_DATABASE = os.environ.get("RESOLVER_TEST_BROWSER_DATABASE") or TEST_DATABASE
BROWSER_TESTS = os.path.join(os.path.dirname(__file__), "browser", "")


def pytest_collection_modifyitems(config, items):
    if BROWSER_DATABASE == TEST_DATABASE:
        return
    elsewhere = [item for item in items if str(item.path).startswith(BROWSER_TESTS)]
    if elsewhere:
        config.hook.pytest_deselected(items=elsewhere)
        items[:] = [item for item in items if not str(item.path).startswith(BROWSER_TESTS)]


def pytest_collection_finish(session):
    """What importing and collecting made (modules, classes, the app's code: most of the objects the run
    will ever hold) is set aside from the garbage collector, which otherwise walked it all again at each
    of its full collections (4 of the 20 seconds tests/test_verbs.py and tests/test_manager_dispute.py
    took); and it collects the young objects less often.
    Cyclic garbage the tests make is still collected, only later; ``gc.collect()`` still collects it all."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def pytest_report_header(config):
    if BROWSER_DATABASE != TEST_DATABASE:
        return f"browser tests: not in this run; they run on {BROWSER_DATABASE} (RESOLVER_TEST_BROWSER_DATABASE)"
    return None


@pytest.fixture(scope="session")
def postgres_server():
    """A throw-away PostgreSQL server, unless RESOLVER_TEST_DATABASE_URL names one."""
    if not is_postgres():
        pytest.skip("PostgreSQL runs only with RESOLVER_TEST_DATABASE=postgresql")
    if os.environ.get("RESOLVER_TEST_DATABASE_URL"):
        yield None
        return
    from .pgserver import PostgresServer

    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fresh_database(request, tmp_path_factory):
    """``fresh_database(name)``: the URL of a new, empty database (SQLite file or PostgreSQL)."""

    def make(name: str) -> str:
        if not is_postgres():
            return f"sqlite:///{tmp_path_factory.mktemp(name) / 'resolver.db'}"
        server = request.getfixturevalue("postgres_server")
        if server is None:
            import psycopg
            from sqlalchemy.engine import make_url

            base = make_url(os.environ["RESOLVER_TEST_DATABASE_URL"])
            with psycopg.connect(base.set(drivername="postgresql").render_as_string(hide_password=False),
                                 autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
                connection.execute(f'CREATE DATABASE "{name}"')
            return base.set(database=name).render_as_string(hide_password=False)
        return server.create_database(name)

    return make


@pytest.fixture(scope="session")
def shared_postgres_url(fresh_database):
    """On PostgreSQL the tests share one database, emptied before each test (fast)."""
    url = fresh_database("resolver_tests")
    from sqlalchemy import create_engine

    from resolver.models import Base

    engine = create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    return url


def empty_all_tables() -> None:
    """Remove every row the last test left and start the ids again from 1.

    DELETE, with triggers and foreign-key checks off for this one transaction (every table is
    emptied, so no reference is left dangling), takes a few milliseconds where TRUNCATE of every
    table took more than a second. Turning triggers off takes a superuser, which the tests' own
    server makes them; on a server named by RESOLVER_TEST_DATABASE_URL they may not be one.
    """
    from resolver.models import Base

    tables = [f'"{table.name}"' for table in reversed(Base.metadata.sorted_tables)]
    if db.session.execute(db.text("SHOW is_superuser")).scalar() == "on":
        deletes = " ".join(f"DELETE FROM {name};" for name in tables)
        db.session.execute(db.text(
            f"SET LOCAL session_replication_role = replica; {deletes} "
            "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, false) "
            "FROM pg_sequences WHERE schemaname = current_schema()"))
    else:
        db.session.execute(db.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    db.session.commit()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """An SQLite database holding every table, made once: each test gets a copy of the file, which
    takes a millisecond where creating the tables takes a few hundred."""
    from sqlalchemy import create_engine

    from resolver.models import Base

    path = tmp_path_factory.mktemp("template") / "resolver.db"
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    engine.dispose()  # the last connection closed folds the write-ahead log into the file
    assert not path.with_name("resolver.db-wal").exists(), "the template must be one file to copy"
    return path


@pytest.fixture(scope="session")
def sqlite_path(tmp_path_factory):
    """Where each test's SQLite database lives: one place, so one engine serves every test."""
    return tmp_path_factory.mktemp("database") / "resolver.db"


@pytest.fixture
def database_url(request):
    """This test's own database, every table created and empty."""
    if is_postgres():
        return request.getfixturevalue("shared_postgres_url")
    # The last test's connections are closed (its app's teardown); a connection something left open
    # keeps the old file, as the files are removed, not written over.
    path = request.getfixturevalue("sqlite_path")
    for left in (path, path.with_name("resolver.db-wal"), path.with_name("resolver.db-shm")):
        left.unlink(missing_ok=True)
    shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite:///{path}"


class SharedEngines:
    """One SQLAlchemy engine for the tests' own database, whichever test's app asks for it.

    Each engine compiles every statement it runs once, into a cache of its own (the dialect it was made
    with is part of the cache's key, and so is it of the mappers' caches for the unit of work's INSERTs and
    UPDATEs): with a new engine for each test's new app, a test spent a sixth of its time compiling
    SQL it had compiled for the test before. Every test's database has the same URL (PostgreSQL's one
    database, emptied; SQLite's one file, laid anew from the template), so the ``app`` fixture's apps
    (``TESTS_SHARE_ENGINE`` in their settings) share the engine made for it. Any other app (a second app on
    the same database, a restored instance, another machine) gets an engine of its own as before, which
    it may dispose of while the test's own session still holds a connection of the shared one.
    """

    SETTING = "TESTS_SHARE_ENGINE"

    def __init__(self):
        self.engines: dict[tuple[str, str], Engine] = {}

    def make(self, make_engine, extension, bind_key, options: dict, app) -> Engine:
        if not app.config.get(self.SETTING):
            return make_engine(extension, bind_key, options, app)
        key = (str(options.get("url")), repr(sorted(options.items())))
        if key not in self.engines:
            self.engines[key] = make_engine(extension, bind_key, options, app)
        return self.engines[key]

    def release(self, engine: Engine) -> None:
        """Close the connections of an engine a test used, but the shared one's on PostgreSQL, which it
        keeps for the next test (SQLite's file is laid anew for each test, so its connections go)."""
        if not (is_postgres() and any(engine is shared for shared in self.engines.values())):
            engine.dispose()

    def close(self) -> None:
        for engine in self.engines.values():
            engine.dispose()
        self.engines.clear()


SHARED_ENGINES = SharedEngines()


@pytest.fixture(scope="session", autouse=True)
def shared_engines():
    from flask_sqlalchemy import SQLAlchemy

    make_engine = SQLAlchemy._make_engine

    def make(extension, bind_key, options, app):
        return SHARED_ENGINES.make(make_engine, extension, bind_key, options, app)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SQLAlchemy, "_make_engine", make)
        yield SHARED_ENGINES
    SHARED_ENGINES.close()


class SessionTemplateCode(BytecodeCache):
    """Jinja's compiled templates, kept for the whole run. Each test's app has a Jinja environment of
    its own, and compiling the same pages and emails again for each one cost more than anything else a
    test did. Jinja checks each template's source against what was compiled before using it."""

    def __init__(self):
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CODE = SessionTemplateCode()


def url_builder_key(rule, append_unknown: bool) -> tuple:
    """What the function werkzeug compiles to build a rule's URLs is made from: the rule's parsed
    parts and its defaults. The function takes the rule as an argument and holds nothing else."""
    return (rule.rule, tuple(rule._trace), append_unknown, repr(sorted((rule.defaults or {}).items())),
            tuple((name, type(converter)) for name, converter in rule._converters.items()))


@pytest.fixture(scope="session", autouse=True)
def reused_url_builders():
    """Werkzeug compiles two Python functions for each URL rule of each app, a sixth of a second for
    every test's new app; the same rule makes the same function, so it is compiled once a run. Each
    app still has its own URL map and rules."""
    from werkzeug.routing import Rule

    compile_builder = Rule._compile_builder
    builders: dict[tuple, object] = {}

    def reuse_builder(rule, append_unknown: bool = True):
        key = url_builder_key(rule, append_unknown)
        if key not in builders:
            builders[key] = compile_builder(rule, append_unknown)
        return builders[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Rule, "_compile_builder", reuse_builder)
        yield compile_builder


_ENGINES_USED: "weakref.WeakSet[Engine]" = weakref.WeakSet()


@event.listens_for(Engine, "engine_connect")
def _remember_engine(connection) -> None:
    _ENGINES_USED.add(connection.engine)


@pytest.fixture(autouse=True)
def _connections_closed_when_a_test_ends():
    """Every engine a test used closes its idle connections when the test ends, whichever app made it (a
    second app for a proxy, another machine, a restored instance). Left to the garbage collector, a pooled
    PostgreSQL connection warns that it was never closed during whatever later test happens to be running,
    and that test fails. The engine the tests share lives for the whole run: it keeps its PostgreSQL
    connections for the next test."""
    yield
    for engine in list(_ENGINES_USED):
        SHARED_ENGINES.release(engine)
    _ENGINES_USED.clear()


class ClosingClient(FlaskClient):
    """A test client that reads each response whole and closes it, as a WSGI server does once it has sent
    the body: a file streamed from storage is closed even when a test never closes the response."""

    def open(self, *args, buffered: bool = True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)


@pytest.fixture
def app(tmp_path, smtp_server, frozen_clock, database_url):
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp_server.port,
            "PUBLIC_BASE_URL": "http://resolver.test",
            "WTF_CSRF_ENABLED": True,
            SharedEngines.SETTING: True,
        }
    )
    app.jinja_env.bytecode_cache = TEMPLATE_CODE
    app.test_client_class = ClosingClient
    with app.app_context():
        if is_postgres():
            empty_all_tables()
        yield app
        db.session.remove()
        SHARED_ENGINES.release(db.engine)


@pytest.fixture
def client(app):
    return app.test_client()
