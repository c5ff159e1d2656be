"""event digests and parked positions: processed events keep the content digest, text and server time of
the copy processed (conflicting duplicates are found and explained); parked events keep their type, digest,
source position (origin, line, partition, offset), the event time they were parked at (expiry) and the
server time they were received

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('processed_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('raw', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('seen_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('parked_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_type', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('origin', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('line_number', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('partition', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('offset', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('parked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('seen_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_parked_events_parked_at'), ['parked_at'], unique=False)
    # Events parked before this revision: their wait is counted from when they happened.
    op.execute("UPDATE parked_events SET parked_at = occurred_at WHERE parked_at IS NULL")


def downgrade() -> None:
    with op.batch_alter_table('parked_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parked_events_parked_at'))
        batch_op.drop_column('seen_at')
        batch_op.drop_column('parked_at')
        batch_op.drop_column('offset')
        batch_op.drop_column('partition')
        batch_op.drop_column('line_number')
        batch_op.drop_column('origin')
        batch_op.drop_column('digest')
        batch_op.drop_column('event_type')

    with op.batch_alter_table('processed_events', schema=None) as batch_op:
        batch_op.drop_column('seen_at')
        batch_op.drop_column('raw')
        batch_op.drop_column('digest')
