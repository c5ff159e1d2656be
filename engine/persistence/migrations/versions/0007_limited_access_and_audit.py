"""limited-access cases (person_access: restrictions and exclusions per crn) and the append-only audit of
reads (audit_reads; triggers refuse UPDATE and DELETE, and on PostgreSQL TRUNCATE)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 11:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

GUARD = """
CREATE OR REPLACE FUNCTION cohortplan_audit_reads_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_reads is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        'person_access',
        sa.Column('crn', sa.String(length=16), nullable=False),
        sa.Column('restricted', sa.Boolean(), nullable=False),
        sa.Column('restrictions', sa.JSON(), nullable=False),
        sa.Column('exclusions', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint('crn'),
    )
    op.create_table(
        'audit_reads',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=255), nullable=False),
        sa.Column('route', sa.String(length=200), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('crns', sa.JSON(), nullable=False),
        sa.Column('referral_ids', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_audit_reads_at', 'audit_reads', ['at'], unique=False)
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute(GUARD)
        op.execute("CREATE TRIGGER audit_reads_no_change BEFORE UPDATE OR DELETE ON audit_reads "
                   "FOR EACH ROW EXECUTE FUNCTION cohortplan_audit_reads_append_only()")
        op.execute("CREATE TRIGGER audit_reads_no_truncate BEFORE TRUNCATE ON audit_reads "
                   "FOR EACH STATEMENT EXECUTE FUNCTION cohortplan_audit_reads_append_only()")
    elif dialect == 'sqlite':
        for action in ('UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER audit_reads_no_{action.lower()} BEFORE {action} ON audit_reads "
                       f"BEGIN SELECT RAISE(ABORT, 'audit_reads is append-only: {action} refused'); END")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        op.execute("DROP TRIGGER IF EXISTS audit_reads_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_reads_no_delete")
    if dialect == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_reads_no_truncate ON audit_reads")
        op.execute("DROP TRIGGER IF EXISTS audit_reads_no_change ON audit_reads")
        op.execute("DROP FUNCTION IF EXISTS cohortplan_audit_reads_append_only()")
    op.drop_index('ix_audit_reads_at', table_name='audit_reads')
    op.drop_table('audit_reads')
    op.drop_table('person_access')
