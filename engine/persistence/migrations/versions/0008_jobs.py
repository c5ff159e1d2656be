"""jobs: re-plans, what-ifs and FTE sweeps asked for over the API, queued and run off the request
(engine/services/jobs.py), kept so that a restart loses none

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 11:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'jobs',
        sa.Column('job_id', sa.String(length=36), nullable=False),
        sa.Column('region_code', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('request', sa.JSON(), nullable=False),
        sa.Column('submitted_by', sa.String(length=64), nullable=False),
        sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('runner', sa.String(length=100), nullable=True),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('job_id'),
    )
    op.create_index('ix_jobs_region_code', 'jobs', ['region_code'], unique=False)
    op.create_index('ix_jobs_status', 'jobs', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_jobs_status', table_name='jobs')
    op.drop_index('ix_jobs_region_code', table_name='jobs')
    op.drop_table('jobs')
