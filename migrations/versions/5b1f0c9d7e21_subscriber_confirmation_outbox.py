"""subscriber confirmation outbox

Revision ID: 5b1f0c9d7e21
Revises: 02e83e875f2a
Create Date: 2026-11-30 16:00:00.000000

A confirmation email that must still go out is recorded on its subscriber (due, and when it was
last handed to the worker), so a sweep can hand it over again when Redis lost it.
"""
from datetime import UTC, datetime, timedelta

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b1f0c9d7e21'
down_revision = '02e83e875f2a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirmation_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('confirmation_queued_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_subscriber_confirmation_due_at'), ['confirmation_due_at'], unique=False)
    # Confirmations asked for in the last day may still sit in the queue, or be waiting to be
    # retried: they stay due (and count as handed over), so those tasks still send them, and
    # the sweep hands over any that Redis lost.
    since = datetime.now(UTC) - timedelta(days=1)
    if op.get_bind().dialect.name == "sqlite":
        since = since.replace(tzinfo=None)  # stored naive in UTC there
    op.execute(
        sa.text(
            "UPDATE subscriber SET confirmation_due_at = confirmation_sent_at, "
            "confirmation_queued_at = confirmation_sent_at "
            "WHERE status = 'pending' AND confirmation_sent_at >= :since"
        ).bindparams(since=since)
    )


def downgrade():
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriber_confirmation_due_at'))
        batch_op.drop_column('confirmation_queued_at')
        batch_op.drop_column('confirmation_due_at')
