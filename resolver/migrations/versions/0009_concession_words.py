"""what a letter's concession means, kept on the letter

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 13:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """A letter keeps the words its concession was offered in. Letters written before this said "back
    from your security deposit" for a deposit dispute (or one with disputed items), else "credited to
    your account": they keep saying so."""
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('concession_line', sa.String(length=300), server_default='', nullable=False))
        batch_op.add_column(sa.Column('concession_task', sa.String(length=300), server_default='', nullable=False))
    deposit = ("(SELECT lower(d.category) LIKE '%deposit%' OR EXISTS (SELECT 1 FROM disputed_item i "
               "WHERE i.dispute_id = d.id) FROM dispute d WHERE d.id = letter.dispute_id)")
    op.execute(
        "UPDATE letter SET "
        f"concession_line = CASE WHEN {deposit} THEN '{{amount}} back from your security deposit' "
        "ELSE '{amount} credited to your account' END, "
        f"concession_task = CASE WHEN {deposit} THEN 'Return {{amount}} from the security deposit' "
        "ELSE 'Credit {amount} to the resident''s account' END"
    )


def downgrade() -> None:
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.drop_column('concession_task')
        batch_op.drop_column('concession_line')
