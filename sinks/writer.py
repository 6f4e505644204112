"""Writing a batch of normalized events in one transaction.

COPY into a per-connection staging table, `INSERT … ON CONFLICT (event_id) DO NOTHING` into
`payment_events`, then recompute `payments` for the payments whose events were new — from all
their events, with the same rules as `sinks.payments.fold`. Advisory locks on the touched
payments keep two writers from recomputing one payment at once. A replayed batch inserts
nothing and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from schemas.normalized import NormalizedEvent, parse_rfc3339

_COLUMNS = (
    "event_id",
    "provider",
    "endpoint",
    "provider_event_id",
    "provider_event_type",
    "type",
    "payment_id",
    "amount",
    "currency",
    "amount_refunded",
    "status",
    "occurred_at",
    "received_at",
    "livemode",
    "account",
    "event",
    "raw_topic",
    "raw_partition",
    "raw_offset",
)
_COLUMN_LIST = sql.SQL(", ").join(map(sql.Identifier, _COLUMNS))

_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS staged_events
    (LIKE payment_events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS
"""

_COPY = sql.SQL("COPY staged_events ({}) FROM STDIN").format(_COLUMN_LIST)
_COPY_DIRECT = sql.SQL("COPY payment_events ({}) FROM STDIN").format(_COLUMN_LIST)

_INSERT = sql.SQL("""
INSERT INTO payment_events ({columns})
SELECT {columns} FROM staged_events
ON CONFLICT (event_id) DO NOTHING
RETURNING provider, payment_id, type, received_at
""").format(columns=_COLUMN_LIST)

# The fold of sinks/payments.py in SQL. `COLLATE "C"` orders event ids by code point, as Python does.
_RECOMPUTE = """
WITH touched AS (
    SELECT * FROM unnest(%(providers)s::text[], %(payment_ids)s::text[]) AS t(provider, payment_id)
), ev AS (
    SELECT e.*, CASE e.type
        WHEN 'payment.created' THEN 1 WHEN 'payment.authorized' THEN 2
        WHEN 'payment.succeeded' THEN 3 WHEN 'payment.failed' THEN 3 WHEN 'payment.canceled' THEN 3
    END AS rank
    FROM payment_events e JOIN touched t USING (provider, payment_id)
    WHERE e.type <> 'other'
), agg AS (
    SELECT provider, payment_id,
        (array_agg(substr(type, 9) ORDER BY rank DESC, occurred_at DESC, event_id COLLATE "C" DESC)
            FILTER (WHERE rank IS NOT NULL))[1] AS status,
        (array_agg(amount ORDER BY rank DESC, occurred_at DESC, event_id COLLATE "C" DESC)
            FILTER (WHERE rank IS NOT NULL AND amount IS NOT NULL))[1] AS amount,
        (array_agg(currency ORDER BY rank DESC, occurred_at DESC, event_id COLLATE "C" DESC)
            FILTER (WHERE rank IS NOT NULL AND amount IS NOT NULL))[1] AS currency,
        CASE WHEN count(*) FILTER (WHERE amount_refunded IS NOT NULL
                OR (type = 'refund.succeeded' AND amount IS NOT NULL)) = 0 THEN NULL
            ELSE GREATEST(
                COALESCE(max(amount_refunded), 0),
                COALESCE(sum(amount) FILTER (WHERE type = 'refund.succeeded'
                    AND amount_refunded IS NULL), 0))::bigint
        END AS amount_refunded,
        (array_agg(substr(type, 9) ORDER BY occurred_at DESC, event_id COLLATE "C" DESC)
            FILTER (WHERE type LIKE 'dispute.%%'))[1] AS dispute_status,
        min(occurred_at) AS first_event_at,
        max(occurred_at) AS last_event_at,
        (array_agg(event_id ORDER BY occurred_at DESC, event_id COLLATE "C" DESC))[1] AS last_event_id
    FROM ev GROUP BY provider, payment_id
)
INSERT INTO payments (provider, payment_id, status, amount, currency, amount_refunded,
                      dispute_status, first_event_at, last_event_at, last_event_id, updated_at)
SELECT provider, payment_id, status, amount, currency, amount_refunded,
       dispute_status, first_event_at, last_event_at, last_event_id, now()
FROM agg
ON CONFLICT (provider, payment_id) DO UPDATE SET
    status = EXCLUDED.status, amount = EXCLUDED.amount, currency = EXCLUDED.currency,
    amount_refunded = EXCLUDED.amount_refunded, dispute_status = EXCLUDED.dispute_status,
    first_event_at = EXCLUDED.first_event_at, last_event_at = EXCLUDED.last_event_at,
    last_event_id = EXCLUDED.last_event_id, updated_at = now()
"""

