"""stock.batch_id / batch_left / batch_stock / claimed_at: how much of a key's latest ingest batch is applied,
and when the decider last took the key

Revision ID: b7c1d2e3f4a5
Revises: a1b2c3d4e5f6
Create Date: 2026-11-22 06:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'b7c1d2e3f4a5'
down_revision = 'a1b2c3d4e5f6'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('stock', sa.Column('batch_id', sa.String(64), nullable=True), schema='policy')
    op.add_column('stock', sa.Column('batch_left', sa.Integer(), nullable=False, server_default='0'),
                  schema='policy')
    op.add_column('stock', sa.Column('batch_stock', sa.Boolean(), nullable=False, server_default=sa.false()),
                  schema='policy')
    op.add_column('stock', sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True), schema='policy')


def downgrade() -> None:
    for column in ('claimed_at', 'batch_stock', 'batch_left', 'batch_id'):
        op.drop_column('stock', column, schema='policy')
