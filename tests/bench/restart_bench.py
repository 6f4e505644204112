"""(f) Processor restart time with a dedupe table of 1 million keys.

The dedupe table's changelog is filled directly (its records are `key → epoch seconds`, keyed
like payments.raw, so each lands in its source partition). Restart time is from spawning the
worker to the first normalized record of a probe event produced just before: the moment it
processes again. Cold: no local state, the changelog is replayed. Warm: the RocksDB state left
by the cold start, only the changelog's tail is read.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaProducer

from ingress.loadgen import RawSender, Report, deliveries, drive
from processors.topics import TopicSpec, create_topics
from tests.bench.context import PARTITIONS, Context, count_records, traffic


async def _fill_changelog(kafka: str, topic: str, keys: int) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka, acks=1, linger_ms=50, max_batch_size=1 << 20
    )
    await producer.start()
    value = str(int(time.time())).encode()
    try:
        pending = []
        for n in range(keys):
            pending.append(
                await producer.send(topic, value, key=f"stripe:evt_benchseen{n}".encode())
            )
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def _probe(ctx: Context, topics: Any, run_id: str) -> None:
    generated = traffic(None, run_id, {"stripe": 1.0})
    async with RawSender(generated, ctx.kafka, topics) as send:
        await drive(
            deliveries(generated, 1),
            send,
            Report(run=run_id, target="raw"),
            rate=None,
            duration=None,
            concurrency=1,
        )


def _restart(ctx: Context, stack: Any, topics: Any, probes: int) -> float:
    asyncio.run(_probe(ctx, topics, f"benchprobe{probes}"))
    started = time.monotonic()
    stack.start("processor")
    asyncio.run(count_records(ctx.kafka, topics.normalized, probes, 600))
    return time.monotonic() - started


def run(ctx: Context) -> dict[str, Any]:
    keys = 20_000 if ctx.quick else 1_000_000
    topics = ctx.topics("restart")
    stack = ctx.stack(topics, "restart")
    changelog = f"{stack.env['PAYPIPE_PROCESSOR_ID']}-seen-changelog"
    asyncio.run(create_topics(ctx.kafka, [TopicSpec(changelog, PARTITIONS, 7 * 24 * 3_600_000)]))
    filled = time.monotonic()
    asyncio.run(_fill_changelog(ctx.kafka, changelog, keys))
    fill_seconds = time.monotonic() - filled
    try:
        cold = _restart(ctx, stack, topics, 1)
        stack.stop_all()
        warm = _restart(ctx, stack, topics, 2)
    finally:
        stack.stop_all()
    return {
        "dedupe_keys": keys,
        "changelog_fill_seconds": round(fill_seconds, 1),
        "cold_restart_seconds": round(cold, 2),
        "warm_restart_seconds": round(warm, 2),
    }
