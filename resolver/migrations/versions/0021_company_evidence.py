"""both sides have evidence: a file belongs to the resident's side or the company's, and the company's
names who attached it and what it shows

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 21:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0021'
down_revision: Union[str, Sequence[str], None] = '0020'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

SOURCE = ("(side = 'resident' AND submission_id IS NOT NULL AND added_by_id IS NULL) OR "
          "(side = 'company' AND submission_id IS NULL AND added_by_id IS NOT NULL)")


def upgrade() -> None:
    """Every file so far is the resident's (it came with a submission); the company's files come
    without one, with the member of staff who attached them."""
    with op.batch_alter_table('evidence_file', schema=None) as batch_op:
        batch_op.add_column(sa.Column('side', sa.String(length=10), server_default='resident', nullable=False))
        batch_op.add_column(sa.Column('added_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('description', sa.String(length=300), server_default='', nullable=False))
        batch_op.alter_column('submission_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(batch_op.f('fk_evidence_file_added_by_id_staff_user'), 'staff_user',
                                    ['added_by_id'], ['id'])
        batch_op.create_check_constraint('side_known', "side IN ('resident', 'company')")
        batch_op.create_check_constraint('side_has_its_source', SOURCE)


def downgrade() -> None:
    # The company's files have no submission to hang on: they go (their bytes stay in the file store).
    op.execute("DELETE FROM evidence_file WHERE side = 'company'")
    with op.batch_alter_table('evidence_file', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_evidence_file_side_has_its_source'), type_='check')
        batch_op.drop_constraint(op.f('ck_evidence_file_side_known'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_evidence_file_added_by_id_staff_user'), type_='foreignkey')
        batch_op.alter_column('submission_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('description')
        batch_op.drop_column('added_by_id')
        batch_op.drop_column('side')
