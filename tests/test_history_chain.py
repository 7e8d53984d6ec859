"""The history can be trusted: the database refuses to change or remove an event, each event is chained
to the one before it by a hash, and ``resolver verify-history`` names the first broken link of a
history changed behind Resolver's back (by the database's owner, who can switch the refusal off)."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from resolver.actors import Actor
from resolver.extensions import db
from resolver.history import chain_hash, record_event
from resolver.models import AuditEvent, CompanyEvent
from resolver.models.append_only import create_statements, drop_statements
from resolver.services.company_settings import change_company_rules
from resolver.web.unit_of_work import is_version_conflict

HISTORIES = {"audit_event": AuditEvent, "company_event": CompanyEvent}


@pytest.fixture
def walked(make_dispute, supervisor):
    """A dispute taken to the team's decision through the real verbs, and two changes to its company's rules."""
    dispute = make_dispute("decided")
    change_company_rules(Actor.staff(supervisor), dispute.company, {"evidence_window_days": 10})
    change_company_rules(Actor.staff(supervisor), dispute.company, {"reply_window_days": 9})
    db.session.commit()
    return dispute


def verify_history(app):
    return app.test_cli_runner().invoke(args=["verify-history"])


def events_of(dispute) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.dispute_id == dispute.id)
                                   .order_by(AuditEvent.position)))


def as_the_owner(table: str, statement: str) -> None:
    """Change a history the way only the database's owner can: switch its triggers off, run
    ``statement``, switch them back on, and commit."""
    connection = db.session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        connection.exec_driver_sql(statement)
        connection.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    else:
        for drop in drop_statements(table, dialect):
            connection.exec_driver_sql(drop)
        connection.exec_driver_sql(statement)
        for create in create_statements(table, dialect):
            connection.exec_driver_sql(create)
    db.session.commit()


# The database refuses ------------------------------------------------------------------------------


@pytest.mark.parametrize("table", HISTORIES)
def test_an_update_that_skips_the_orm_is_refused_by_the_database(walked, table):
    model = HISTORIES[table]
    before = db.session.scalars(select(model.reason).order_by(model.id)).all()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(update(model).values(reason="Nothing happened here."))
    db.session.rollback()
    assert db.session.scalars(select(model.reason).order_by(model.id)).all() == before


@pytest.mark.parametrize("table", HISTORIES)
def test_a_raw_delete_through_the_connection_is_refused_by_the_database(walked, table):
    model = HISTORIES[table]
    count = db.session.scalar(select(func.count(model.id)))
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.connection().exec_driver_sql(f"DELETE FROM {table}")
    db.session.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(delete(model).where(model.id == db.session.scalar(select(func.max(model.id)))))
    db.session.rollback()
    assert count > 0 and db.session.scalar(select(func.count(model.id))) == count


# The chain -------------------------------------------------------------------------------------------


def test_a_walked_dispute_and_its_company_have_intact_histories(app, walked):
    events = events_of(walked)
    assert [e.position for e in events] == list(range(1, len(events) + 1))
    assert events[1].hash == chain_hash(events[0].hash, {name: getattr(events[1], name)
                                                         for name in AuditEvent.CHAINED_FIELDS})
    total = db.session.scalar(select(func.count(AuditEvent.id))) + db.session.scalar(select(func.count(CompanyEvent.id)))
    result = verify_history(app)
    assert result.exit_code == 0, result.output
    assert result.output == f"All 2 histories intact ({total} events).\n"


def test_an_event_changed_by_the_database_owner_is_named_by_its_dispute_and_position(app, walked, make_dispute):
    untouched = make_dispute("awaiting_evidence")
    db.session.commit()
    changed = events_of(walked)[3]
    as_the_owner("audit_event", f"UPDATE audit_event SET reason = 'The resident never wrote.' WHERE id = {changed.id}")
    result = verify_history(app)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == (f"Dispute {walked.id}: event at position 4 (id {changed.id}) does not match its hash — "
                        "changed after it was recorded")
    assert lines[1].startswith("1 of 3 histories broken")
    assert f"Dispute {untouched.id}" not in result.output


def test_an_event_removed_by_the_database_owner_is_a_missing_position(app, walked):
    removed = events_of(walked)[2]
    as_the_owner("audit_event", f"DELETE FROM audit_event WHERE id = {removed.id}")
    result = verify_history(app)
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (f"Dispute {walked.id}: position 3 is missing "
                                             "(removed after it was recorded)")


def test_a_company_event_changed_or_removed_is_named_by_its_company_and_position(app, walked):
    first, second = db.session.scalars(select(CompanyEvent).order_by(CompanyEvent.position)).all()[-2:]
    as_the_owner("company_event", f"UPDATE company_event SET actor_label = 'Someone else' WHERE id = {second.id}")
    result = verify_history(app)
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (f"Company {walked.company_id}: event at position {second.position} "
                                             f"(id {second.id}) does not match its hash — changed after it was recorded")
    as_the_owner("company_event", f"DELETE FROM company_event WHERE id = {first.id}")
    assert verify_history(app).output.splitlines()[0] == (f"Company {walked.company_id}: position {first.position} "
                                                          "is missing (removed after it was recorded)")


def test_several_events_in_one_transaction_chain_in_the_order_they_were_recorded(app, walked, make_dispute, manager):
    other = make_dispute("awaiting_evidence")
    db.session.commit()
    staff = Actor.staff(manager)
    before = len(events_of(walked))
    record_event(walked, staff, "note", reason="First.")
    record_event(other, staff, "note", reason="Elsewhere.")
    record_event(walked, staff, "note", reason="Second.", data={"b": 1, "a": [2, 3]})
    db.session.flush()  # some already in the database, the next still waiting in the session
    record_event(walked, staff, "note", reason="Third.")
    db.session.commit()
    notes = [(e.position, e.reason) for e in events_of(walked)[before:]]
    assert notes == [(before + 1, "First."), (before + 2, "Second."), (before + 3, "Third.")]
    assert verify_history(app).exit_code == 0


def test_two_writers_taking_the_same_place_at_once_are_a_version_conflict(app, walked, manager):
    """The second writer to take a place in the history is refused by the database and, like a
    dispute changed under it, tried again by the request's unit of work."""
    last = events_of(walked)[-1]
    record_event(walked, Actor.staff(manager), "note", reason="Mine.")  # takes the place after ``last``
    with Session(db.engine) as other:  # meanwhile, another request records its own
        fields = dict(dispute_id=walked.id, position=last.position + 1, occurred_dt=last.occurred_dt,
                      actor_kind="staff", actor_id=manager.id, actor_label=manager.name, action="note",
                      from_state=walked.state, to_state=walked.state, reason="Theirs.", data={})
        other.add(AuditEvent(**fields, hash=chain_hash(last.hash, fields)))
        other.commit()
    with pytest.raises(Exception) as refused:
        db.session.commit()
    assert is_version_conflict(refused.value)
    db.session.rollback()
    assert [e.reason for e in events_of(walked)][-1] == "Theirs."
    assert verify_history(app).exit_code == 0


# Company-level changes are recorded ------------------------------------------------------------------


def test_a_staff_account_added_from_the_command_line_is_in_the_company_history(app, company, frozen_clock):
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["create-user", "--company", company.slug, "--email", "dana@aspen.test",
                                                "--name", "Dana Whitfield", "--role", "supervisor",
                                                "--password", "longenough"])
    assert result.exit_code == 0, result.output
    event = db.session.scalars(select(CompanyEvent).where(CompanyEvent.company_id == company.id)
                               .order_by(CompanyEvent.position.desc())).first()
    assert (event.action, event.subject_label, event.actor_kind, event.actor_label, event.occurred_dt) == (
        "staff_added", "Dana Whitfield", "system", "resolver create-user", frozen_clock.now_utc())
    assert event.data == {"email": "dana@aspen.test", "role": "supervisor"}
