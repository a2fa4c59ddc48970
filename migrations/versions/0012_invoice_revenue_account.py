"""Each sales invoice keeps its own revenue account (a store's), which its returns debit.

Revision ID: 0012_invoice_revenue_account
Revises: 0011_order_states
Create Date: 2026-11-27 23:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_invoice_revenue_account'
down_revision = '0011_order_states'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sales_invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revenue_account_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_sales_invoices_revenue_account_id_accounts'), 'accounts',
                                    ['revenue_account_id'], ['id'])


def downgrade():
    with op.batch_alter_table('sales_invoices', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_sales_invoices_revenue_account_id_accounts'), type_='foreignkey')
        batch_op.drop_column('revenue_account_id')
