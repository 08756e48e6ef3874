"""webhook nonces

Revision ID: d5e7f9a1b3c6
Revises: b8c2d4e6f1a3
Create Date: 2026-12-02 11:00:00.000000

The one-time tokens providers sign their webhooks with (Mailgun's), so that a replayed request
is refused.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd5e7f9a1b3c6'
down_revision = 'b8c2d4e6f1a3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'webhook_nonce',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('provider', sa.String(length=20), nullable=False),
        sa.Column('nonce', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_nonce')),
        sa.UniqueConstraint('provider', 'nonce', name=op.f('uq_webhook_nonce_provider')),
    )
    with op.batch_alter_table('webhook_nonce', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_nonce_created_at'), ['created_at'], unique=False)


def downgrade():
    op.drop_table('webhook_nonce')
