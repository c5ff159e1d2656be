"""people.merged_into indexed: every ingest batch's prefetch looks up the cases merged into the people it
touches (engine/persistence/uow.py), which without an index is a scan of the whole people table per batch

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 21:40:00
"""
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_people_merged_into', 'people', ['merged_into'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_people_merged_into', table_name='people')
