"""a resident's request that the supervisor look again

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 12:50:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Asking the supervisor to look again gets its own row, one per letter, so two presses sent at once
    cannot both be written."""
    op.create_table('ladder_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('letter_id', sa.Integer(), nullable=False),
    sa.Column('dispute_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('asked_dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_dt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answer_note', sa.Text(), nullable=False),
    sa.CheckConstraint("answered_dt IS NULL OR answer_note != ''", name=op.f('ck_ladder_request_answer_has_note')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['staff_user.id'], name=op.f('fk_ladder_request_answered_by_id_staff_user')),
    sa.ForeignKeyConstraint(['dispute_id'], ['dispute.id'], name=op.f('fk_ladder_request_dispute_id_dispute')),
    sa.ForeignKeyConstraint(['letter_id'], ['letter.id'], name=op.f('fk_ladder_request_letter_id_letter')),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], name=op.f('fk_ladder_request_task_id_task')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ladder_request')),
    sa.UniqueConstraint('letter_id', name='uq_ladder_request_once_per_letter')
    )
    with op.batch_alter_table('ladder_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ladder_request_dispute_id'), ['dispute_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ladder_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ladder_request_dispute_id'))
    op.drop_table('ladder_request')
