"""The migrations build exactly the schema the models describe, constraints included."""
from __future__ import annotations

import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from resolver import create_app
from resolver.extensions import db
from resolver.migrations import alembic_config, current_revision, head_revision, upgrade_database
from resolver.models import Base, Company, Dispute, Resident, StaffUser


@pytest.fixture
def empty_app(tmp_path, fresh_database):
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": fresh_database(f"migrations_{uuid.uuid4().hex[:8]}"),
            "SECRET_KEY": "test-secret",
        }
    )
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def differences() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def aspen_people() -> tuple[Company, StaffUser, Resident]:
    """A company with its manager and a resident, written straight to the migrated schema."""
    company = Company(name="Aspen Property Co", slug="aspen")
    db.session.add(company)
    db.session.flush()
    manager = StaffUser(company_id=company.id, email="morgan@aspen.test", name="Morgan Manager")
    resident = Resident(company_id=company.id, name="Tammy Rivera", email="tammy@mail.test")
    db.session.add_all([manager, resident])
    db.session.flush()
    return company, manager, resident


def test_upgrading_an_empty_database_gives_exactly_the_models(empty_app):
    assert current_revision() is None
    before, after = upgrade_database()
    assert (before, after) == (None, head_revision())
    assert differences() == []
    tables = set(inspect(db.engine).get_table_names())
    assert {table.name for table in Base.metadata.sorted_tables} <= tables


def test_upgrading_twice_changes_nothing(empty_app):
    upgrade_database()
    assert upgrade_database() == (head_revision(), head_revision())


def test_downgrading_to_nothing_removes_every_table(empty_app):
    upgrade_database()
    with db.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}


def test_the_check_constraints_come_with_the_migrations(empty_app):
    upgrade_database()
    db.session.add(Company(name="Aspen Property Co", slug="aspen"))
    db.session.commit()  # a sound row goes in
    db.session.add(Company(name="Even Panels Inc", slug="even", panel_size=4))  # panels seat an odd number
    with pytest.raises(IntegrityError, match="(?i)panel_size_odd|check constraint"):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(func.count(Company.id))) == 1


def test_a_dispute_cannot_sit_in_a_state_without_its_dates(empty_app):
    """The workflow's `requires` lists are constraints in the migrated schema too."""
    upgrade_database()
    company, manager, resident = aspen_people()
    db.session.commit()

    def dispute(state: str) -> Dispute:
        return Dispute(company_id=company.id, manager_id=manager.id, resident_id=resident.id, issue="x", state=state)

    db.session.add(dispute("awaiting_evidence"))  # without opened_dt and evidence_due_dt
    with pytest.raises(IntegrityError, match="(?i)awaiting_evidence_complete|check constraint"):
        db.session.commit()
    db.session.rollback()
    db.session.add(dispute("draft"))
    db.session.commit()
    assert db.session.scalar(select(func.count(Dispute.id))) == 1


def test_the_reply_promise_is_backfilled_from_the_date_before_the_first_move(empty_app):
    """Disputes from before the promise was kept: a moved reply date keeps the date it had before its
    first move (the history has it), and its breach goes back to it; any other, the reply date it has."""
    from datetime import datetime, timedelta, timezone

    from resolver.actors import Actor
    from resolver.history import record_event
    from resolver.models import Timer

    upgrade_database()
    company, manager, resident = aspen_people()
    received = datetime(2026, 3, 9, 16, 0, tzinfo=timezone.utc)
    promised = received + timedelta(days=7)

    def waiting(reply_due: datetime) -> Dispute:
        return Dispute(company_id=company.id, manager_id=manager.id, resident_id=resident.id, issue="x",
                       state="evidence_received", evidence_received_dt=received, reply_due_dt=reply_due)

    kept, moved = waiting(promised), waiting(promised + timedelta(days=12))
    db.session.add_all([kept, moved])
    db.session.flush()
    db.session.add(Timer(dispute_id=moved.id, window="reply", kind="reply:due", due_dt=moved.reply_due_dt))
    for old, new in ((promised, promised + timedelta(days=10)), (promised + timedelta(days=10), moved.reply_due_dt)):
        record_event(moved, Actor.staff(manager), "extend",
                     data={"window": "reply", "old_due": old.isoformat(), "new_due": new.isoformat()})
    db.session.commit()
    ids = (kept.id, moved.id)
    db.session.remove()
    with db.engine.connect() as connection:  # back to before the promise was kept, then up again
        if connection.dialect.name == "sqlite":  # SQLite rebuilds the table to drop a column
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        with connection.begin():
            command.downgrade(alembic_config(connection), "0011")
    upgrade_database()
    promises = dict(db.session.execute(select(Dispute.id, Dispute.reply_promised_dt).where(Dispute.id.in_(ids))).all())
    assert promises == {kept.id: promised, moved.id: promised}
    assert db.session.scalar(select(Timer.due_dt).where(Timer.dispute_id == moved.id)) == promised  # the breach too


