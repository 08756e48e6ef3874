"""digest drafts, notes, the welcome email and settings

Revision ID: 9d4e1a7c2b60
Revises: 5b1f0c9d7e21
Create Date: 2026-11-30 17:40:00.000000

A digest may be a draft (what Send now would send, waiting for the author's confirmation) and
carries the author's note. A subscriber's welcome email is recorded as due like the
confirmation email. Settings the author changes in the console are stored by key.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9d4e1a7c2b60'
down_revision = '5b1f0c9d7e21'
branch_labels = None
depends_on = None

OLD = "status IN ('new', 'skipped', 'held', 'sending', 'sent', 'cancelled')"
NEW = "status IN ('draft', 'new', 'skipped', 'held', 'sending', 'sent', 'cancelled')"


def upgrade():
    with op.batch_alter_table('digest', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=False, server_default=''))
        batch_op.drop_constraint(op.f('ck_digest_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_digest_status'), NEW)
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.add_column(sa.Column('welcome_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('welcome_queued_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_subscriber_welcome_due_at'), ['welcome_due_at'], unique=False)
    op.create_table(
        'setting',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_setting')),
    )


def downgrade():
    op.drop_table('setting')
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriber_welcome_due_at'))
        batch_op.drop_column('welcome_queued_at')
        batch_op.drop_column('welcome_due_at')
    op.execute("DELETE FROM digest WHERE status = 'draft'")
    with op.batch_alter_table('digest', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_digest_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_digest_status'), OLD)
        batch_op.drop_column('note')
