"""push schedule: deliveries.first_attempt_at (a schedule round's start, for its max age)

Revision ID: 8d4f2a6c1e97
Revises: 3b9e1c7d5a20
Create Date: 2026-12-10 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '8d4f2a6c1e97'
down_revision = '3b9e1c7d5a20'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('deliveries', sa.Column('first_attempt_at', sa.DateTime(timezone=True), nullable=True),
                  schema='orders')
    # pushes already being retried keep their age: their round began when they were queued
    op.execute("UPDATE orders.deliveries SET first_attempt_at = created_at "
               "WHERE attempts > 0 AND channel = 'webhook'")


def downgrade() -> None:
    op.drop_column('deliveries', 'first_attempt_at', schema='orders')
