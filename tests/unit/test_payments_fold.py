"""The payment state fold: lifecycle order, refunds, disputes; order and duplicates never matter."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sinks.payments import fold
from tests.support.events import deliveries, event, histories


def state(*events):  # type: ignore[no-untyped-def]
    return fold(events)[("stripe", "pi_1")]


def test_lifecycle_moves_forward() -> None:
    assert (
        state(
            event(1, "payment.created", seconds=0), event(2, "payment.authorized", seconds=1)
        ).status
        == "authorized"
    )


def test_an_older_lower_event_never_moves_it_back() -> None:
    assert (
        state(
            event(2, "payment.succeeded", seconds=5), event(1, "payment.created", seconds=1)
        ).status
        == "succeeded"
    )


def test_a_lower_event_arriving_later_with_a_later_time_does_not_move_it_back() -> None:
    assert (
        state(
            event(1, "payment.succeeded", seconds=1), event(2, "payment.authorized", seconds=9)
        ).status
        == "succeeded"
    )


def test_terminal_ties_go_to_the_later_event() -> None:
    s = state(event(1, "payment.failed", seconds=1), event(2, "payment.succeeded", seconds=2))
    assert s.status == "succeeded"


def test_same_time_ties_break_by_event_id() -> None:
    s = state(event("b", "payment.failed", seconds=1), event("a", "payment.succeeded", seconds=1))
    assert s.status == "failed"  # "stripe:evt_b" > "stripe:evt_a"


def test_refunds_grow_and_take_the_larger_of_cumulative_and_sum() -> None:
    s = state(
        event(1, "payment.succeeded", amount=1000),
        event(2, "refund.succeeded", amount=300, seconds=2),
        event(3, "refund.succeeded", amount=200, seconds=3),
    )
    assert s.amount_refunded == 500
    s = state(
        event(4, "refund.succeeded", amount=1000, refunded=700, seconds=4),
        event(5, "refund.succeeded", amount=100, seconds=5),
    )
    assert s.amount_refunded == 700


def test_dispute_follows_the_latest_dispute_event() -> None:
    s = state(
        event(1, "dispute.opened", seconds=1),
        event(2, "dispute.lost", seconds=3),
        event(3, "dispute.updated", seconds=2),
    )
    assert s.dispute_status == "lost"


def test_other_events_leave_payments_alone() -> None:
    assert fold([event(1, "other")]) == {}


def test_events_without_payment_are_ignored() -> None:
    assert fold([event(1, "payment.succeeded", payment_id=None)]) == {}


@settings(max_examples=500, deadline=None)
@given(st.data(), histories())
def test_any_order_with_any_duplicates_gives_the_in_order_state(data, history) -> None:  # type: ignore[no-untyped-def]
    in_order = fold(sorted(history, key=lambda e: (e.occurred_at, e.event_id)))
    assert fold(data.draw(deliveries(history))) == in_order


@settings(max_examples=200, deadline=None)
@given(histories())
def test_refunded_never_shrinks_as_events_arrive(history) -> None:  # type: ignore[no-untyped-def]
    seen: dict[tuple[str, str], int] = {}
    for i in range(1, len(history) + 1):
        for key, s in fold(history[:i]).items():
            if s.amount_refunded is not None:
                assert s.amount_refunded >= seen.get(key, 0)
                seen[key] = s.amount_refunded
