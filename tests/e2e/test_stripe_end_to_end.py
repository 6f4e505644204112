"""A Stripe webhook through the three services as processes, into PostgreSQL, exactly once."""

from __future__ import annotations

import time

import psycopg

from tests.support.http import post_stripe, stripe_event
from tests.support.stack import Stack


def wait_for_rows(
    url: str, sql: str, expected: int, timeout: float = 30.0
) -> list[tuple[object, ...]]:
    deadline = time.monotonic() + timeout
    rows: list[tuple[object, ...]] = []
    while time.monotonic() < deadline:
        with psycopg.connect(url) as conn:
            rows = conn.execute(sql).fetchall()
        if len(rows) >= expected:
            return rows
        time.sleep(0.2)
    return rows


def test_signed_event_lands_once_and_a_repeat_changes_nothing(stack: Stack) -> None:
    body = stripe_event("evt_e2e_1", payment_id="pi_e2e_1", amount=1099)
    status, answer = post_stripe(stack.url, body)
    assert status == 202, answer
    assert isinstance(answer, dict) and answer["request_id"]

    db = stack.env["DATABASE_URL"]
    events = wait_for_rows(
        db, "SELECT event_id, type, payment_id, amount, currency FROM payment_events", 1
    )
    assert events == [("stripe:evt_e2e_1", "payment.succeeded", "pi_e2e_1", 1099, "USD")]
    with psycopg.connect(db) as conn:
        before = conn.execute("SELECT * FROM payments").fetchall()
    assert len(before) == 1
    assert before[0][:5] == ("stripe", "pi_e2e_1", "succeeded", 1099, "USD")

    status, _ = post_stripe(stack.url, body)  # the provider retries: same event, new signature
    assert status == 202
    # A later event proves the pipeline has drained past the repeat before we look.
    status, _ = post_stripe(stack.url, stripe_event("evt_e2e_marker", payment_id="pi_e2e_marker"))
    assert status == 202
    wait_for_rows(db, "SELECT 1 FROM payment_events WHERE event_id = 'stripe:evt_e2e_marker'", 1)
    with psycopg.connect(db) as conn:
        assert conn.execute(
            "SELECT count(*) FROM payment_events WHERE payment_id = 'pi_e2e_1'"
        ).fetchone() == (1,)
        assert (
            conn.execute("SELECT * FROM payments WHERE payment_id = 'pi_e2e_1'").fetchall()
            == before
        )


def test_tampered_event_is_refused_and_writes_nothing(stack: Stack) -> None:
    body = stripe_event("evt_e2e_bad", payment_id="pi_e2e_bad")
    status, _ = post_stripe(stack.url, body, secret="whsec_wrong")
    assert status == 401
    status, _ = post_stripe(stack.url, stripe_event("evt_e2e_after", payment_id="pi_e2e_after"))
    assert status == 202
    db = stack.env["DATABASE_URL"]
    wait_for_rows(db, "SELECT 1 FROM payment_events WHERE event_id = 'stripe:evt_e2e_after'", 1)
    with psycopg.connect(db) as conn:
        assert conn.execute(
            "SELECT count(*) FROM payment_events WHERE event_id = 'stripe:evt_e2e_bad'"
        ).fetchone() == (0,)
