"""Reasons shown in the user's language: a product-sync report's code with its params, a held order's coded reason."""
from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l

from core.integration.order_states import REASONS as ORDER_STATE_REASONS

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


#: One text per reason code of ``core.integration.order_states.REASONS`` that is translated (same params).
ORDER_REASONS = {
    "foreign_currency": _l("the order is in %(currency)s, not the company's currency %(base)s; it is held so that "
                           "nothing is booked in the wrong currency"),
}


def _params(template: str, sentence: str) -> dict[str, str] | None:
    """The params that make ``template`` (``str.format`` fields) read ``sentence``; ``None`` if it does not."""
    pattern = "".join(
        f"(?P<{part[1:-1]}>.+?)" if part.startswith("{") else re.escape(part)
        for part in re.split(r"(\{\w+\})", template) if part
    )
    found = re.fullmatch(pattern, sentence, flags=re.DOTALL)
    return found.groupdict() if found else None


def order_reason(reason: str | None) -> str:
    """A held order's reason (``"<code>: <sentence>"``), translated when its code is known (else as recorded)."""
    code, _colon, sentence = (reason or "").partition(": ")
    text, template = ORDER_REASONS.get(code), ORDER_STATE_REASONS.get(code)
    params = _params(template, sentence) if text is not None and template is not None else None
    if params is None:
        return reason or ""
    return str(text) % params
