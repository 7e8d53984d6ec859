"""the date first promised for the written reply, and the lessons learned on closing

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 13:00:00

"""
from datetime import datetime
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from resolver.models.base import UTCDateTime


revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

dispute = sa.table('dispute', sa.column('id', sa.Integer), sa.column('reply_due_dt', UTCDateTime()),
                   sa.column('reply_promised_dt', UTCDateTime()))
timer = sa.table('timer', sa.column('dispute_id', sa.Integer), sa.column('kind', sa.String),
                 sa.column('status', sa.String), sa.column('due_dt', UTCDateTime()))
audit_event = sa.table('audit_event', sa.column('id', sa.Integer), sa.column('dispute_id', sa.Integer),
                       sa.column('action', sa.String), sa.column('data', sa.JSON))


def upgrade() -> None:
    """The reply keeps the date first promised the resident, so a moved date no longer hides a late reply;
    closing keeps what the company learned. A dispute whose reply date was already moved is given the
    date it had before its first move (the history kept it), and its breach, if still to come, goes back
    to that date; any other dispute keeps its reply date as the promise."""
    with op.batch_alter_table('dispute', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_promised_dt', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('lessons_learned', sa.Text(), server_default='', nullable=False))
    op.execute(dispute.update().where(dispute.c.reply_due_dt.is_not(None))
               .values(reply_promised_dt=dispute.c.reply_due_dt))
    connection = op.get_bind()
    first_moves = {}
    for dispute_id, data in connection.execute(
        sa.select(audit_event.c.dispute_id, audit_event.c.data)
        .where(audit_event.c.action == 'extend').order_by(audit_event.c.id)
    ):
        if (data or {}).get('window') == 'reply' and data.get('old_due') and dispute_id not in first_moves:
            first_moves[dispute_id] = datetime.fromisoformat(data['old_due'])
    for dispute_id, promised in first_moves.items():
        connection.execute(dispute.update().where(dispute.c.id == dispute_id).values(reply_promised_dt=promised))
        connection.execute(timer.update().where(timer.c.dispute_id == dispute_id, timer.c.kind == 'reply:due',
                                                timer.c.status == 'pending').values(due_dt=promised))


def downgrade() -> None:
    with op.batch_alter_table('dispute', schema=None) as batch_op:
        batch_op.drop_column('lessons_learned')
        batch_op.drop_column('reply_promised_dt')
