"""The inbox is dispatched to the workers in batches; a store's last webhook is read from its deliveries.

Revision ID: 0014_inbox_dispatch
Revises: 0013_ledger_indexes
Create Date: 2026-11-28 04:00:00.000000

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0014_inbox_dispatch'
down_revision = '0013_ledger_indexes'
branch_labels = None
depends_on = None

UNDISPATCHED = "status = 'received' AND queued_at IS NULL"


def upgrade():
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_index(batch_op.f('ix_webhook_deliveries_store_id'))
        batch_op.create_index('ix_webhook_deliveries_store_id_received_at', ['store_id', 'received_at'], unique=False)
    # Deliveries received before: queued by the old acknowledgement (the recovery covers the rest).
    op.execute("UPDATE webhook_deliveries SET queued_at = received_at WHERE status = 'received'")
    op.create_index('ix_webhook_deliveries_undispatched', 'webhook_deliveries', ['id'], unique=False,
                    sqlite_where=sa.text(UNDISPATCHED), postgresql_where=sa.text(UNDISPATCHED))
    # Plain ALTER TABLE (SQLite >= 3.35): a batch copy of store_connections would break the keys pointing at it.
    op.execute("ALTER TABLE store_connections DROP COLUMN last_webhook_at")


def downgrade():
    op.add_column('store_connections', sa.Column('last_webhook_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE store_connections SET last_webhook_at = "
        "(SELECT max(received_at) FROM webhook_deliveries WHERE webhook_deliveries.store_id = store_connections.id)"
    )
    op.drop_index('ix_webhook_deliveries_undispatched', table_name='webhook_deliveries')
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_store_id_received_at')
        batch_op.create_index(batch_op.f('ix_webhook_deliveries_store_id'), ['store_id'], unique=False)
        batch_op.drop_column('queued_at')
