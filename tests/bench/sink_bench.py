"""(c) Sink: rows per second into PostgreSQL, against a raw COPY of the same rows.

The normalized topic is filled with realistic events (about three per payment) first; one sink
worker then writes them all to the bench database; its rate is measured by polling the row
count from the first row to the last. The baseline COPYs the same rows (sinks.writer.row) into
a plain table of the same shape, in transactions of the sink's batch size.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psycopg
from aiokafka import AIOKafkaProducer

from schemas.normalized import NormalizedEvent
from sinks.writer import _COLUMNS, row
from tests.bench.context import Context
from tests.support.events import event

BATCH = 2000
STEPS = ("payment.created", "payment.authorized", "payment.succeeded")


def _events(count: int) -> list[NormalizedEvent]:
    return [
        event(f"bench{n}", STEPS[n % 3], payment_id=f"pi_bench{n // 3}", seconds=n % 3)
        for n in range(count)
    ]


async def _fill(kafka: str, topic: str, events: list[NormalizedEvent]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", linger_ms=20)
    await producer.start()
    try:
        futures = [await producer.send(topic, e.to_json(), key=e.key.encode()) for e in events]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def _wait_rows(url: str, count: int, timeout: float) -> tuple[float, int, float, int]:
    """(time, rows) when the first rows appeared and when the count was reached (or timeout)."""
    first: tuple[float, int] | None = None
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            rows = int(conn.execute("SELECT count(*) FROM payment_events").fetchone()[0])  # type: ignore[index]
            now = time.monotonic()
            if rows and first is None:
                first = (now, rows)
            if rows >= count:
                break
            time.sleep(0.05)
    start = first or (time.monotonic(), 0)
    return start[0], start[1], time.monotonic(), rows


def _copy_baseline(url: str, events: list[NormalizedEvent]) -> float:
    rows = [row(e) for e in events]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        conn.execute("CREATE TABLE bench_copy (LIKE payment_events INCLUDING DEFAULTS)")
        started = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            with (
                conn.transaction(),
                conn.cursor() as cur,
                cur.copy(f"COPY bench_copy ({', '.join(_COLUMNS)}) FROM STDIN") as copy,
            ):
                for values in rows[i : i + BATCH]:
                    copy.write_row(values)
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE bench_copy")
    return len(rows) / elapsed


def run(ctx: Context) -> dict[str, Any]:
    count = 20_000 if ctx.quick else 300_000
    url = ctx.prepare_database()
    topics = ctx.topics("sink")
    events = _events(count)
    asyncio.run(_fill(ctx.kafka, topics.normalized, events))
    stack = ctx.stack(topics, "sink")
    try:
        stack.start("sink")
        t0, r0, t1, r1 = _wait_rows(url, count, max(120.0, count / 500))
    finally:
        stack.stop_all()
    sink_rate = (r1 - r0) / (t1 - t0) if t1 > t0 else 0.0
    baseline = _copy_baseline(url, events)
    ctx.prepare_database()  # leave it empty for the next bench
    return {
        "rows": count,
        "persisted": r1,
        "sink_rows_per_second": round(sink_rate, 1),
        "baseline_copy_rows_per_second": round(baseline, 1),
        "ratio": round(sink_rate / max(baseline, 1e-9), 3),
        "target": ">= 50,000 rows/s",
        "meets_target": sink_rate >= 50_000 and r1 >= count,
    }
