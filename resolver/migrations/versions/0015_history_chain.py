"""histories the database keeps append-only, each event chained to the one before it by a hash

Before chaining, the histories are cleared of residents' personal data, which once chained could
never be erased: a resident who acted is "Resident" (their id stays), what they wrote when asking
for more time or for the decision to be looked at again stays only on that request (copied there if
it was missing), a resident's referral reads Resolver's own sentence, a task's title (which names
the resident) and an edited letter's subject stay only on the task and the letter, and the company's
history names a resident "Resident #<id>" (the pages read the name from the resident's row).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 16:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from resolver.history import chain_hash
from resolver.models.append_only import create_statements, drop_statements
from resolver.models.base import UTCDateTime


revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BATCH = 500  # histories backfilled at a time

# Each history: its table, the column naming whose history a row belongs to, and what the hash covers.
HISTORIES = {
    'audit_event': ('dispute_id', ('dispute_id', 'position', 'occurred_dt', 'actor_kind', 'actor_id', 'actor_label',
                                   'action', 'from_state', 'to_state', 'reason', 'data')),
    'company_event': ('company_id', ('company_id', 'position', 'occurred_dt', 'actor_kind', 'actor_id', 'actor_label',
                                     'action', 'subject_kind', 'subject_id', 'subject_label', 'reason', 'data')),
}
_TYPES = {'occurred_dt': UTCDateTime(), 'data': sa.JSON(), 'position': sa.Integer(), 'actor_id': sa.Integer(),
          'subject_id': sa.Integer(), 'dispute_id': sa.Integer(), 'company_id': sa.Integer()}


def _table(name: str) -> sa.Table:
    _, fields = HISTORIES[name]
    return sa.table(name, sa.column('id', sa.Integer), sa.column('hash', sa.String),
                    *(sa.column(field, _TYPES.get(field, sa.String())) for field in fields))


def upgrade() -> None:
    """Every event gets its place in its history (in the order it happened) and its hash; then no two
    events of one history may share a place, and the database refuses to change or remove an event."""
    for name in HISTORIES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column('position', sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
        _REDACT[name](op.get_bind())
        _backfill(name)
        owner, _ = HISTORIES[name]
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.alter_column('position', existing_type=sa.Integer(), nullable=False)
            batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
            batch_op.create_unique_constraint(op.f(f'uq_{name}_{owner}_position'), [owner, 'position'])
        for statement in create_statements(name, op.get_bind().dialect.name):
            op.execute(statement)


RESIDENT_LABEL = 'Resident'  # resolver.history.RESIDENT_LABEL, as it is now
REFERRED_BY_RESIDENT = 'The resident told us they have taken this to outside mediation.'
RESIDENT_ACTIONS = ('resident_added', 'resident_changed', 'resident_moved', 'resident_archived', 'resident_restored')


def _redact_disputes(connection) -> None:
    """No resident's name or words in a dispute's history (see the docstring above)."""
    events = _table('audit_event')
    connection.execute(events.update().where(events.c.actor_kind == 'resident').values(actor_label=RESIDENT_LABEL))
    connection.execute(events.update().where(events.c.actor_kind == 'resident', events.c.action == 'refer_out')
                       .values(reason=REFERRED_BY_RESIDENT))
    asked = connection.execute(sa.select(events.c.id, events.c.dispute_id, events.c.occurred_dt, events.c.reason,
                                         events.c.data).where(events.c.action == 'ask_more_time')).all()
    for event in asked:
        _keep_on_request(connection, event, _nearest_request(connection, event))
    ladders = sa.table('ladder_request', sa.column('id', sa.Integer), sa.column('letter_id', sa.Integer),
                       sa.column('message', sa.Text))
    for event in connection.execute(sa.select(events.c.id, events.c.reason, events.c.data)
                                    .where(events.c.action == 'ladder_requested', events.c.reason != '')).all():
        letter_id = (event.data or {}).get('letter_id')
        connection.execute(ladders.update().where(ladders.c.letter_id == letter_id, ladders.c.message == '')
                           .values(message=event.reason))
        connection.execute(events.update().where(events.c.id == event.id).values(reason=''))
    _keep_on_task_and_letter(connection, events)


def _keep_on_task_and_letter(connection, events) -> None:
    """A task's title names the resident and a letter's subject may: the task and the letter keep them."""
    named = connection.execute(sa.select(events.c.id, events.c.action, events.c.data).where(
        events.c.action.in_(('fulfilment_task', 'task_done', 'letter_edited')))).all()
    for event in named:
        data = dict(event.data or {})
        if event.action == 'letter_edited' and 'subject' in data:
            data['subject'] = True
        elif event.action != 'letter_edited' and 'title' in data:
            del data['title']
        else:
            continue
        connection.execute(events.update().where(events.c.id == event.id).values(data=data))


_REQUESTS = sa.table('extension_request', sa.column('id', sa.Integer), sa.column('dispute_id', sa.Integer),
                     sa.column('requested_dt', UTCDateTime()), sa.column('reason', sa.Text))


def _nearest_request(connection, event):
    """The request an ask_more_time event recorded: its dispute's, asked at the same moment (the nearest)."""
    requests = connection.execute(sa.select(_REQUESTS).where(_REQUESTS.c.dispute_id == event.dispute_id)).all()
    return min(requests, key=lambda r: abs((r.requested_dt - event.occurred_dt).total_seconds()), default=None)


