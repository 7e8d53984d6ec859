"""mail received at the reply address, and the reply address on the emails that ask for a resident's side

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-02 21:20:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0018'
down_revision: Union[str, Sequence[str], None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OUTCOMES = "('filed', 'unmatched', 'ignored', 'refused', 'attached', 'dismissed')"


def upgrade() -> None:
    """One row per message received, unique by its key; an outbox email may carry a reply token
    and be marked as an automatic answer."""
    op.create_table(
        'inbound_mail',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('via', sa.String(length=20), nullable=False),
        sa.Column('received_dt', sa.DateTime(timezone=True), nullable=False),
        sa.Column('outcome', sa.String(length=12), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('message_id', sa.String(length=300), nullable=False),
        sa.Column('from_addr', sa.String(length=254), nullable=False),
        sa.Column('from_name', sa.String(length=200), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('sent_dt', sa.DateTime(timezone=True), nullable=True),
        sa.Column('company_id', sa.Integer(), nullable=True),
        sa.Column('dispute_id', sa.Integer(), nullable=True),
        sa.Column('submission_id', sa.Integer(), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('attachments', sa.JSON(), nullable=False),
        sa.Column('raw_sha256', sa.String(length=64), nullable=True),
        sa.Column('is_answered', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('handled_by_id', sa.Integer(), nullable=True),
        sa.Column('handled_dt', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"outcome IN {OUTCOMES}", name=op.f('ck_inbound_mail_outcome_known')),
        sa.CheckConstraint("outcome NOT IN ('filed', 'attached') OR submission_id IS NOT NULL",
                           name=op.f('ck_inbound_mail_filed_has_submission')),
        sa.CheckConstraint("outcome != 'unmatched' OR company_id IS NULL OR raw_sha256 IS NOT NULL",
                           name=op.f('ck_inbound_mail_unmatched_keeps_message')),
        sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_inbound_mail_company_id_company')),
        sa.ForeignKeyConstraint(['dispute_id'], ['dispute.id'], name=op.f('fk_inbound_mail_dispute_id_dispute')),
        sa.ForeignKeyConstraint(['submission_id'], ['submission.id'],
                                name=op.f('fk_inbound_mail_submission_id_submission')),
        sa.ForeignKeyConstraint(['handled_by_id'], ['staff_user.id'],
                                name=op.f('fk_inbound_mail_handled_by_id_staff_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_mail')),
        sa.UniqueConstraint('key', name=op.f('uq_inbound_mail_key')),
    )
    with op.batch_alter_table('inbound_mail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_mail_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_mail_dispute_id'), ['dispute_id'], unique=False)
        batch_op.create_index('ix_inbound_mail_unmatched', ['company_id', 'received_dt'], unique=False,
                              sqlite_where=sa.text("outcome = 'unmatched'"),
                              postgresql_where=sa.text("outcome = 'unmatched'"))
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_token', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('is_auto_reply', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.drop_column('is_auto_reply')
        batch_op.drop_column('reply_token')
    with op.batch_alter_table('inbound_mail', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_mail_unmatched', sqlite_where=sa.text("outcome = 'unmatched'"),
                            postgresql_where=sa.text("outcome = 'unmatched'"))
        batch_op.drop_index(batch_op.f('ix_inbound_mail_dispute_id'))
        batch_op.drop_index(batch_op.f('ix_inbound_mail_company_id'))
    op.drop_table('inbound_mail')
