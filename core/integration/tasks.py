"""Job functions run by workers (rq) or in-process: each takes JSON-able arguments."""
from __future__ import annotations

import logging
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import update
from sqlalchemy.exc import DataError, SQLAlchemyError, StatementError

from core.extensions import db
from core.integration.booking import book_order
from core.integration.connections import StoreAlreadyConnected, authorize, get_store, store_api
from core.integration.costs import update_store_cost
from core.integration.inbox import delivery_request
from core.integration.products import sync_store_product
from core.integration.reconcile import schedule_reconciliation
from core.integration.refunds import book_refund
from core.integration.synclog import log_event
from core.integration.waiting import release_waiting
from core.models import WebhookDelivery
from core.models.base import utcnow
from core.platform.data import StoreEvent, nul_fields
from core.platform.webhooks import OtherStore, StoreUnidentified
from core.plugins import registry
from core.services.transaction import atomic

log = logging.getLogger(__name__)

#: After this many failed attempts a delivery shows as failed (and can be retried by hand).
MAX_ATTEMPTS = 4


def process_delivery(delivery_id: int) -> str:
    """Parse a stored delivery and act on it; safe to run any number of times.

    An authentic delivery that cannot be read or booked as it is (it does not fit, is nested too
    deeply, holds a NUL character or numbers too large to book) goes to "needs attention" with a
    reason code; only other failures (the database, a store's API) are retried and may end failed.
    """
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.status not in ("received", "failed"):
        return "nothing to do"
    store_id = delivery.store_id
    store = _snapshot(get_store(store_id))
    try:
        events = _parse(store, delivery)
        _check_active(store, events)
        outcome = ", ".join(act(store, event, delivery_id) for event in events)
    except Waiting as why:
        db.session.rollback()
        _mark(delivery_id, "waiting", str(why), failed=False)
        if why.until_active:
            with atomic():
                active = get_store(store_id).status == "active"
            if active:  # activated meanwhile: its release may have missed this delivery
                release_waiting(store_id)
        return "waiting"
    except NeedsAttention as problem:
        db.session.rollback()
        _mark(delivery_id, "needs_attention", str(problem), failed=False)
        return "needs_attention"
    except ValidationError as error:
        db.session.rollback()
        _mark(delivery_id, "needs_attention", reason("payload_invalid", details=error.normalized_messages()),
              failed=False)
        return "needs_attention"
    except Exception as error:
        db.session.rollback()
        if _out_of_range(error):
            _mark(delivery_id, "needs_attention", reason("value_out_of_range", details=_first_line(error)),
                  failed=False)
            return "needs_attention"
        _mark(delivery_id, "received", f"{type(error).__name__}: {error}", failed=True)
        raise
    _mark(delivery_id, "processed", None, failed=False, event=", ".join(dict.fromkeys(e.name for e in events)))
    return outcome


#: Why an authentic delivery needs attention instead of being acted on: ``last_error`` starts with the code.
REASONS = {
    "payload_invalid": "the payload does not fit: {details}",
    "payload_too_deep": "the JSON is nested too deeply to read",
    "payload_unreadable": "the {platform} plugin could not read it: {details}",
    "nul_character": "{fields} hold a NUL character, which cannot be stored; fix the data in the store",
    "value_out_of_range": "a value is too large to book: {details}",
    "order_not_found": "the store's API has no order {order}",
    "refund_not_found": "the store's API has no refund {refund} on order {order}",
    "store_not_active": "the store is {status}, not active: kept until it is activated, then processed",
    "store_not_identified": "the store's {platform} account is not known yet: kept until the authorize event"
                            " tells it, then processed",
    "other_store": "{details}; not this store's, so it is not acted on",
    "store_already_connected": "this store ({ref}) is already connected as '{other}' (store connection"
                               " {other_id}); disable one of the two connections",
}
#: Longest reason kept (the rest of a very long validation message is cut).
REASON_MAX = 2000


class NeedsAttention(Exception):
    """The delivery is authentic but cannot be acted on as it is; the message is its reason."""


class Waiting(Exception):
    """The delivery is kept, not acted on, until its store is activated; the message is its reason.

    ``until_active``: it waits only for the store's status (so a store activated meanwhile releases it at once).
    """

    def __init__(self, message: str, *, until_active: bool = False) -> None:
        super().__init__(message)
        self.until_active = until_active


