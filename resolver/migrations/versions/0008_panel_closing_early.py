"""a company may choose to close the team's review as soon as the result cannot change

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 13:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Off for every company: the review runs to its deadline (or until everyone has voted), as the
    invitation promises, unless the company chooses otherwise in its settings."""
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_panel_closing_early', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    # A member's link no longer stops working when the review closes: it shows their vote and the
    # team's result. Links closed that way before now work again (the vote itself stays refused).
    op.execute(sa.text(
        "UPDATE access_link SET revoked_dt = NULL, revoked_reason = '' WHERE purpose = 'vote' "
        "AND revoked_reason IN ('the team''s review closed', 'the split vote was decided') "
        "AND dispute_id NOT IN (SELECT id FROM dispute WHERE state = 'withdrawn')"
    ))


def downgrade() -> None:
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.drop_column('is_panel_closing_early')
