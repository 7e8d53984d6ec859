"""a letter that came by post: who typed it in, and when (its received date is the submission's own)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 21:10:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0019'
down_revision: Union[str, Sequence[str], None] = '0018'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entered_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('entered_dt', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_submission_entered_by_id_staff_user'), 'staff_user',
                                    ['entered_by_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_submission_entered_by_id_staff_user'), type_='foreignkey')
        batch_op.drop_column('entered_dt')
        batch_op.drop_column('entered_by_id')