def _snapshot(store: Any) -> Any:
    """The store as read at the job's start, out of the session: the job's commits do not expire it, so
    it is not read again after each of them. Writes to a store read it afresh (``get_store``)."""
    db.session.expunge(store)
    return store


def _check_active(store: Any, events: list[StoreEvent]) -> None:
    """Only an authorize event is acted on for a store that is not active (design point 3); others wait."""
    if store.status != "active" and not all(event.kind == "authorize" for event in events):
        raise Waiting(reason("store_not_active", status=store.status), until_active=True)


def reason(code: str, **params: Any) -> str:
    """``"<code>: <sentence>"`` from :data:`REASONS`."""
    return f"{code}: " + REASONS[code].format(**params)


def _parse(store: Any, delivery: WebhookDelivery) -> list[StoreEvent]:
    """The delivery's validated events; a payload the plugin cannot read raises :class:`NeedsAttention`."""
    plugin = registry().platform(store.platform)
    if plugin is None:
        raise RuntimeError(f"the {store.platform} plugin is not enabled")
    try:
        parsed = plugin.parse(store, delivery_request(delivery))
    except StoreUnidentified:
        raise Waiting(reason("store_not_identified", platform=store.platform)) from None
    except OtherStore as error:
        raise NeedsAttention(reason("other_store", details=_first_line(error))) from None
    except ValidationError as error:
        raise NeedsAttention(reason("payload_invalid", details=error.normalized_messages())) from None
    except RecursionError:
        raise NeedsAttention(reason("payload_too_deep")) from None
    except SQLAlchemyError:
        raise
    except Exception as error:  # a plugin that raises something else on odd input: still its payload
        log.warning("the %s plugin raised %s parsing delivery %s", store.platform, type(error).__name__,
                    delivery.id, exc_info=True)
        raise NeedsAttention(reason("payload_unreadable", platform=store.platform,
                                    details=f"{type(error).__name__}: {_first_line(error)}")) from None
    events = list(parsed) if isinstance(parsed, list | tuple) else [parsed]
    if not events or not all(isinstance(event, StoreEvent) for event in events):
        raise NeedsAttention(reason("payload_unreadable", platform=store.platform,
                                    details="the plugin gave no event for it"))
    holding_nul = nul_fields(events)
    if holding_nul:
        raise NeedsAttention(reason("nul_character", fields=", ".join(holding_nul[:5])))
    return events


def _out_of_range(error: BaseException) -> bool:
    """A number or text the database or Decimal arithmetic cannot hold (a payload problem, not a crash)."""
    if isinstance(error, ArithmeticError | DataError):
        return True
    return isinstance(error, StatementError) and isinstance(error.orig, ArithmeticError | ValueError)


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error) or type(error).__name__
    return text.splitlines()[0][:300]


def act(store: Any, event: StoreEvent, delivery_id: int | None = None) -> str:
    """Act on one event (a webhook's, or one found by reconciliation) through the idempotent booking path."""
    if event.kind in ("order_ref", "refunds_ref"):
        return " ".join(act(store, resolved, delivery_id) for resolved in _resolve(store, event)) or "nothing found"
    if event.kind == "order":
        return book_order(store, event.order, api=_api_or_none(store), delivery_id=delivery_id).outcome
    if event.kind == "refund":
        return book_refund(store, event.refund, delivery_id=delivery_id).outcome
    if event.kind == "product":
        return sync_store_product(store, event.product, delivery_id=delivery_id, api=_api_or_none(store)).outcome
    if event.kind == "cost":
        return update_store_cost(store, event.cost, delivery_id=delivery_id, api=_api_or_none(store)).outcome
    if event.kind == "authorize":
        try:
            authorize(store, event.credentials or {})
        except StoreAlreadyConnected as duplicate:
            raise NeedsAttention(reason("store_already_connected", ref=duplicate.ref, other=duplicate.other_name,
                                        other_id=duplicate.other_id)) from None
        from core.integration.categories import import_categories

        import_categories(get_store(store.id), store_api(get_store(store.id)))
        with atomic():
            log_event(store.id, "authorize", "done", external_id=event.external_id, delivery_id=delivery_id,
                      reason="tokens saved; store active")
        release_waiting(store.id)
        return "authorized"
    with atomic():
        log_event(store.id, "webhook", "skipped", external_id=event.external_id, reason=event.reason,
                  delivery_id=delivery_id)
    return "ignored"


