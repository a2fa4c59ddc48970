"""Schemas shared by every resource: paging, errors, page envelopes."""
from __future__ import annotations

from functools import cache

from marshmallow import EXCLUDE, Schema, fields, validate

from core.api.schemas.fields import MAX_ID


class QuerySchema(Schema):
    """Query strings ignore parameters they do not know."""

    class Meta:
        unknown = EXCLUDE


class PageQuery(QuerySchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_ID))
    per_page = fields.Integer(load_default=None, validate=validate.Range(min=1))


class ErrorDetailSchema(Schema):
    status = fields.Integer()
    code = fields.String()
    message = fields.String()
    existing_id = fields.Integer(metadata={"description": "Set on 409 duplicate: the document already posted."})
    fields = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))  # last: it shadows the module


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema)


@cache
def page_schema(item: type[Schema]) -> type[Schema]:
    """The page envelope around ``item`` (for the OpenAPI document)."""
    name = item.__name__.removesuffix("Schema") + "PageSchema"
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item)),
            "page": fields.Integer(),
            "per_page": fields.Integer(),
            "total": fields.Integer(),
            "pages": fields.Integer(),
        },
        name=name,
    )
