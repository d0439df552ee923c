"""event clock: day markers, decided days, location clock, staged stock moves, promotion announcement time

Revision ID: d4e5f6a7b8c9
Revises: c3d4e5f6a7b8
Create Date: 2026-12-03 15:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'd4e5f6a7b8c9'
down_revision = 'c3d4e5f6a7b8'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('day_marks',
    sa.Column('stream', sa.String(length=50), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('partition', sa.Integer(), nullable=False),
    sa.Column('partitions', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('stream', 'location', 'day', 'topic', 'partition'),
    schema='forecast'
    )
    op.create_table('decided_days',
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('location'),
    schema='forecast'
    )
    op.create_table('location_clock',
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=True),
    sa.Column('last_day', sa.Date(), nullable=True),
    sa.Column('punctuated', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('location'),
    schema='forecast'
    )
    op.create_table('stock_moves',
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('sku', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ref', sa.String(length=500), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('quantity', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('location', 'day', 'sku', 'at', 'ref', name='stock_moves_pkey'),
    schema='forecast'
    )
    op.add_column('promotions', sa.Column('announced_at', sa.DateTime(timezone=True), nullable=True),
                  schema='forecast')


def downgrade() -> None:
    op.drop_column('promotions', 'announced_at', schema='forecast')
    for table in ('stock_moves', 'location_clock', 'decided_days', 'day_marks'):
        op.drop_table(table, schema='forecast')
