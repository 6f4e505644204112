"""Builders of normalized events and random histories for fold and sink tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from schemas.normalized import EVENT_TYPES, NormalizedEvent, RawRef, rfc3339

BASE = datetime(2026, 1, 1, tzinfo=UTC)

TYPES = sorted(EVENT_TYPES)  # sorted: hypothesis needs a stable order to shrink


def event(
    n: int | str,
    kind: str,
    payment_id: str | None = "pi_1",
    seconds: int = 0,
    amount: int | None = 1000,
    refunded: int | None = None,
    provider: str = "stripe",
) -> NormalizedEvent:
    return NormalizedEvent(
        provider=provider,
        endpoint="stripe",
        provider_event_id=f"evt_{n}",
        provider_event_type=kind,
        type=kind,
        payment_id=payment_id,
        amount=amount,
        currency="USD" if amount is not None else None,
        amount_refunded=refunded,
        status=None,
        occurred_at=rfc3339(BASE + timedelta(seconds=seconds)),
        received_at=rfc3339(BASE + timedelta(seconds=seconds, milliseconds=5)),
        livemode=False,
        account=None,
        raw=RawRef("payments.raw", 0, 0),
    )


@st.composite
def histories(draw: st.DrawFn, payments: int = 3, size: int = 12) -> list[NormalizedEvent]:
    """A random set of events over a few payments, with ties on occurred_at on purpose."""
    count = draw(st.integers(1, size))
    out = []
    for n in range(count):
        out.append(
            event(
                n,
                draw(st.sampled_from(TYPES)),
                payment_id=f"pi_{draw(st.integers(0, payments - 1))}",
                seconds=draw(st.integers(0, 5)),  # few distinct times: ties are common
                amount=draw(st.one_of(st.none(), st.integers(0, 10**12))),
                refunded=draw(st.one_of(st.none(), st.integers(0, 10**6))),
            )
        )
    return out


@st.composite
def deliveries(draw: st.DrawFn, history: list[NormalizedEvent]) -> list[NormalizedEvent]:
    """Any permutation of `history` with any duplicates: how Kafka may deliver it."""
    extra = draw(st.lists(st.sampled_from(history), max_size=len(history)))
    return draw(st.permutations(history + extra))
