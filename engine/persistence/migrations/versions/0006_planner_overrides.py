"""planner overrides: keep, never, hold and lock, kept with who made (and removed) them

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 11:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'planner_overrides',
        sa.Column('override_id', sa.String(length=64), nullable=False),
        sa.Column('region_code', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('referral_id', sa.String(length=64), nullable=True),
        sa.Column('cohort_id', sa.String(length=64), nullable=True),
        sa.Column('until', sa.Date(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('removed_by', sa.String(length=64), nullable=True),
        sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('override_id'),
    )
    op.create_index('ix_planner_overrides_region_code', 'planner_overrides', ['region_code'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_planner_overrides_region_code', table_name='planner_overrides')
    op.drop_table('planner_overrides')
