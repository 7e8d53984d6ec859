"""histories the database keeps append-only, each event chained to the one before it by a hash

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-02 16:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from resolver.history import chain_hash
from resolver.models.append_only import create_statements, drop_statements
from resolver.models.base import UTCDateTime


revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0012'
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
        _backfill(name)
        owner, _ = HISTORIES[name]
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.alter_column('position', existing_type=sa.Integer(), nullable=False)
            batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
            batch_op.create_unique_constraint(op.f(f'uq_{name}_{owner}_position'), [owner, 'position'])
        for statement in create_statements(name, op.get_bind().dialect.name):
            op.execute(statement)


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
