"""field times: people and cohorts keep the event time each field was last set, so a message arriving
late changes only the fields nothing newer has set (order-independent corrections)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 01:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('field_times', sa.JSON(), nullable=True))
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('field_times', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.drop_column('field_times')
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('field_times')
