"""(d) End to end at fixed rates and the maximum sustainable rate; (e) memory of each service.

The three services run as processes (as `make up` runs them) on fresh topics and the bench
database. For each rate the load generator sends the default provider mix over HTTP for the
configured duration, then `verify` waits for the drain and reads end-to-end latency
(persisted_at - received_at) from PostgreSQL. A rate is sustainable when at least 95% of it was
accepted, nothing errored, every event balanced, and end-to-end p99 stayed under 5 s (the
pipeline keeps up instead of building a backlog). Memory: VmRSS after start-up (idle) and
VmHWM (peak) after all the runs, per service process.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ingress.loadgen import HttpSender, Report, deliveries, drive
from ingress.loadgen_verify import verify
from tests.bench.context import Context, rss_kib, traffic

FIXED_RATES = (500.0, 1000.0, 2000.0)
CONCURRENCY = 256


async def _at_rate(
    ctx: Context, stack: Any, topics: Any, rate: float, seconds: float
) -> dict[str, Any]:
    run_id = f"bench{int(rate)}r{id(stack) % 10_000}"
    generated = traffic(stack.env, run_id)
    report = Report(run=run_id, target="http")
    async with HttpSender(generated, stack.url, CONCURRENCY, 30.0) as send:
        await drive(
            deliveries(generated, None),
            send,
            report,
            rate=rate,
            duration=seconds,
            concurrency=CONCURRENCY,
        )
    balance = await verify(
        report, database_url=ctx.db_url, bootstrap=ctx.kafka, topics=topics, drain_timeout=30.0
    )
    summary, check = report.summary(), balance.summary(report.ledger)
    e2e = check["end_to_end_ms"]
    sustained = (
        summary["accepted_per_second"] >= 0.95 * rate
        and not summary["errors"]
        and check["ok"]
        and e2e.get("p99", 1e9) < 5000
    )
    return {
        "target_rate": rate,
        "accepted_per_second": summary["accepted_per_second"],
        "errors": summary["errors"],
        "http_latency_ms": summary["latency_ms"],
        "end_to_end_ms": e2e,
        "balanced": check["ok"],
        "problems": {k: v["count"] for k, v in check["problems"].items()},
        "drain_seconds": check["waited_seconds"],
        "sustainable": sustained,
    }


def run(ctx: Context) -> dict[str, Any]:
    rates: tuple[float, ...] = (50.0, 100.0) if ctx.quick else FIXED_RATES
    ctx.prepare_database()
    topics = ctx.topics("e2e")
    stack = ctx.stack(topics, "e2e")
    results: dict[str, Any] = {"rates": [], "seconds_per_rate": ctx.duration}
    try:
        stack.start_all()
        idle = {s: rss_kib(p.pid)["VmRSS"] for s, p in stack.procs.items()}
        for rate in rates:
            results["rates"].append(asyncio.run(_at_rate(ctx, stack, topics, rate, ctx.duration)))
        # Ramp past the fixed rates until a step is not sustainable.
        best = float(
            max((r["target_rate"] for r in results["rates"] if r["sustainable"]), default=0)
        )
        if best == rates[-1]:
            rate = float(rates[-1])
            for _ in range(1 if ctx.quick else 6):
                rate *= 1.25
                step = asyncio.run(_at_rate(ctx, stack, topics, rate, ctx.duration))
                results["rates"].append(step)
                if not step["sustainable"]:
                    break
                best = rate
        memory = {
            s: {
                "idle_mib": round(idle[s] / 1024, 1),
                "peak_mib": round(rss_kib(p.pid)["VmHWM"] / 1024, 1),
            }
            for s, p in stack.procs.items()
        }
    finally:
        stack.stop_all()
    by_rate = {r["target_rate"]: r for r in results["rates"]}
    at_1000 = by_rate.get(1000, {}).get("end_to_end_ms", {}).get("p99")
    results.update(
        max_sustainable_rate=best,
        memory=memory,
        target=">= 2,000 events/s sustained",
        meets_target=best >= 2000,
        latency_target="p99 end to end < 1 s at 1,000 events/s",
        meets_latency_target=at_1000 is not None and at_1000 < 1000,
    )
    return results
