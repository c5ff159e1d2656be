"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 13:00:20.586543
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('active_alerts',
    sa.Column('alert_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('region_code', sa.String(length=40), nullable=False),
    sa.Column('subject_type', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('act_by', sa.Date(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('alert_id')
    )
    with op.batch_alter_table('active_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_active_alerts_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_active_alerts_region_code'), ['region_code'], unique=False)

    op.create_table('allocations',
    sa.Column('referral_id', sa.String(length=64), nullable=False),
    sa.Column('cohort_id', sa.String(length=64), nullable=False),
    sa.Column('plan_version', sa.Integer(), nullable=False),
    sa.Column('allocated_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('pinned', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('referral_id')
    )
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocations_cohort_id'), ['cohort_id'], unique=False)

    op.create_table('attendance',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('referral_id', sa.String(length=64), nullable=False),
    sa.Column('cohort_id', sa.String(length=64), nullable=False),
    sa.Column('session_number', sa.Integer(), nullable=False),
    sa.Column('session_date', sa.Date(), nullable=False),
    sa.Column('outcome', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('referral_id', 'cohort_id', 'session_number', name='uq_attendance')
    )
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendance_referral_id'), ['referral_id'], unique=False)

    op.create_table('cohorts',
    sa.Column('cohort_id', sa.String(length=64), nullable=False),
    sa.Column('region_code', sa.String(length=40), nullable=False),
    sa.Column('programme_code', sa.String(length=40), nullable=False),
    sa.Column('office_code', sa.String(length=40), nullable=False),
    sa.Column('pdu_code', sa.String(length=40), nullable=False),
    sa.Column('slots', sa.JSON(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('group_weeks', sa.Integer(), nullable=False),
    sa.Column('pathway', sa.String(length=40), nullable=False),
    sa.Column('sex', sa.String(length=8), nullable=False),
    sa.Column('offence_cohort', sa.String(length=40), nullable=False),
    sa.Column('ldc', sa.Boolean(), nullable=False),
    sa.Column('min_size', sa.Integer(), nullable=False),
    sa.Column('max_size', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('facilitator_ids', sa.JSON(), nullable=False),
    sa.Column('origin', sa.String(length=40), nullable=False),
    sa.Column('group_start', sa.Date(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('cohort_id')
    )
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cohorts_region_code'), ['region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_cohorts_status'), ['status'], unique=False)

    op.create_table('dead_letters',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('origin', sa.String(length=200), nullable=False),
    sa.Column('line_number', sa.Integer(), nullable=True),
    sa.Column('partition', sa.Integer(), nullable=True),
    sa.Column('offset', sa.BigInteger(), nullable=True),
    sa.Column('event_id', sa.String(length=36), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('engine_state',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('facilitators',
    sa.Column('facilitator_id', sa.String(length=64), nullable=False),
    sa.Column('region_code', sa.String(length=40), nullable=False),
    sa.Column('home_pdu', sa.String(length=40), nullable=False),
    sa.Column('programmes', sa.JSON(), nullable=False),
    sa.Column('offices', sa.JSON(), nullable=False),
    sa.Column('weekly_hours', sa.Float(), nullable=False),
    sa.Column('availability', sa.JSON(), nullable=False),
    sa.Column('absences', sa.JSON(), nullable=False),
    sa.Column('left_on', sa.Date(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('facilitator_id')
    )
    with op.batch_alter_table('facilitators', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_facilitators_region_code'), ['region_code'], unique=False)

    op.create_table('offices',
    sa.Column('office_code', sa.String(length=40), nullable=False),
    sa.Column('region_code', sa.String(length=40), nullable=False),
    sa.Column('pdu_code', sa.String(length=40), nullable=False),
    sa.Column('rooms', sa.Integer(), nullable=False),
    sa.Column('rural', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('office_code')
    )
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offices_region_code'), ['region_code'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('message_id', sa.String(length=36), nullable=False),
    sa.Column('topic', sa.String(length=100), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('event_type', sa.String(length=60), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_sent_at'), ['sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_topic'), ['topic'], unique=False)

    op.create_table('parked_events',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('waiting_for', sa.String(length=100), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    with op.batch_alter_table('parked_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parked_events_waiting_for'), ['waiting_for'], unique=False)

    op.create_table('people',
    sa.Column('crn', sa.String(length=16), nullable=False),
    sa.Column('region_code', sa.String(length=40), nullable=False),
    sa.Column('pdu_code', sa.String(length=40), nullable=False),
    sa.Column('sex', sa.String(length=8), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('ethnicity_group', sa.String(length=40), nullable=False),
    sa.Column('ldc', sa.Boolean(), nullable=False),
    sa.Column('availability', sa.JSON(), nullable=False),
    sa.Column('preferred_offices', sa.JSON(), nullable=False),
    sa.Column('cannot_attend_offices', sa.JSON(), nullable=False),
    sa.Column('interpreter_needed', sa.Boolean(), nullable=False),
    sa.Column('non_associations', sa.JSON(), nullable=False),
    sa.Column('merged_into', sa.String(length=16), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('crn')
    )
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_people_region_code'), ['region_code'], unique=False)

    op.create_table('plans',
    sa.Column('plan_version', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=40), nullable=False),
    sa.Column('allocator', sa.String(length=40), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('assigned', sa.Integer(), nullable=False),
    sa.Column('unallocated', sa.Integer(), nullable=False),
    sa.Column('cohorts_opened', sa.Integer(), nullable=False),
    sa.Column('objective', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('plan_version')
    )
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plans_region_code'), ['region_code'], unique=False)

    op.create_table('processed_events',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    op.create_table('referral_history',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('referral_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('from_status', sa.String(length=40), nullable=True),
    sa.Column('to_status', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('referral_id', 'seq', name='uq_history_seq')
    )
    with op.batch_alter_table('referral_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_history_referral_id'), ['referral_id'], unique=False)

    op.create_table('referrals',
    sa.Column('referral_id', sa.String(length=64), nullable=False),
    sa.Column('crn', sa.String(length=16), nullable=False),
    sa.Column('requirement_id', sa.String(length=64), nullable=False),
    sa.Column('programme_code', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('referred_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('pathway', sa.String(length=40), nullable=False),
    sa.Column('offence_cohort', sa.String(length=40), nullable=False),
    sa.Column('ldc', sa.Boolean(), nullable=False),
    sa.Column('risk_band', sa.String(length=8), nullable=False),
    sa.Column('need_band', sa.String(length=8), nullable=False),
    sa.Column('ready_from', sa.Date(), nullable=True),
    sa.Column('cohort_id', sa.String(length=64), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('referral_id'),
    sa.UniqueConstraint('crn', 'requirement_id', 'source', name='uq_referral_intake')
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_cohort_id'), ['cohort_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_crn'), ['crn'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_requirement_id'), ['requirement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_status'), ['status'], unique=False)

    op.create_table('requirements',
    sa.Column('requirement_id', sa.String(length=64), nullable=False),
    sa.Column('crn', sa.String(length=16), nullable=False),
    sa.Column('sentence_id', sa.String(length=64), nullable=False),
    sa.Column('programme_code', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('requirement_id')
    )
    with op.batch_alter_table('requirements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_requirements_crn'), ['crn'], unique=False)
        batch_op.create_index(batch_op.f('ix_requirements_sentence_id'), ['sentence_id'], unique=False)

    op.create_table('sentences',
    sa.Column('sentence_id', sa.String(length=64), nullable=False),
    sa.Column('crn', sa.String(length=16), nullable=False),
    sa.Column('sentence_type', sa.String(length=40), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('expected_end_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('sentence_id')
    )
    with op.batch_alter_table('sentences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sentences_crn'), ['crn'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('sentences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sentences_crn'))

    op.drop_table('sentences')
    with op.batch_alter_table('requirements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_requirements_sentence_id'))
        batch_op.drop_index(batch_op.f('ix_requirements_crn'))

    op.drop_table('requirements')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referrals_status'))
        batch_op.drop_index(batch_op.f('ix_referrals_requirement_id'))
        batch_op.drop_index(batch_op.f('ix_referrals_crn'))
        batch_op.drop_index(batch_op.f('ix_referrals_cohort_id'))

    op.drop_table('referrals')
    with op.batch_alter_table('referral_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_history_referral_id'))

    op.drop_table('referral_history')
    op.drop_table('processed_events')
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plans_region_code'))

    op.drop_table('plans')
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_people_region_code'))

    op.drop_table('people')
    with op.batch_alter_table('parked_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parked_events_waiting_for'))

    op.drop_table('parked_events')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_topic'))
        batch_op.drop_index(batch_op.f('ix_outbox_sent_at'))

    op.drop_table('outbox')
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offices_region_code'))

    op.drop_table('offices')
    with op.batch_alter_table('facilitators', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_facilitators_region_code'))

    op.drop_table('facilitators')
    op.drop_table('engine_state')
    op.drop_table('dead_letters')
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cohorts_status'))
        batch_op.drop_index(batch_op.f('ix_cohorts_region_code'))

    op.drop_table('cohorts')
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendance_referral_id'))

    op.drop_table('attendance')
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocations_cohort_id'))

    op.drop_table('allocations')
    with op.batch_alter_table('active_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_active_alerts_region_code'))
        batch_op.drop_index(batch_op.f('ix_active_alerts_kind'))

    op.drop_table('active_alerts')

