"""subscriber confirmation outbox

Revision ID: 5b1f0c9d7e21
Revises: 02e83e875f2a
Create Date: 2026-11-30 16:00:00.000000

A confirmation email that must still go out is recorded on its subscriber (due, and when it was
last handed to the worker), so a sweep can hand it over again when Redis lost it.
"""
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


def downgrade():
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriber_confirmation_due_at'))
        batch_op.drop_column('confirmation_queued_at')
        batch_op.drop_column('confirmation_due_at')
