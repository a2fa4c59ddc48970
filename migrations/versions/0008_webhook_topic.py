"""Webhook inbox: the topic taken from the URL and the query string are stored with each delivery.

Revision ID: 0008_webhook_topic
Revises: 0007_redact_secrets
Create Date: 2026-11-27 19:20:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008_webhook_topic'
down_revision = '0007_redact_secrets'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('webhook_deliveries') as batch:
        batch.add_column(sa.Column('topic', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('query', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('webhook_deliveries') as batch:
        batch.drop_column('query')
        batch.drop_column('topic')
