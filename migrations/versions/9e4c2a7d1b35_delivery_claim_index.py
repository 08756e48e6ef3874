"""delivery claim index on (digest_id, status, id)

Revision ID: 9e4c2a7d1b35
Revises: 9d4e1a7c2b60
Create Date: 2026-12-01 10:00:00.000000

A claim reads a digest's pending (or stale claimed) rows in id order and stops at the batch
size. With (digest_id, status) alone PostgreSQL reads every such row and sorts them, so each
claim of a 100,000-row digest cost what the whole digest does; with id as the index's third
column the walk is already in order and stops early. SQLite's indexes end in the rowid, so
there the new index only replaces the old one.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '9e4c2a7d1b35'
down_revision = '9d4e1a7c2b60'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_digest_status_id', ['digest_id', 'status', 'id'], unique=False)
        batch_op.drop_index('ix_delivery_digest_status')


def downgrade():
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_digest_status', ['digest_id', 'status'], unique=False)
        batch_op.drop_index('ix_delivery_digest_status_id')
