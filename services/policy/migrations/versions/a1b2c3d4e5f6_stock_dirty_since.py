"""stock.dirty_since: when a key first became dirty (decider priority and its longest wait)

Revision ID: a1b2c3d4e5f6
Revises: e7ff7ae7ff58
Create Date: 2026-11-22 02:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'a1b2c3d4e5f6'
down_revision = 'e7ff7ae7ff58'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('stock', sa.Column('dirty_since', sa.DateTime(timezone=True), nullable=True), schema='policy')


def downgrade() -> None:
    op.drop_column('stock', 'dirty_since', schema='policy')
