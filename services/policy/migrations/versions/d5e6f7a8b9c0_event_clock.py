"""event clock: day_marks, decided_days, location_days, counts, stock snapshots, forecast_history

Revision ID: d5e6f7a8b9c0
Revises: c4d5e6f7a8b9
Create Date: 2026-12-03 15:30:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = 'd5e6f7a8b9c0'
down_revision = 'c4d5e6f7a8b9'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('day_marks',
                    sa.Column('stream', sa.String(50), primary_key=True),
                    sa.Column('location', sa.String(200), primary_key=True),
                    sa.Column('day', sa.Date(), primary_key=True),
                    sa.Column('topic', sa.String(200), primary_key=True),
                    sa.Column('partition', sa.Integer(), primary_key=True),
                    sa.Column('partitions', sa.Integer(), nullable=False),
                    schema='policy')
    op.create_table('decided_days',
                    sa.Column('location', sa.String(200), primary_key=True),
                    sa.Column('day', sa.Date(), nullable=False),
                    sa.Column('timezone', sa.String(64), nullable=True),
                    schema='policy')
    op.create_table('location_days',
                    sa.Column('location', sa.String(200), primary_key=True),
                    sa.Column('first_day', sa.Date(), nullable=False),
                    sa.Column('seen_day', sa.Date(), nullable=False),
                    schema='policy')
    op.create_table('counts',
                    sa.Column('location', sa.String(200), primary_key=True),
                    sa.Column('sku', sa.String(200), primary_key=True),
                    sa.Column('count_at', sa.DateTime(timezone=True), primary_key=True),
                    sa.Column('on_hand', sa.Float(), nullable=False),
                    schema='policy')
    op.add_column('stock', sa.Column('snap_at', sa.DateTime(timezone=True), nullable=True), schema='policy')
    op.add_column('stock', sa.Column('snap_on_hand', sa.Float(), nullable=True), schema='policy')
    op.create_table('forecast_history',
                    sa.Column('location', sa.String(200), primary_key=True),
                    sa.Column('sku', sa.String(200), primary_key=True),
                    sa.Column('as_of', sa.Date(), primary_key=True),
                    sa.Column('payload', postgresql.JSONB(), nullable=False),
                    schema='policy')


def downgrade() -> None:
    op.drop_column('stock', 'snap_on_hand', schema='policy')
    op.drop_column('stock', 'snap_at', schema='policy')
    for table in ('forecast_history', 'counts', 'location_days', 'decided_days', 'day_marks'):
        op.drop_table(table, schema='policy')
