"""personal data has a lifetime: the company's retention, and when a dispute's and a resident's data was erased

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-02 15:50:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0016'
down_revision: Union[str, Sequence[str], None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """A company keeps a closed dispute's personal data for a number of years (7 unless it says);
    a dispute and a resident remember when theirs was erased, so the sweep erases each once."""
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retention_years', sa.Integer(), server_default=sa.text('7'), nullable=False))
        batch_op.create_check_constraint('retention_in_range', 'retention_years >= 1 AND retention_years <= 30')
    with op.batch_alter_table('dispute', schema=None) as batch_op:
        batch_op.add_column(sa.Column('personal_data_erased_dt', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_dispute_personal_data_held', ['company_id', 'state'], unique=False,
                              sqlite_where=sa.text('personal_data_erased_dt IS NULL'),
                              postgresql_where=sa.text('personal_data_erased_dt IS NULL'))
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_dt', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.drop_column('erased_dt')
    with op.batch_alter_table('dispute', schema=None) as batch_op:
        batch_op.drop_index('ix_dispute_personal_data_held', sqlite_where=sa.text('personal_data_erased_dt IS NULL'),
                            postgresql_where=sa.text('personal_data_erased_dt IS NULL'))
        batch_op.drop_column('personal_data_erased_dt')
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_company_retention_in_range'), type_='check')
        batch_op.drop_column('retention_years')
