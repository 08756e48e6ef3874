"""bounces, complaints and suppression

Revision ID: b8c2d4e6f1a3
Revises: 3e7a1f0b9c42
Create Date: 2026-12-02 10:00:00.000000

A subscriber records why no mail goes to them any more (suppressed_*); a delivery what came back
after it was sent (bounce); mail_event keeps each bounce, complaint and lifted suppression, once
per report or provider event (UNIQUE source and event id). Deliveries are found by Message-ID.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b8c2d4e6f1a3'
down_revision = '3e7a1f0b9c42'
branch_labels = None
depends_on = None

REASONS = "suppressed_reason IN ('hard-bounce', 'soft-bounces', 'complaint')"
BOUNCES = "bounce IN ('hard-bounce', 'soft-bounce', 'complaint')"
KINDS = "kind IN ('hard-bounce', 'soft-bounce', 'complaint', 'lifted')"


def upgrade():
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suppressed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('suppressed_reason', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('suppressed_detail', sa.Text(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_subscriber_suppressed_reason'), REASONS)
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bounce', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('bounced_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(op.f('ck_delivery_bounce'), BOUNCES)
        batch_op.create_index(batch_op.f('ix_delivery_message_id'), ['message_id'], unique=False)
    op.create_table(
        'mail_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('subscriber_id', sa.Integer(), nullable=True),
        sa.Column('delivery_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('event_id', sa.String(length=200), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=True),
        sa.Column('diagnostic', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(KINDS, name=op.f('ck_mail_event_kind')),
        sa.ForeignKeyConstraint(['delivery_id'], ['delivery.id'], name=op.f('fk_mail_event_delivery_id_delivery'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['subscriber_id'], ['subscriber.id'], name=op.f('fk_mail_event_subscriber_id_subscriber'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_event')),
        sa.UniqueConstraint('source', 'event_id', name=op.f('uq_mail_event_source')),
    )
    with op.batch_alter_table('mail_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_event_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_mail_event_delivery_id'), ['delivery_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mail_event_subscriber_id'), ['subscriber_id'], unique=False)


def downgrade():
    op.drop_table('mail_event')
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_message_id'))
        batch_op.drop_constraint(op.f('ck_delivery_bounce'), type_='check')
        batch_op.drop_column('bounced_at')
        batch_op.drop_column('bounce')
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_subscriber_suppressed_reason'), type_='check')
        batch_op.drop_column('suppressed_detail')
        batch_op.drop_column('suppressed_reason')
        batch_op.drop_column('suppressed_at')
