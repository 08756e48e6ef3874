"""delivery.message_id without an index

Revision ID: a3c5e7f9b1d4
Revises: e7a9c1b3d5f7
Create Date: 2026-12-01 09:00:00.000000

Every claim and every mark of a row writes a new version of it, and on PostgreSQL each new
version is an entry in every index of the table: the Message-ID's index was one of four, for
a lookup that a returned message makes once in a while. A bounce now finds its row by the row
id the Message-ID carries (mail.message.copy_delivery_id) and checks the stored Message-ID.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a3c5e7f9b1d4'
down_revision = 'e7a9c1b3d5f7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_message_id')


def downgrade():
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_message_id', ['message_id'], unique=False)
