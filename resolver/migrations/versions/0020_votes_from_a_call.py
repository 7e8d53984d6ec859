"""a team that decided on a call: a vote (and each of its versions) may say the manager recorded it
from a call on a given day, and until when the member may correct it

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 21:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0020'
down_revision: Union[str, Sequence[str], None] = '0019'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

CALL_CHECK = '(recorded_by_id IS NULL) = (call_on IS NULL)'


def _add_call_columns(table: str, *, with_correction: bool) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.add_column(sa.Column('recorded_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('call_on', sa.Date(), nullable=True))
        if with_correction:
            batch_op.add_column(sa.Column('correction_due_dt', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(op.f(f'fk_{table}_recorded_by_id_staff_user'), 'staff_user',
                                    ['recorded_by_id'], ['id'])
        batch_op.create_check_constraint('call_recorded_by', CALL_CHECK)


def _drop_call_columns(table: str, *, with_correction: bool) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f'ck_{table}_call_recorded_by'), type_='check')
        batch_op.drop_constraint(op.f(f'fk_{table}_recorded_by_id_staff_user'), type_='foreignkey')
        if with_correction:
            batch_op.drop_column('correction_due_dt')
        batch_op.drop_column('call_on')
        batch_op.drop_column('recorded_by_id')


def upgrade() -> None:
    _add_call_columns('vote', with_correction=True)
    _add_call_columns('vote_revision', with_correction=False)


def downgrade() -> None:
    _drop_call_columns('vote_revision', with_correction=False)
    _drop_call_columns('vote', with_correction=True)