def test_letters_written_before_categories_keep_the_concession_words_they_were_sent_with(empty_app):
    """A deposit dispute's letter said "back from your security deposit", any other "credited to your
    account": after the upgrade, the offer, the task and the "Done" email still say so."""
    from resolver.models import Letter

    upgrade_database()
    company, manager, resident = aspen_people()
    letters = {}
    for category in ("Security deposit", "noise"):
        dispute = Dispute(company_id=company.id, manager_id=manager.id, resident_id=resident.id, issue="x",
                          state="draft", category=category)
        db.session.add(dispute)
        db.session.flush()
        letters[category] = Letter(dispute_id=dispute.id, concession_cents=5000)
        db.session.add(letters[category])
    db.session.commit()
    with db.engine.connect() as connection:  # back to before letters kept their words, then up again
        if connection.dialect.name == "sqlite":  # SQLite rebuilds tables to drop columns
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        with connection.begin():
            command.downgrade(alembic_config(connection), "0008")
    upgrade_database()
    db.session.expire_all()
    assert [(letters[c].concession_line, letters[c].concession_task) for c in ("Security deposit", "noise")] == [
        ("{amount} back from your security deposit", "Return {amount} from the security deposit"),
        ("{amount} credited to your account", "Credit {amount} to the resident's account"),
    ]


def before_chaining() -> tuple[int, int, int]:
    """A company, its manager, a resident and a dispute, on a database taken back to before histories
    were chained (0015): (company id, dispute id, resident id)."""
    from alembic.script import ScriptDirectory

    upgrade_database()
    company, manager, resident = aspen_people()
    dispute = Dispute(company_id=company.id, manager_id=manager.id, resident_id=resident.id, issue="x", state="draft")
    db.session.add(dispute)
    db.session.commit()
    ids = (company.id, dispute.id, resident.id)
    db.session.remove()
    with db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":  # SQLite rebuilds the tables to drop columns
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        with connection.begin():
            config = alembic_config(connection)
            command.downgrade(config, ScriptDirectory.from_config(config).get_revision("0015").down_revision)
    return ids


def test_the_histories_are_chained_and_append_only_after_the_upgrade(empty_app):
    """Events recorded before histories were chained get their places in the order they happened,
    and their hashes; from then on the database refuses to change or remove one, as in a new one."""
    from datetime import datetime, timedelta

    from sqlalchemy import text, update
    from sqlalchemy.exc import DBAPIError

    from resolver.history import verify_histories
    from resolver.models import AuditEvent, CompanyEvent

    ids = before_chaining()
    start = datetime(2026, 3, 9, 16, 0)
    with db.engine.begin() as connection:
        # Written in another order than they happened: the history's order is the order they happened in.
        for hours, action in ((2, "third"), (0, "first"), (1, "second")):
            connection.execute(text("INSERT INTO audit_event (dispute_id, occurred_dt, actor_kind, actor_label, "
                                    "action, reason, data) VALUES (:dispute, :at, 'staff', 'Morgan', :action, '', '{}')"),
                               {"dispute": ids[1], "at": start + timedelta(hours=hours), "action": action})
        connection.execute(text("INSERT INTO company_event (company_id, occurred_dt, actor_kind, actor_label, action, "
                                "subject_kind, subject_label, reason, data) VALUES (:company, :at, 'system', "
                                "'Resolver', 'rules_changed', 'company', 'Aspen', '', '{\"changed\": {}}')"),
                           {"company": ids[0], "at": start})
    upgrade_database()
    assert db.session.execute(select(AuditEvent.action, AuditEvent.position).order_by(AuditEvent.position)).all() == [
        ("first", 1), ("second", 2), ("third", 3)]
    result = verify_histories()
    assert (result.is_intact, result.histories, result.events) == (True, 2, 4)
    for model in (AuditEvent, CompanyEvent):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(update(model).values(reason="changed"))
        db.session.rollback()


