"""alert workflow: an open alert's workflow state (acknowledged, assigned, snoozed, resolved), whom it is
assigned to and until when it is snoozed; the append-only alert_actions table keeps what people did

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('active_alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('workflow_state', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('assigned_to', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('snoozed_until', sa.Date(), nullable=True))
    op.create_table(
        'alert_actions',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('alert_id', sa.String(length=200), nullable=False),
        sa.Column('region_code', sa.String(length=40), nullable=False),
        sa.Column('action', sa.String(length=20), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('assigned_to', sa.String(length=64), nullable=True),
        sa.Column('snoozed_until', sa.Date(), nullable=True),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_alert_actions_alert_id', 'alert_actions', ['alert_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_alert_actions_alert_id', table_name='alert_actions')
    op.drop_table('alert_actions')
    with op.batch_alter_table('active_alerts', schema=None) as batch_op:
        batch_op.drop_column('snoozed_until')
        batch_op.drop_column('assigned_to')
        batch_op.drop_column('workflow_state')
