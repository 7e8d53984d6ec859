"""the worker's scheduled backups: when the last was taken, and which worker holds the turn for the next

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 21:15:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0017'
down_revision: Union[str, Sequence[str], None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('installation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_backup_dt', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('backup_claimed_until_dt', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('installation', schema=None) as batch_op:
        batch_op.drop_column('backup_claimed_until_dt')
        batch_op.drop_column('last_backup_dt')
