"""daily demand covering key (index-only history reads)

Revision ID: c3d4e5f6a7b8
Revises: b7c1d2e3f4a5
Create Date: 2026-11-22 02:12:00
"""
from alembic import op

revision = 'c3d4e5f6a7b8'
down_revision = 'b7c1d2e3f4a5'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE forecast.daily_demand DROP CONSTRAINT daily_demand_pkey, "
               "ADD CONSTRAINT daily_demand_pkey PRIMARY KEY (location, sku, day) INCLUDE (quantity, stockout)")


def downgrade() -> None:
    op.execute("ALTER TABLE forecast.daily_demand DROP CONSTRAINT daily_demand_pkey, "
               "ADD CONSTRAINT daily_demand_pkey PRIMARY KEY (location, sku, day)")
