"""The sink's batch writer on a real database: idempotent, and equal to the pure fold."""

from __future__ import annotations

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sinks.migrate import migrate
from sinks.payments import PaymentState, fold
from sinks.writer import write_batch
from tests.support.events import deliveries, event, histories


async def payments(url: str) -> dict[tuple[str, str], PaymentState]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        rows = await (
            await conn.execute(
                "SELECT provider, payment_id, status, amount, currency, amount_refunded, dispute_status,"
                " first_event_at, last_event_at, last_event_id FROM payments"
            )
        ).fetchall()
    return {(r[0], r[1]): PaymentState(*r) for r in rows}


async def write(url: str, batches: list[list]) -> None:  # type: ignore[type-arg]
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for batch in batches:
            await write_batch(conn, batch)


async def test_a_replayed_batch_inserts_and_changes_nothing(clean_db: str) -> None:
    batch = [event(1, "payment.created"), event(2, "payment.succeeded", seconds=2)]
    async with await psycopg.AsyncConnection.connect(clean_db, autocommit=True) as conn:
        first = await write_batch(conn, batch)
        assert (first.inserted, first.payments) == (2, 1)
        before = await (await conn.execute("SELECT * FROM payments")).fetchall()
        again = await write_batch(conn, batch)
        assert (again.inserted, again.payments) == (0, 0)
        assert (await (await conn.execute("SELECT * FROM payments")).fetchall()) == before
        count = await (await conn.execute("SELECT count(*) FROM payment_events")).fetchone()
    assert count == (2,)


async def test_duplicates_inside_one_batch_are_written_once(clean_db: str) -> None:
    e = event(1, "payment.succeeded")
    await write(clean_db, [[e, e, e]])
    async with await psycopg.AsyncConnection.connect(clean_db) as conn:
        assert await (await conn.execute("SELECT count(*) FROM payment_events")).fetchone() == (1,)


async def test_event_row_keeps_the_event_and_its_raw_position(clean_db: str) -> None:
    e = event(7, "payment.authorized", amount=4200)
    await write(clean_db, [[e]])
    async with await psycopg.AsyncConnection.connect(clean_db) as conn:
        row = await (
            await conn.execute(
                "SELECT event->>'event_id', raw_topic, raw_partition, raw_offset, persisted_at >= received_at"
                " FROM payment_events"
            )
        ).fetchone()
    assert row == ("stripe:evt_7", "payments.raw", 0, 0, True)


def test_migrations_apply_once(database_url: str) -> None:
    assert migrate(database_url) == []


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), history=histories())
async def test_sql_state_equals_the_fold_for_any_delivery(clean_db: str, data, history) -> None:  # type: ignore[no-untyped-def]
    async with await psycopg.AsyncConnection.connect(clean_db, autocommit=True) as conn:
        await conn.execute("TRUNCATE payment_events, payments")
    delivered = data.draw(deliveries(history))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(delivered)), max_size=4)))
    batches = [delivered[a:b] for a, b in zip([0, *cuts], [*cuts, len(delivered)], strict=True)]
    await write(clean_db, [b for b in batches if b])
    assert await payments(clean_db) == fold(history)


@pytest.mark.parametrize("n", [1])
async def test_money_is_bigint_exact(clean_db: str, n: int) -> None:
    big = 9_007_199_254_740_993  # beyond a float's exact integers
    await write(clean_db, [[event(n, "payment.succeeded", amount=big)]])
    async with await psycopg.AsyncConnection.connect(clean_db) as conn:
        assert await (await conn.execute("SELECT amount FROM payments")).fetchone() == (big,)
