"""digest message key

Revision ID: 3e7a1f0b9c42
Revises: 9e4c2a7d1b35
Create Date: 2026-12-02 09:00:00.000000

Each digest gets a random key that is part of every copy's Message-ID, so two sites (or two
databases) sharing a sender domain never send the same Message-ID. Existing digests get one too.
"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3e7a1f0b9c42'
down_revision = '9e4c2a7d1b35'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('digest', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_key', sa.String(length=16), nullable=True))
    connection = op.get_bind()
    digest = sa.table('digest', sa.column('id', sa.Integer), sa.column('message_key', sa.String))
    for (digest_id,) in connection.execute(sa.select(digest.c.id)).all():
        connection.execute(
            digest.update().where(digest.c.id == digest_id).values(message_key=secrets.token_hex(6))
        )
    with op.batch_alter_table('digest', schema=None) as batch_op:
        batch_op.alter_column('message_key', existing_type=sa.String(length=16), nullable=False)


def downgrade():
    with op.batch_alter_table('digest', schema=None) as batch_op:
        batch_op.drop_column('message_key')
