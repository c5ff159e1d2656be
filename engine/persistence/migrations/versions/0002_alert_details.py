"""alert details: PDU, the numbers behind the reason, the message key, and when it was last updated

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 19:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('active_alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pdu_code', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('numbers', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('message_key', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('active_alerts', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
        batch_op.drop_column('message_key')
        batch_op.drop_column('numbers')
        batch_op.drop_column('pdu_code')
