"""Schemas of the store integration: plugins, store connections, syncs, the sync log and store orders."""
from __future__ import annotations

from typing import Any

from marshmallow import INCLUDE, Schema, fields, validate

from core.api.schemas.common import PageQuery
from core.api.schemas.fields import amount_out, boolean, query_id, row_id, text
from core.api.schemas.invoices import PaymentSchema
from core.models.inbox import DELIVERY_STATUSES
from core.models.store_documents import STATES
from core.models.sync import LOG_STATUSES

DIRECTIONS = ("inbound", "outbound")
MAX_STATUSES = 20


# -- plugins -------------------------------------------------------------------------


class PluginSchema(Schema):
    name = fields.String()
    title = fields.String()
    version = fields.String()
    hooks = fields.List(fields.String())
    installed = fields.Boolean()
    enabled = fields.Boolean()
    error = fields.String(allow_none=True, metadata={"description": "Why the plugin failed to load, if it did."})


# -- store connections ---------------------------------------------------------------


class StoreCreateSchema(Schema):
    platform = text(50, required=True, metadata={"description": "The name of an enabled platform plugin."})
    name = text(200, required=True)


class StoreSchema(Schema):
    id = fields.Integer()
    platform = fields.String()
    name = fields.String()
    status = fields.String(metadata={"description": "pending, active or disabled"})
    external_ref = fields.String(allow_none=True)
    key_prefix = fields.String(metadata={"description": "The first characters of the connection key."})
    key_created_at = fields.DateTime()
    settings = fields.Dict(keys=fields.String())
    credentials = fields.Method(
        "masked", metadata={"type": "object", "description": "Secrets show only their last characters (C6)."}
    )
    activated_at = fields.DateTime(allow_none=True)
    last_webhook_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()

    def masked(self, store: Any) -> dict[str, Any]:
        from core.integration.connections import masked_credentials

        try:
            return masked_credentials(store)
        except ValueError:  # stored with another server key
            return {"_error": "the stored credentials cannot be decrypted with this server's key"}


class ConnectionKeySchema(Schema):
    """A connection key and its webhook URL: shown in this answer only (C1)."""

    connection_key = fields.String(metadata={"description": "Shown once; keep it. Rotating it revokes it."})
    webhook_url = fields.String(metadata={"description": "Where the store sends its webhooks; holds the key."})
    key_prefix = fields.String()


class LocationSchema(Schema):
    """One inventory location of the store."""

    external_id = fields.String(metadata={"description": "The store's id of the location."})
    name = fields.String()
    is_default = fields.Boolean(metadata={"description": "The location the store marks as its default."})


class StoreLocationsSchema(Schema):
    """The store's inventory locations and the one linked to its warehouse (C2)."""

    locations = fields.List(fields.Nested(LocationSchema))
    location_id = fields.String(allow_none=True, metadata={
        "description": "The linked location: the credential location_id, else the default, else the first."})


class StoreCreatedSchema(StoreSchema):
    connection_key = fields.String(metadata={"description": "Shown once; keep it. Rotating it revokes it."})
    webhook_url = fields.String(metadata={"description": "Where the store sends its webhooks; holds the key."})


class StoreCredentialsSchema(Schema):
    """Free-form: the fields the platform plugin's credentials schema asks for."""

    class Meta:
        unknown = INCLUDE


class StoreSettingsBodySchema(Schema):
    """Any of the store settings (C4); the others stay as they are."""

    default_client_id = row_id(allow_none=True, metadata={"description": "Client of guest orders."})
    warehouse_id = row_id(allow_none=True, metadata={"description": "The store's one warehouse."})
    branch_id = row_id(allow_none=True)
    create_financial_invoice = boolean(metadata={"description": "On: invoices are Paid with a voucher."})
    update_inventory = boolean(metadata={"description": "Push ERP quantities to the store."})
    product_sync = boolean(metadata={"description": "Push new ERP products to the store."})
    completed_statuses = fields.List(
        text(50, required=True),
        allow_none=True,
        validate=validate.Length(max=MAX_STATUSES, error=f"at most {MAX_STATUSES} statuses"),
        metadata={"description": "The store statuses that book an order; null: the platform's own."},
    )
    sales_account_id = row_id(allow_none=True, metadata={
        "description": "Revenue account of the store's invoices and returns; null: the platform's "
                       "'<platform> sales' account, else the company's sales account."})


class ActivateSchema(Schema):
    key = text(
        200,
        load_default=None,
        allow_none=True,
        metadata={"description": "The store's current connection key (needed where the ERP registers webhooks)."},
    )