def _keep_on_request(connection, event, request) -> None:
    """The event names its request and keeps none of the resident's words; the request keeps them."""
    events = _table('audit_event')
    data = dict(event.data or {})
    if request is not None:
        data['request_id'] = request.id
        if event.reason and not request.reason:
            connection.execute(_REQUESTS.update().where(_REQUESTS.c.id == request.id).values(reason=event.reason))
    connection.execute(events.update().where(events.c.id == event.id).values(reason='', data=data))


def _redact_company(connection) -> None:
    """The company's history names a resident by number, never by name."""
    events = _table('company_event')
    rows = connection.execute(sa.select(events.c.id, events.c.data).where(events.c.action.in_(RESIDENT_ACTIONS))).all()
    for row in rows:
        resident_id = (row.data or {}).get('resident_id')
        label = f"Resident #{resident_id}" if resident_id else RESIDENT_LABEL
        connection.execute(events.update().where(events.c.id == row.id).values(subject_label=label))


_REDACT = {'audit_event': _redact_disputes, 'company_event': _redact_company}


def _backfill(name: str) -> None:
    """Chain each history's events in order (occurred_dt, id), a few hundred histories at a time."""
    connection = op.get_bind()
    table = _table(name)
    owner, fields = HISTORIES[name]
    owners = connection.execute(sa.select(table.c[owner]).distinct().order_by(table.c[owner])).scalars().all()
    update = table.update().where(table.c.id == sa.bindparam('event_id')).values(
        position=sa.bindparam('new_position'), hash=sa.bindparam('new_hash'))
    for start in range(0, len(owners), BATCH):
        some = owners[start:start + BATCH]
        rows = connection.execute(
            sa.select(table).where(table.c[owner].in_(some))
            .order_by(table.c[owner], table.c.occurred_dt, table.c.id)
        )
        links, current, position, previous = [], None, 0, ''
        for row in rows:
            if row._mapping[owner] != current:
                current, position, previous = row._mapping[owner], 0, ''
            position += 1
            values = {field: row._mapping[field] for field in fields}
            values['position'] = position
            previous = chain_hash(previous, values)
            links.append({'event_id': row.id, 'new_position': position, 'new_hash': previous})
        if links:
            connection.execute(update, links)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name, (owner, _) in HISTORIES.items():
        for statement in drop_statements(name, dialect):
            op.execute(statement)
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f'uq_{name}_{owner}_position'), type_='unique')
            batch_op.drop_column('hash')
            batch_op.drop_column('position')
    if dialect == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS refuse_history_rewrite()')
