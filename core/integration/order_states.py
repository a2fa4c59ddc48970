"""A store order's states only move forward (O11); which order version is newer; reasons for held orders and refunds."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

#: Forward-only ranks: an order moves to a state of the same or a higher rank, never back.
#: ``skipped`` (not completed yet, or O1) is not an end: a later completed version books it.
RANKS = {
    "pending": 0,
    "skipped": 1,
    "needs_attention": 1,
    "booked": 2,
    "partly_returned": 3,
    "returned": 4,
}
#: Ends: nothing moves an order out of them.
ENDS = frozenset({"cancelled"})
#: States of an order that was never booked (a cancellation ends them).
UNBOOKED = frozenset({"pending", "skipped", "needs_attention"})

#: Why an order, a refund or an order event was not acted on now: ``"<code>: <sentence>"`` like tasks.REASONS.
REASONS = {
    "order_not_booked": "its order is not booked yet; the refund is booked right after it",
    "order_cancelled": "its order was cancelled before it was booked, so there is nothing to return",
    "order_ignored": "its order was not booked ({why}); send the order by hand to book both",
    "stale_event": "this version of the order ({event}) is older than the one kept ({kept}); nothing changed",
    "foreign_currency": "the order is in {currency}, not the company's currency {base}; it is held so that "
                        "nothing is booked in the wrong currency",
}


def reason(code: str, **params: Any) -> str:
    """``"<code>: <sentence>"`` from :data:`REASONS`."""
    return f"{code}: " + REASONS[code].format(**params)


def allowed(current: str, new: str) -> bool:
    """Whether a store order may move from ``current`` to ``new`` (staying is always allowed)."""
    if current == new:
        return True
    if current in ENDS:
        return False
    if new in ENDS:
        return current in UNBOOKED  # O10: a booked order that is cancelled is returned instead
    return RANKS.get(new, -1) >= RANKS.get(current, 0)


def move(current: str, new: str) -> str:
    """``new`` when the move is allowed, else ``current``."""
    return new if allowed(current, new) else current


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_stale(
    *,
    event_version: datetime | None,
    kept_version: datetime | None,
    event_status: str,
    kept_status: str | None,
    completed: list[str] | tuple[str, ...],
    cancelled: bool = False,
) -> bool:
    """Whether an order event is older than the version kept, so it must not overwrite it (O11).

    With both versions known and different, the older loses. Otherwise (a version unknown, or the
    same one, e.g. two events in the same second) a status that is not a completed one
    never demotes a record whose kept status is completed (a late ``created`` after ``completed``);
    a cancellation is never stale by status alone.
    """
    if event_version is not None and kept_version is not None and _aware(event_version) != _aware(kept_version):
        return _aware(event_version) < _aware(kept_version)
    if cancelled or kept_status is None:
        return False
    return kept_status in completed and event_status not in completed


def newer(event_version: datetime | None, kept_version: datetime | None) -> datetime | None:
    """The newer of two versions (either may be unknown)."""
    if event_version is None or kept_version is None:
        return event_version or kept_version
    return max(_aware(event_version), _aware(kept_version))