class StoreQuery(PageQuery):
    platform = fields.String(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(("pending", "active", "disabled")))


# -- orders and product syncs ------------------------------------------------------


class SendOrdersSchema(Schema):
    numbers = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        required=True,
        validate=validate.Length(min=1, max=100, error="between 1 and 100 order numbers"),
    )


class BookingResultSchema(Schema):
    number = fields.String()
    outcome = fields.String(
        metadata={"description": "booked, already_booked, needs_attention, skipped, waiting, not_found or failed"}
    )
    reason = fields.String(allow_none=True)
    invoice_id = fields.Integer(allow_none=True)
    invoice_number = fields.String(allow_none=True)


class SendOrdersResultSchema(Schema):
    results = fields.List(fields.Nested(BookingResultSchema))


class ProductSyncRunSchema(Schema):
    id = fields.Integer()
    store_id = fields.Integer()
    status = fields.String(metadata={"description": "queued, running, done or failed"})
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    total = fields.Integer(allow_none=True)
    processed = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    skipped = fields.Integer()
    failed = fields.Integer()
    report = fields.List(
        fields.Dict(keys=fields.String()),
        metadata={"description": "Skipped, held (outcome needs_attention) and failed products: sku, external_id, "
                                 "outcome, reason; and the reason's code (no_sku, sku_taken) with its params."},
    )


# -- sync log and deliveries -------------------------------------------------------


class SyncLogEntrySchema(Schema):
    id = fields.Integer()
    store_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    direction = fields.String()
    kind = fields.String()
    external_id = fields.String(allow_none=True)
    status = fields.String()
    reason = fields.String(allow_none=True)
    documents = fields.List(fields.Dict(keys=fields.String()), metadata={"description": "type, id, number"})
    delivery_id = fields.Integer(allow_none=True)
    retryable = fields.Function(lambda entry: entry.retry is not None, metadata={"type": "boolean"})


class SyncLogQuery(PageQuery):
    store_id = query_id()
    status = fields.String(load_default=None, validate=validate.OneOf(LOG_STATUSES))
    kind = fields.String(load_default=None)
    direction = fields.String(load_default=None, validate=validate.OneOf(DIRECTIONS))
    date_from = fields.Date(load_default=None)
    date_to = fields.Date(load_default=None)


class RetrySchema(Schema):
    entry_id = fields.Integer()
    job = fields.String()
    args = fields.List(fields.Raw())
    message = fields.String()


class DeliverySchema(Schema):
    """A webhook delivery, without its headers and body."""

    id = fields.Integer()
    store_id = fields.Integer()
    delivery_key = fields.String()
    received_at = fields.DateTime()
    status = fields.String()
    event = fields.String(allow_none=True)
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    processed_at = fields.DateTime(allow_none=True)


class DeliveryQuery(PageQuery):
    store_id = query_id()
    status = fields.String(load_default=None, validate=validate.OneOf(DELIVERY_STATUSES))


# -- store orders -------------------------------------------------------------------


class StoreOrderSchema(Schema):
    id = fields.Integer()
    store_id = fields.Integer()
    external_id = fields.String()
    number = fields.String()
    store_status = fields.String()
    state = fields.String(metadata={"description": "pending, booked, needs_attention or skipped"})
    reason = fields.String(allow_none=True)
    invoice_id = fields.Integer(allow_none=True)
    updated_at = fields.DateTime()


class StoreOrderQuery(PageQuery):
    store_id = query_id()
    state = fields.String(load_default=None, validate=validate.OneOf(STATES))
    number = fields.String(load_default=None)


class StoryInvoiceSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    date = fields.Date()
    status = fields.String()
    total = amount_out()


class StoryReturnSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    date = fields.Date()
    status = fields.String()
    total = amount_out()


class StoryRefundSchema(Schema):
    id = fields.Integer()
    external_id = fields.String()
    state = fields.String()
    reason = fields.String(allow_none=True)
    return_invoice = fields.Nested(StoryReturnSchema, allow_none=True)


class StoreOrderStorySchema(Schema):
    """The whole story of one store order (V2)."""

    order = fields.Nested(StoreOrderSchema)
    log = fields.List(fields.Nested(SyncLogEntrySchema))
    deliveries = fields.List(fields.Nested(DeliverySchema))
    invoice = fields.Nested(StoryInvoiceSchema, allow_none=True)
    payments = fields.List(fields.Nested(PaymentSchema))
    refunds = fields.List(fields.Nested(StoryRefundSchema))
    stock_pushes = fields.List(fields.Nested(SyncLogEntrySchema))
