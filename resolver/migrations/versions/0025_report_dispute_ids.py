"""the reports join a company's recent disputes to their letters and seats by ids read from the
(company, created) index alone, not from a page of the table per dispute

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 09:15:00

"""
from typing import Sequence, Union

from alembic import op


revision: str = '0025'
down_revision: Union[str, Sequence[str], None] = '0024'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('dispute', schema=None) as batch_op:
        batch_op.drop_index('ix_dispute_company_created')
        batch_op.create_index('ix_dispute_company_created', ['company_id', 'created_dt'], unique=False,
                              postgresql_include=['id'])


def downgrade() -> None:
    with op.batch_alter_table('dispute', schema=None) as batch_op:
        batch_op.drop_index('ix_dispute_company_created', postgresql_include=['id'])
        batch_op.create_index('ix_dispute_company_created', ['company_id', 'created_dt'], unique=False)
