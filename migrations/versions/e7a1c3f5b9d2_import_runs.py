"""import runs

Revision ID: e7a1c3f5b9d2
Revises: c0de5ea7c4a1
Create Date: 2026-11-30 21:00:00.000000

A site or folder uploaded in the console and imported by the worker: its progress and report.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e7a1c3f5b9d2'
down_revision = 'c0de5ea7c4a1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'import_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('dry_run', sa.Boolean(), nullable=False),
        sa.Column('folder', sa.String(length=500), nullable=False),
        sa.Column('progress', sa.JSON(), nullable=False),
        sa.Column('report', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('waiting', 'running', 'done', 'failed')", name=op.f('ck_import_run_status')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_run')),
    )


def downgrade():
    op.drop_table('import_run')
