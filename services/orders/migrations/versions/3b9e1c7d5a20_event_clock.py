"""event clock: day_marks, decided_days, locations

Revision ID: 3b9e1c7d5a20
Revises: 1567778ec02b
Create Date: 2026-12-03 16:10:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '3b9e1c7d5a20'
down_revision = '1567778ec02b'
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
                    schema='orders')
    op.create_table('decided_days',
                    sa.Column('location', sa.String(200), primary_key=True),
                    sa.Column('day', sa.Date(), nullable=False),
                    sa.Column('timezone', sa.String(64), nullable=True),
                    schema='orders')
    op.create_table('locations',
                    sa.Column('location', sa.String(200), primary_key=True),
                    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
                    schema='orders')


def downgrade() -> None:
    for table in ('locations', 'decided_days', 'day_marks'):
        op.drop_table(table, schema='orders')
