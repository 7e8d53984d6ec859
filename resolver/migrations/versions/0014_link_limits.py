"""access-log counts: a link's uses beyond each hour's first few, and every access-log row after 90 days

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-02 15:50:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """A link's uses are counted once there are many in an hour, and every access-log row is counted by
    day once it is 90 days old; each run of that rollup is kept."""
    op.create_table('link_use_count',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('span', sa.String(length=5), nullable=False),
    sa.Column('start_dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('outcome', sa.String(length=40), nullable=False),
    sa.Column('uses', sa.Integer(), nullable=False),
    sa.Column('last_used_dt', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("span IN ('hour', 'day')", name=op.f('ck_link_use_count_span_known')),
    sa.ForeignKeyConstraint(['link_id'], ['access_link.id'], name=op.f('fk_link_use_count_link_id_access_link')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_use_count')),
    sa.UniqueConstraint('link_id', 'span', 'start_dt', 'method', 'outcome', name='uq_link_use_count_period')
    )
    op.create_table('sign_in_count',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day_dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('is_success', sa.Boolean(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_count')),
    sa.UniqueConstraint('day_dt', 'kind', 'is_success', name='uq_sign_in_count_day')
    )
    op.create_table('access_log_rollup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rolled_up_dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('before_dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('link_uses', sa.Integer(), nullable=False),
    sa.Column('sign_in_attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_log_rollup')),
    sa.UniqueConstraint('before_dt', name=op.f('uq_access_log_rollup_before_dt'))
    )


def downgrade() -> None:
    op.drop_table('access_log_rollup')
    op.drop_table('sign_in_count')
    op.drop_table('link_use_count')
