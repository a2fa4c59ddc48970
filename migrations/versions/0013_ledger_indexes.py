"""Indexes for reports that page and sum in SQL: ledgers, trial balance, stock card.

Revision ID: 0013_ledger_indexes
Revises: 0012_invoice_revenue_account
Create Date: 2026-11-28 04:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013_ledger_indexes'
down_revision = '0012_invoice_revenue_account'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_journal_entries_date_id', 'journal_entries', ['date', 'id'], unique=False)
    op.create_index('ix_journal_lines_account_ledger', 'journal_lines',
                    ['account_id', 'entry_id', 'id', 'debit', 'credit'], unique=False)
    op.drop_index('ix_journal_lines_account_id', table_name='journal_lines')
    op.create_index('ix_stock_movements_product_card', 'stock_movements',
                    ['product_id', 'id', 'warehouse_id', 'quantity'], unique=False)
    op.drop_index('ix_stock_movements_product_id', table_name='stock_movements')


def downgrade():
    op.create_index('ix_stock_movements_product_id', 'stock_movements', ['product_id'], unique=False)
    op.drop_index('ix_stock_movements_product_card', table_name='stock_movements')
    op.create_index('ix_journal_lines_account_id', 'journal_lines', ['account_id'], unique=False)
    op.drop_index('ix_journal_lines_account_ledger', table_name='journal_lines')
    op.drop_index('ix_journal_entries_date_id', table_name='journal_entries')
