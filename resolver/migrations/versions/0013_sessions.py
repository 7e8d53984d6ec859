"""sessions that end on sign-out, and the company's idle timeout

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 16:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Signing out moves the person's session version on, so a copied cookie stops working; a company
    signs its staff out after 30 minutes without activity unless it chooses otherwise (8 hours at most)."""
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default=sa.text('1'), nullable=False))
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idle_timeout_minutes', sa.Integer(), server_default=sa.text('30'),
                                      nullable=False))
        batch_op.create_check_constraint('idle_timeout_bounded', 'idle_timeout_minutes BETWEEN 5 AND 480')


def downgrade() -> None:
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_company_idle_timeout_bounded'), type_='check')
        batch_op.drop_column('idle_timeout_minutes')
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.drop_column('session_version')
