"""Product-sync reasons shown in the user's language: the report's reason code with its params."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

#: One text per reason code of ``core.integration.products.REASONS`` (same params).
PRODUCT_REASONS = {
    "no_sku": _l("store product %(external_id)s (%(name)s) has no SKU"),
    "sku_taken": _l("the store changed the SKU of %(name)s from %(old)s to %(new)s, which ERP product "
                    "%(product)s already has; give one of them another SKU, then sync again"),
}


def product_reason(item: dict[str, Any]) -> str:
    """A product-sync report item's reason, translated when its code is known (else as recorded)."""
    text = PRODUCT_REASONS.get(item.get("code") or "")
    if text is None:
        return str(item.get("reason") or "")
    try:
        return str(text) % item.get("params", {})
    except (KeyError, TypeError, ValueError):
        return str(item.get("reason") or "")
