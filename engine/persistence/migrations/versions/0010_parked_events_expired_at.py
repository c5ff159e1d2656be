"""parked_events.expired_at: an event that waited past the park timeout is a dead letter, and is kept (dormant)
beside it until what it waited for arrives; then it is re-admitted and its dead letter settled (a producer later
than the park timeout converges instead of losing the event: issue 16, docs/events.md "Parked events");
dead_letters.event_id indexed, as the re-admission removes the expiry's letter by its event id

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 04:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('parked_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expired_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dead_letters_event_id'), ['event_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dead_letters_event_id'))
    op.execute("DELETE FROM parked_events WHERE expired_at IS NOT NULL")  # before 0010 an expired event was gone
    with op.batch_alter_table('parked_events', schema=None) as batch_op:
        batch_op.drop_column('expired_at')
