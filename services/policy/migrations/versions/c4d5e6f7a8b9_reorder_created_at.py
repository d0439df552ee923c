"""reorders.created_at: when policy emitted the reorder (wall clock), for its time to live without a PO

Revision ID: c4d5e6f7a8b9
Revises: b7c1d2e3f4a5
Create Date: 2026-11-22 07:55:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'c4d5e6f7a8b9'
down_revision = 'b7c1d2e3f4a5'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('reorders', sa.Column('created_at', sa.DateTime(timezone=True), nullable=False,
                                        server_default=sa.func.now()), schema='policy')


def downgrade() -> None:
    op.drop_column('reorders', 'created_at', schema='policy')
