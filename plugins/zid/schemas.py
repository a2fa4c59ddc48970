"""Zid payloads (credentials, orders, products, categories, reverse orders) validated into the core's store data."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

DEFAULT_API_BASE = "https://api.zid.sa"


class ZidCredentialsSchema(Schema):
    """What a Zid store connection needs: the partner token, the manager token and the store id."""

    class Meta:
        unknown = RAISE

    authorization = fields.String(required=True, validate=validate.Length(min=1))
    access_token = fields.String(required=True, validate=validate.Length(min=1))
    store_id = fields.String(required=True, validate=validate.Regexp(r"^\d+$"))
    api_base = fields.Url(load_default=DEFAULT_API_BASE, require_tld=False, schemes={"http", "https"})
    location_id = fields.String(load_default=None, allow_none=True)
    app_id = fields.String(load_default="mizan")
    refresh_token = fields.String(load_default=None, allow_none=True)
    product_prices_include_vat = fields.Boolean(load_default=True)
    webhook_username = fields.String(load_default=None, allow_none=True)
    webhook_password = fields.String(load_default=None, allow_none=True)
