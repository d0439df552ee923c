"""position_days: the levels of each key's latest decision per local day (ROP and S over time)

Revision ID: a7b8c9d0e1f2
Revises: f6a7b8c9d0e1
"""
import sqlalchemy as sa
from alembic import op

revision = 'a7b8c9d0e1f2'
down_revision = 'f6a7b8c9d0e1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'position_days',
        sa.Column('location', sa.String(length=200), primary_key=True),
        sa.Column('sku', sa.String(length=200), primary_key=True),
        sa.Column('day', sa.Date(), primary_key=True),
        sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('on_hand', sa.Float(), nullable=False),
        sa.Column('reorder_point', sa.Float(), nullable=False),
        sa.Column('order_up_to', sa.Float(), nullable=False),
        sa.Column('safety_stock', sa.Float(), nullable=False),
        schema='policy')


def downgrade() -> None:
    op.drop_table('position_days', schema='policy')
