"""The reconciled state of a payment, as a pure function of the set of its events.

State depends only on which events exist, never on the order they arrived in, so duplicates,
redeliveries and any permutation leave exactly the state of one in-order delivery:

- `status`: the lifecycle event with the greatest (rank, occurred_at, event_id), where
  created (1) < authorized (2) < succeeded | failed | canceled (3). A lower or older event
  never moves it back; ties between terminal states go to the later one, then the larger id.
- `amount`, `currency`: from that same ordering, among lifecycle events that carry an amount.
- `amount_refunded`: the larger of the greatest cumulative figure a provider reported and the
  sum of individual succeeded refunds; it only grows.
- `dispute_status`: the latest dispute event by (occurred_at, event_id).
- events of type `other` leave `payments` alone.

`sinks/writer.py` computes the same in SQL; a test holds the two equal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from schemas.normalized import NormalizedEvent, parse_rfc3339

STATUS_RANK = {
    "payment.created": 1,
    "payment.authorized": 2,
    "payment.succeeded": 3,
    "payment.failed": 3,
    "payment.canceled": 3,
}


@dataclass(frozen=True, slots=True)
class PaymentState:
    provider: str
    payment_id: str
    status: str | None
    amount: int | None
    currency: str | None
    amount_refunded: int | None
    dispute_status: str | None
    first_event_at: datetime
    last_event_at: datetime
    last_event_id: str


def affects_payment(event: NormalizedEvent) -> bool:
    return event.payment_id is not None and event.type != "other"


def fold(events: Iterable[NormalizedEvent]) -> dict[tuple[str, str], PaymentState]:
    """The state of every payment the events touch."""
    by_payment: dict[tuple[str, str], dict[str, NormalizedEvent]] = {}
    for event in events:
        if affects_payment(event):
            assert event.payment_id is not None
            by_payment.setdefault((event.provider, event.payment_id), {})[event.event_id] = event
    return {key: _state(key, list(unique.values())) for key, unique in by_payment.items()}


def _state(key: tuple[str, str], events: list[NormalizedEvent]) -> PaymentState:
    when = {e.event_id: parse_rfc3339(e.occurred_at) for e in events}

    def latest(e: NormalizedEvent) -> tuple[datetime, str]:
        return when[e.event_id], e.event_id

    def lifecycle(e: NormalizedEvent) -> tuple[int, datetime, str]:
        return STATUS_RANK[e.type], when[e.event_id], e.event_id

    payments = [e for e in events if e.type in STATUS_RANK]
    status_event = max(payments, key=lifecycle, default=None)
    priced = [e for e in payments if e.amount is not None]
    amount_event = max(priced, key=lifecycle, default=None)
    disputes = [e for e in events if e.type.startswith("dispute.")]
    dispute_event = max(disputes, key=latest, default=None)
    last = max(events, key=latest)
    return PaymentState(
        provider=key[0],
        payment_id=key[1],
        status=status_event.type.removeprefix("payment.") if status_event else None,
        amount=amount_event.amount if amount_event else None,
        currency=amount_event.currency if amount_event else None,
        amount_refunded=_refunded(events),
        dispute_status=dispute_event.type.removeprefix("dispute.") if dispute_event else None,
        first_event_at=min(when.values()),
        last_event_at=when[last.event_id],
        last_event_id=last.event_id,
    )


def _refunded(events: list[NormalizedEvent]) -> int | None:
    cumulative = [e.amount_refunded for e in events if e.amount_refunded is not None]
    single = [
        e.amount
        for e in events
        if e.type == "refund.succeeded" and e.amount_refunded is None and e.amount is not None
    ]
    if not cumulative and not single:
        return None
    return max(max(cumulative, default=0), sum(single))