_LOCK = """
SELECT pg_advisory_xact_lock(hashtextextended(k, 0))
FROM unnest(%s::text[]) AS k ORDER BY k
"""


@dataclass(frozen=True, slots=True)
class Written:
    """What one batch changed: new events, with when ingress received each."""

    inserted: int
    payments: int
    received_at: list[float]


def row(event: NormalizedEvent, document: bytes | None = None) -> tuple[object, ...]:
    """The payment_events row of `event`; `document` is its JSON when the caller already has it
    (the sink has the Kafka record's bytes: serializing again was a third of its time)."""
    return (
        event.event_id,
        event.provider,
        event.endpoint,
        event.provider_event_id,
        event.provider_event_type,
        event.type,
        event.payment_id,
        event.amount,
        event.currency,
        event.amount_refunded,
        event.status,
        event.occurred_at,
        event.received_at,
        event.livemode,
        event.account,
        (document if document is not None else event.to_json()).decode(),
        event.raw.topic,
        event.raw.partition,
        event.raw.offset,
    )


async def write_batch(
    conn: psycopg.AsyncConnection[Any],
    events: Sequence[NormalizedEvent],
    documents: Sequence[bytes] | None = None,
) -> Written:
    """Write `events` in one transaction; idempotent on event_id. `documents`, when given, are
    the events' JSON as received, stored as they are."""
    rows = [row(e, documents[n] if documents else None) for n, e in enumerate(events)]
    async with conn.transaction():
        touched = sorted(
            {f"{e.provider}:{e.payment_id}" for e in events if e.payment_id and e.type != "other"}
        )
        if touched:
            await conn.execute(_LOCK, (touched,))
        inserted = await _copy_new(conn, events, rows)
        if inserted is None:  # some were stored before: let ON CONFLICT sort them out
            inserted = await _copy_through_staging(conn, rows)
        keys = sorted(
            {(p, pid) for p, pid, kind, _ in inserted if pid is not None and kind != "other"}
        )
        if keys:
            await conn.execute(
                _RECOMPUTE,
                {"providers": [k[0] for k in keys], "payment_ids": [k[1] for k in keys]},
            )
    return Written(len(inserted), len(keys), [r[3] for r in inserted])


async def _copy_new(
    conn: psycopg.AsyncConnection[Any],
    events: Sequence[NormalizedEvent],
    rows: list[tuple[object, ...]],
) -> list[tuple[str, str | None, str, float]] | None:
    """The fast path, for batches of new events (the usual case, since the processor dedupes):
    COPY straight into payment_events inside a savepoint. None when an event_id was already
    there, the savepoint rolled back."""
    if len({e.event_id for e in events}) != len(events):
        return None
    try:
        async with conn.transaction(), conn.cursor() as cur, cur.copy(_COPY_DIRECT) as copy:
            for values in rows:
                await copy.write_row(values)
    except psycopg.errors.UniqueViolation:
        return None
    return [(e.provider, e.payment_id, e.type, received_epoch(e)) for e in events]


async def _copy_through_staging(
    conn: psycopg.AsyncConnection[Any], rows: list[tuple[object, ...]]
) -> list[tuple[str, str | None, str, float]]:
    await conn.execute(_STAGING)
    async with conn.cursor() as cur:
        async with cur.copy(_COPY) as copy:
            for values in rows:
                await copy.write_row(values)
        await cur.execute(_INSERT)
        returned = await cur.fetchall()
    return [(p, pid, kind, received.timestamp()) for p, pid, kind, received in returned]


def received_epoch(event: NormalizedEvent) -> float:
    return parse_rfc3339(event.received_at).timestamp()