def test_the_residents_name_and_words_leave_the_histories_before_they_are_chained(empty_app):
    """A history once chained can never be changed, so the upgrade first takes out what erasure must be
    able to remove: the resident who acted is "Resident", what they wrote moves to their request (kept
    there if it already was), their referral reads Resolver's sentence, the company's history numbers them."""
    from datetime import datetime

    from sqlalchemy import text

    from resolver.history import verify_histories
    from resolver.models import AuditEvent, CompanyEvent, ExtensionRequest

    company_id, dispute_id, resident_id = before_chaining()
    at = datetime(2026, 3, 9, 16, 0)
    event = ("INSERT INTO audit_event (dispute_id, occurred_dt, actor_kind, actor_id, actor_label, action, reason, "
             "data) VALUES (:dispute, :at, :kind, :resident, :label, :action, :reason, :data)")
    with db.engine.begin() as connection:
        connection.execute(text("INSERT INTO extension_request (dispute_id, requested_dt, days_asked, reason, status, "
                                "answer_note) VALUES (:dispute, :at, 5, '', 'pending', '')"),
                           {"dispute": dispute_id, "at": at})
        for action, reason, data in (("submit_evidence", "", '{"files": 1}'),
                                     ("ask_more_time", "I am in hospital until the 20th.", '{"days": 5}'),
                                     ("ladder_requested", "Please look at my photos.", '{"letter_id": 99}'),
                                     ("refer_out", "My lawyer Jo Bloggs has it now.", "{}")):
            connection.execute(text(event), {"dispute": dispute_id, "at": at, "kind": "resident",
                                             "resident": resident_id, "label": "Tammy Rivera", "action": action,
                                             "reason": reason, "data": data})
        connection.execute(text(event), {"dispute": dispute_id, "at": at, "kind": "staff", "resident": None,
                                         "label": "Morgan Manager", "action": "extend", "reason": "She is away.",
                                         "data": "{}"})
        connection.execute(text("INSERT INTO company_event (company_id, occurred_dt, actor_kind, actor_label, "
                                "action, subject_kind, subject_id, subject_label, reason, data) VALUES (:company, "
                                ":at, 'staff', 'Morgan Manager', 'resident_added', 'company', :company, "
                                "'Tammy Rivera', '', :data)"),
                           {"company": company_id, "at": at, "data": f'{{"resident_id": {resident_id}}}'})
    upgrade_database()
    events = db.session.execute(select(AuditEvent.action, AuditEvent.actor_label, AuditEvent.reason)
                                .order_by(AuditEvent.position)).all()
    assert events == [
        ("submit_evidence", "Resident", ""), ("ask_more_time", "Resident", ""), ("ladder_requested", "Resident", ""),
        ("refer_out", "Resident", "The resident told us they have taken this to outside mediation."),
        ("extend", "Morgan Manager", "She is away."),
    ]
    request = db.session.scalars(select(ExtensionRequest)).one()
    assert request.reason == "I am in hospital until the 20th."
    asked = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "ask_more_time")).one()
    assert asked.data == {"days": 5, "request_id": request.id}
    assert db.session.scalars(select(CompanyEvent.subject_label)).all() == [f"Resident #{resident_id}"]
    assert verify_histories().is_intact
