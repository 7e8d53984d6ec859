"""the reports read a company's recent disputes from small indexes: the steps that time the first
response, and the disputes closed with a lesson

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 07:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0024'
down_revision: Union[str, Sequence[str], None] = '0023'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

EVIDENCE_ARRIVED = sa.text("action = 'submit_evidence'")
STAFF_STEP = sa.text("actor_kind = 'staff'")
HAS_LESSON = sa.text("lessons_learned != ''")


def upgrade() -> None:
    """Each index holds only the rows its report reads; none changes a row."""
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_evidence_arrived', ['dispute_id', 'id'], unique=False,
                              sqlite_where=EVIDENCE_ARRIVED, postgresql_where=EVIDENCE_ARRIVED)
        batch_op.create_index('ix_audit_event_staff_steps', ['dispute_id', 'id'], unique=False,
                              postgresql_include=['occurred_dt'], sqlite_where=STAFF_STEP, postgresql_where=STAFF_STEP)
    with op.batch_alter_table('dispute', schema=None) as batch_op:
        batch_op.create_index('ix_dispute_company_lessons', ['company_id', 'closed_dt'], unique=False,
                              sqlite_where=HAS_LESSON, postgresql_where=HAS_LESSON)


def downgrade() -> None:
    with op.batch_alter_table('dispute', schema=None) as batch_op:
        batch_op.drop_index('ix_dispute_company_lessons', sqlite_where=HAS_LESSON, postgresql_where=HAS_LESSON)
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_staff_steps', postgresql_include=['occurred_dt'], sqlite_where=STAFF_STEP,
                            postgresql_where=STAFF_STEP)
        batch_op.drop_index('ix_audit_event_evidence_arrived', sqlite_where=EVIDENCE_ARRIVED,
                            postgresql_where=EVIDENCE_ARRIVED)