def _resolve(store: Any, event: StoreEvent) -> list[StoreEvent]:
    """The events a reference stands for, read from the store's API (the API's data is what is booked).

    A store that cannot be reached raises (the delivery is retried); an order the store no
    longer has is a reason to look, not to retry.
    """
    api = store_api(store)
    if event.kind == "order_ref":
        order = api.fetch_order_by_id(event.external_id)
        if order is None:
            raise NeedsAttention(reason("order_not_found", order=event.external_id))
        return [StoreEvent("order", event.name, order.external_id, order=order)]
    refunds = [refund for refund in api.list_refunds(event.external_id)
               if event.reference is None or refund.external_id == event.reference]
    if event.reference is not None and not refunds:
        raise NeedsAttention(reason("refund_not_found", refund=event.reference, order=event.external_id))
    return [StoreEvent("refund", event.name, refund.external_id, refund=refund) for refund in refunds]


def _api_or_none(store: Any) -> Any:
    try:
        return store_api(store)
    except Exception:  # the booking falls back to the order's own data
        return None


def _mark(delivery_id: int, status: str, error: str | None, *, failed: bool, event: str | None = None) -> None:
    if error is not None:  # text columns take no NUL; a reason is for people, so keep it short
        error = error.replace("\x00", "\\0")[:REASON_MAX]
    if event is not None:
        event = event[:100]
    if status == "processed" and not failed:  # the common end: one UPDATE, nothing to log
        values = {"status": status, "last_error": error, "processed_at": utcnow(), **({"event": event} if event else {})}
        with atomic() as session:
            session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(**values)
                            .execution_options(synchronize_session=False))
        return
    with atomic():
        delivery = db.session.get(WebhookDelivery, delivery_id)
        if failed:
            delivery.attempts += 1
            if delivery.attempts >= MAX_ATTEMPTS:
                status = "failed"
                log_event(delivery.store_id, "webhook", "failed", reason=error, delivery_id=delivery_id,
                          retry={"job": "core.integration.tasks.process_delivery", "args": [delivery_id]})
        delivery.status = status
        delivery.last_error = error
        if event:
            delivery.event = event
        if status in ("processed", "needs_attention"):
            delivery.processed_at = utcnow()
            if status == "needs_attention":
                log_event(delivery.store_id, "webhook", "needs_attention", reason=error, delivery_id=delivery_id)
        if status == "waiting":
            log_event(delivery.store_id, "webhook", "waiting", reason=error, delivery_id=delivery_id)


def push_stock(store_id: int) -> int:
    """Push the store's pending quantities (I1–I2)."""
    from core.integration.stock_push import push_pending

    return push_pending(store_id, store_api)


RECOVER_JOB = "core.integration.tasks.recover_deliveries"


def schedule_recovery(app: Any) -> None:
    """Queue lost deliveries and outbox events again without anyone running ``flask jobs recover``:
    periodically (workers and the background thread) and, in the background thread, all at its start."""
    from core.integration.outbox import DISPATCH_JOB
    from core.jobs import at_start, every

    every(app, float(app.config["JOB_RECOVER_INTERVAL"]), RECOVER_JOB, float(app.config["JOB_RECOVER_AFTER"]))
    every(app, float(app.config["JOB_RECOVER_INTERVAL"]), DISPATCH_JOB)
    at_start(app, RECOVER_JOB, 0)
    at_start(app, DISPATCH_JOB)
    schedule_reconciliation(app)  # O12: what the webhooks missed is pulled from the stores


def recover_deliveries(older_than_seconds: float = 60) -> int:
    """Re-enqueue deliveries whose job was lost (e.g. its worker was killed)."""
    from core.integration.inbox import delivery_job_id, unprocessed_deliveries
    from core.jobs import enqueue

    ids = unprocessed_deliveries(older_than_seconds)
    db.session.commit()
    for delivery_id in ids:
        enqueue("core.integration.tasks.process_delivery", delivery_id, unique=delivery_job_id(delivery_id))
    return len(ids)
