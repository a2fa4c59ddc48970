"""The core data model; importing this package registers every table."""
from core.models.accounts import ACCOUNT_TYPES, Account
from core.models.catalog import Category, Product
from core.models.company import CompanySettings
from core.models.inbound import InboundLine, InboundRequisition
from core.models.inbox import WebhookDelivery
from core.models.invoices import InvoiceLine, PaymentVoucher, SalesInvoice
from core.models.journal import ImmutableRowError, JournalEntry, JournalLine
from core.models.organisation import Branch, Warehouse
from core.models.outbox import OutboxDelivery, OutboxEvent
from core.models.parties import Client
from core.models.plugins import PluginRecord
from core.models.returns import ReturnInvoice, ReturnLine
from core.models.sequences import Sequence
from core.models.stock import StockLevel, StockMovement
from core.models.store_documents import StoreOrder, StoreRefund
from core.models.stores import ExternalLink, StoreConnection
from core.models.sync import PendingStockPush, ProductSyncRun, SyncLogEntry
from core.models.users import ROLES, ApiToken, User

__all__ = [
    "ACCOUNT_TYPES", "ROLES", "Account", "ApiToken", "Branch", "Category", "Client",
    "CompanySettings", "ImmutableRowError", "InboundLine", "InboundRequisition", "InvoiceLine",
    "JournalEntry", "JournalLine", "PaymentVoucher", "Product", "ReturnInvoice", "ReturnLine",
    "SalesInvoice", "Sequence", "StockLevel", "StockMovement", "User", "Warehouse",
    "ExternalLink", "OutboxDelivery", "OutboxEvent", "PendingStockPush", "PluginRecord", "ProductSyncRun", "StoreConnection",
    "StoreOrder", "StoreRefund", "SyncLogEntry", "WebhookDelivery",
]
