"""series claim lease, event-time stock tracking

Revision ID: b7c1d2e3f4a5
Revises: 6a6be4ed450d
Create Date: 2026-11-22 02:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'b7c1d2e3f4a5'
down_revision = '6a6be4ed450d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('series', sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
                  schema='forecast')
    op.add_column('series', sa.Column('on_hand_at', sa.DateTime(timezone=True), nullable=True), schema='forecast')
    op.add_column('series', sa.Column('out_since', sa.Date(), nullable=True), schema='forecast')


def downgrade() -> None:
    for column in ('out_since', 'on_hand_at', 'claimed_until'):
        op.drop_column('series', column, schema='forecast')
