"""limited-access cases and the audit of reads (reserved; filled by the access work)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 11:30:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
