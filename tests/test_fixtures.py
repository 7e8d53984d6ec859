"""The shortcuts the fixtures take to keep the suite quick change nothing that production does, and
nothing one test could leave behind for the next."""
from __future__ import annotations

import sqlite3

import pytest
from jinja2 import DictLoader, Environment
from werkzeug.security import check_password_hash

from resolver.extensions import db
from resolver.models import Base
from resolver.web.manager.auth import set_password

from .conftest import TEMPLATE_CODE, empty_all_tables, is_postgres
from .fixtures_manager import PASSWORD, TEST_HASH_METHOD, give_password


def test_production_hashes_passwords_with_scrypt_at_full_cost(app, manager):
    give_password(manager)
    assert manager.password_hash.startswith(f"{TEST_HASH_METHOD}$")
    set_password(manager, "a long passphrase")
    assert manager.password_hash.startswith("scrypt:32768:8:1$")
    assert check_password_hash(manager.password_hash, "a long passphrase")
    assert not check_password_hash(manager.password_hash, PASSWORD)


@pytest.mark.skipif(is_postgres(), reason="the SQLite databases are copies of one made at the start")
def test_each_test_writes_to_its_own_copy_of_the_empty_database(app, company, sqlite_template):
    db.session.commit()
    with sqlite3.connect(sqlite_template) as template:
        assert template.execute("SELECT count(*) FROM company").fetchone() == (0,)
    assert db.session.execute(db.text("SELECT count(*) FROM company")).scalar() == 1


def test_a_changed_template_is_compiled_again_not_taken_from_the_shared_cache():
    def render(source: str) -> str:
        environment = Environment(loader=DictLoader({"greeting.txt": source}), bytecode_cache=TEMPLATE_CODE)
        return environment.get_template("greeting.txt").render(name="Tammy")

    assert render("Hello {{ name }}") == "Hello Tammy"
    assert render("Dear {{ name }}") == "Dear Tammy"


@pytest.mark.skipif(not is_postgres(), reason="the PostgreSQL tests share one database, emptied before each")
def test_emptying_the_shared_database_leaves_no_row_and_starts_the_ids_again(app, make_dispute, make_company):
    make_dispute("panel_review")
    db.session.commit()
    empty_all_tables()
    db.session.expunge_all()  # what this test built is gone from the database, so from the session too
    for table in Base.metadata.sorted_tables:
        assert db.session.execute(db.select(db.func.count()).select_from(table)).scalar() == 0, table.name
    assert make_company().id == 1


def test_each_url_rule_builds_with_the_function_it_would_have_compiled_itself(app, reused_url_builders):
    compile_builder = reused_url_builders
    rules = list(app.url_map.iter_rules())
    assert len(rules) > 50
    for rule in rules:
        assert rule._build.__func__.__code__ == compile_builder(rule, False).__code__, rule.rule
        assert rule._build_unknown.__func__.__code__ == compile_builder(rule, True).__code__, rule.rule
