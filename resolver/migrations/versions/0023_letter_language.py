"""a letter is written in the resident's language, and a letter in another language keeps its English
draft for the manager to read beside it

Revision ID: 0023
Revises: 0021
Create Date: 2026-12-03 03:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0023'
down_revision: Union[str, Sequence[str], None] = '0022'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Every letter so far was written in English."""
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=16), server_default='en', nullable=False))
        batch_op.add_column(sa.Column('english_html', sa.Text(), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.drop_column('english_html')
        batch_op.drop_column('language')
