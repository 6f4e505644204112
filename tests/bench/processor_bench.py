"""(b) Processor: events per second of one worker process, against a raw aiokafka loop.

A raw topic is filled with signed Stripe records first; then one processor worker, and
separately the baseline loop (tests/bench/raw_loop.py), each work through all of them. Both
rates come from the timestamps of their output records (first to last), so start-up and
consumer-group joins are not counted. Ratio: processor / baseline.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

from ingress.loadgen import RawSender, Report, deliveries, drive
from processors.topics import TopicSpec, create_topics
from tests.bench.context import PARTITIONS, Context, count_records, rate_from_stamps, traffic
from tests.support.services import ROOT


async def _fill(ctx: Context, topics: Any, count: int) -> None:
    generated = traffic(None, "benchproc", {"stripe": 1.0})
    report = Report(run="benchproc", target="raw")
    async with RawSender(generated, ctx.kafka, topics) as send:
        await drive(
            deliveries(generated, count), send, report, rate=None, duration=None, concurrency=2000
        )
    if report.accepted != count:
        raise RuntimeError(f"Only {report.accepted} of {count} raw records were written.")


def run(ctx: Context) -> dict[str, Any]:
    count = 5_000 if ctx.quick else 100_000
    topics = ctx.topics("processor")
    out = TopicSpec(f"{topics.prefix}.baseline", PARTITIONS, 3_600_000)
    asyncio.run(create_topics(ctx.kafka, [out]))
    asyncio.run(_fill(ctx, topics, count))
    timeout = max(120.0, count / 200)

    stack = ctx.stack(topics, "processor")
    try:
        stack.start("processor")
        stamps = asyncio.run(count_records(ctx.kafka, topics.normalized, count, timeout))
    finally:
        stack.stop_all()
    processor_rate = rate_from_stamps(stamps)

    subprocess.run(
        [sys.executable, "-m", "tests.bench.raw_loop", ctx.kafka, topics.raw, out.name, str(count)],
        cwd=ROOT,
        env=stack.env,
        timeout=timeout,
        check=True,
    )
    base_stamps = asyncio.run(count_records(ctx.kafka, out.name, count, 30))
    baseline_rate = rate_from_stamps(base_stamps)
    return {
        "events": count,
        "processor_events_per_second": round(processor_rate, 1),
        "processor_completed": len(stamps),
        "baseline_events_per_second": round(baseline_rate, 1),
        "ratio": round(processor_rate / max(baseline_rate, 1e-9), 3),
        "workers": 1,
        "target": ">= 5,000 events/s per worker",
        "meets_target": processor_rate >= 5000 and len(stamps) >= count,
    }
