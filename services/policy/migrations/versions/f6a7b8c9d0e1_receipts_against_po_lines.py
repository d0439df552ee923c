"""receipts against PO lines: the ledger keeps a receipt's po_id, po_lines what orders saw received

A receipt reaches policy from the warehouse (stock topic) before, or after, orders' snapshot of the PO it
fills. With both recorded, a received quantity counts once: on hand, and no longer on order, whichever came
first.

Revision ID: f6a7b8c9d0e1
Revises: d5e6f7a8b9c0
"""
import sqlalchemy as sa
from alembic import op

revision = 'f6a7b8c9d0e1'
down_revision = 'd5e6f7a8b9c0'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('ledger', sa.Column('po_id', sa.String(length=200), nullable=True), schema='policy')
    op.create_index('ix_ledger_po', 'ledger', ['po_id'], schema='policy',
                    postgresql_where=sa.text('po_id IS NOT NULL'))
    op.add_column('po_lines', sa.Column('received_quantity', sa.Float(), nullable=False, server_default='0'),
                  schema='policy')


def downgrade() -> None:
    op.drop_column('po_lines', 'received_quantity', schema='policy')
    op.drop_index('ix_ledger_po', table_name='ledger', schema='policy')
    op.drop_column('ledger', 'po_id', schema='policy')
