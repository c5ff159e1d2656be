"""engine_state.name indexed for LIKE 'prefix%' on PostgreSQL whatever the database's collation (text_pattern_ops):
the primary key's index answers a prefix only under the C collation; under a language's (en_GB.UTF-8, ICU en-GB:
a production default) every prefix read of the intake and the API's state version scanned the whole index
(issue 16). SQLite reads its prefixes as a byte range on the primary key (engine/persistence/tables.py) and gets
no index.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 17:00:00
"""
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index('ix_engine_state_name_pattern', 'engine_state', ['name'], unique=False,
                        postgresql_ops={'name': 'text_pattern_ops'})


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_engine_state_name_pattern', table_name='engine_state')
