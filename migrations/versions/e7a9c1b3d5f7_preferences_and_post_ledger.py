"""subscriber preferences and the post ledger

Revision ID: e7a9c1b3d5f7
Revises: e7a1c3f5b9d2
Create Date: 2026-11-30 20:45:00.000000

Each subscriber's frequency, topics and delivery time, with the history of their changes; the tags
the author offers as topics; the audience a digest was composed for; and the post ledger, which
digest carried which post to whom (UNIQUE subscriber and post: at most once).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e7a9c1b3d5f7'
down_revision = 'e7a1c3f5b9d2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('preference_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=500), nullable=True),
    sa.Column('frequency', sa.String(length=8), nullable=False),
    sa.Column('topics', sa.JSON(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('delivery_hour', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscriber.id'], name=op.f('fk_preference_event_subscriber_id_subscriber'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_preference_event'))
    )
    with op.batch_alter_table('preference_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_preference_event_subscriber_id'), ['subscriber_id'], unique=False)

    op.create_table('carried_post',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('digest_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['digest_id'], ['digest.id'], name=op.f('fk_carried_post_digest_id_digest'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['post_id'], ['post.id'], name=op.f('fk_carried_post_post_id_post'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscriber.id'], name=op.f('fk_carried_post_subscriber_id_subscriber'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carried_post')),
    sa.UniqueConstraint('subscriber_id', 'post_id', name=op.f('uq_carried_post_subscriber_id'))
    )
    with op.batch_alter_table('carried_post', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_carried_post_digest_id'), ['digest_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_carried_post_post_id'), ['post_id'], unique=False)

    with op.batch_alter_table('digest', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audience', sa.String(length=500), nullable=True))
        batch_op.create_index(batch_op.f('ix_digest_audience'), ['audience'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_digest_audience'), ['audience', 'scheduled_for'])

    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.add_column(sa.Column('frequency', sa.String(length=8), nullable=False, server_default='weekly'))
        batch_op.add_column(sa.Column('topics', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('delivery_hour', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('preferences_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('next_send_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('covered_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_subscriber_next_send_at'), ['next_send_at'], unique=False)
        batch_op.create_check_constraint(op.f('ck_subscriber_frequency'), "frequency IN ('post', 'weekly', 'monthly')")
        batch_op.create_check_constraint(
            op.f('ck_subscriber_delivery_hour'), 'delivery_hour IS NULL OR delivery_hour BETWEEN 0 AND 23'
        )

    # Not a batch: on SQLite that would copy the table and lose the search index's triggers on it.
    op.add_column('tag', sa.Column('topic', sa.Boolean(), nullable=False, server_default=sa.false()))



def downgrade():
    op.drop_column('tag', 'topic')

    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_subscriber_delivery_hour'), type_='check')
        batch_op.drop_constraint(op.f('ck_subscriber_frequency'), type_='check')
        batch_op.drop_index(batch_op.f('ix_subscriber_next_send_at'))
        batch_op.drop_column('covered_until')
        batch_op.drop_column('next_send_at')
        batch_op.drop_column('preferences_at')
        batch_op.drop_column('delivery_hour')
        batch_op.drop_column('timezone')
        batch_op.drop_column('topics')
        batch_op.drop_column('frequency')

    with op.batch_alter_table('digest', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_digest_audience'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_digest_audience'))
        batch_op.drop_column('audience')

    with op.batch_alter_table('carried_post', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_carried_post_post_id'))
        batch_op.drop_index(batch_op.f('ix_carried_post_digest_id'))

    op.drop_table('carried_post')
    with op.batch_alter_table('preference_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_preference_event_subscriber_id'))

    op.drop_table('preference_event')
