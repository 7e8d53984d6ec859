"""a company's own dispute categories

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 12:50:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """A company's wording for Resolver's categories, and the categories it adds. Companies start with
    none: they read Resolver's defaults until they change one."""
    op.create_table('dispute_category',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=80), nullable=False),
    sa.Column('matter', sa.String(length=200), nullable=False),
    sa.Column('concession', sa.String(length=200), nullable=False),
    sa.Column('task', sa.String(length=200), nullable=False),
    sa.Column('token', sa.String(length=80), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('archived_dt', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_dispute_category_company_id_company')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispute_category')),
    sa.UniqueConstraint('company_id', 'key', name=op.f('uq_dispute_category_company_id_key')),
    sa.UniqueConstraint('company_id', 'label', name=op.f('uq_dispute_category_company_id_label'))
    )
    with op.batch_alter_table('dispute_category', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispute_category_company_id'), ['company_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dispute_category', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispute_category_company_id'))
    op.drop_table('dispute_category')
