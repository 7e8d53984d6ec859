"""the company's own words per language: its category phrases and its mediation service's name and
contact may be given in each language Resolver speaks

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 03:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0022'
down_revision: Union[str, Sequence[str], None] = '0021'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Every company and category so far speaks English only: its wording in other languages is empty."""
    for table in ('company', 'dispute_category'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('wording', sa.JSON(), server_default=sa.text("'{}'"), nullable=False))


def downgrade() -> None:
    for table in ('dispute_category', 'company'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('wording')
