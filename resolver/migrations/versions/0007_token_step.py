"""the step a recommended token is rounded to

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 12:45:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """A token the team recommends is rounded to a step a gift card comes in ($5 unless the company says)."""
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_step_cents', sa.Integer(), server_default=sa.text('500'), nullable=False))
        batch_op.create_check_constraint('token_step_positive', 'token_step_cents >= 1')


def downgrade() -> None:
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_company_token_step_positive'), type_='check')
        batch_op.drop_column('token_step_cents')
