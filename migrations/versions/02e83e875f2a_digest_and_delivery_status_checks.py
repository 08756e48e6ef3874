"""digest and delivery status checks

Revision ID: 02e83e875f2a
Revises: c3d9cacd4c76
Create Date: 2026-11-30 15:40:00.000000

A digest's and a delivery's status may only be one of the values of DigestStatus and
DeliveryStatus (blog/models.py), as a subscriber's already was. The values are written out
here, as they were when this revision was made.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '02e83e875f2a'
down_revision = 'c3d9cacd4c76'
branch_labels = None
depends_on = None

DIGEST = "status IN ('new', 'skipped', 'held', 'sending', 'sent', 'cancelled')"
DELIVERY = "status IN ('pending', 'claimed', 'sent', 'failed', 'skipped')"


def upgrade():
    # On SQLite each batch copies the table; migrations/env.py turns foreign keys off around
    # the run, so dropping the old digest table does not cascade to its deliveries.
    with op.batch_alter_table('digest', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_digest_status'), DIGEST)
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_delivery_status'), DELIVERY)


def downgrade():
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_delivery_status'), type_='check')
    with op.batch_alter_table('digest', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_digest_status'), type_='check')
