"""(a) Ingress: accepted requests per second and latency, against a bare aiohttp handler.

Both servers get the same signed Stripe requests, as fast as a fixed number of connections
allows, from this process, one after the other in the same session; the ratio is
ingress / bare.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import urllib.request
from typing import Any

from ingress.loadgen import HttpSender, Report, deliveries, drive
from tests.bench.context import Context, traffic
from tests.support.services import ROOT
from tests.support.stack import free_port

CONCURRENCY = 64


async def _hammer(url: str, seconds: float, run: str) -> dict[str, Any]:
    generated = traffic(None, run, {"stripe": 1.0})
    report = Report(run=run, target="http")
    async with HttpSender(generated, url, CONCURRENCY, 30.0) as send:
        await drive(
            deliveries(generated, None),
            send,
            report,
            rate=None,
            duration=seconds,
            concurrency=CONCURRENCY,
        )
    summary = report.summary()
    return {
        "accepted_per_second": summary["accepted_per_second"],
        "errors": report.errors + report.rejected,
        "latency_ms": summary["latency_ms"],
    }


def _wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not become ready")


def run(ctx: Context) -> dict[str, Any]:
    seconds = ctx.duration
    port = free_port()
    bare = subprocess.Popen([sys.executable, "-m", "tests.bench.bare_ingress", str(port)], cwd=ROOT)
    stack = ctx.stack(ctx.topics("ingress"), "ingress")
    try:
        bare_url = f"http://127.0.0.1:{port}"
        _wait_ready(bare_url)
        stack.start("ingress")
        warm = min(2.0, seconds / 3)
        asyncio.run(_hammer(bare_url, warm, "benchwarmbare"))
        asyncio.run(_hammer(stack.url, warm, "benchwarmingress"))
        baseline = asyncio.run(_hammer(bare_url, seconds, "benchbare"))
        measured = asyncio.run(_hammer(stack.url, seconds, "benchingress"))
    finally:
        bare.terminate()
        bare.wait(10)
        stack.stop_all()
    ratio = measured["accepted_per_second"] / max(baseline["accepted_per_second"], 1e-9)
    return {
        "ingress": measured,
        "baseline": baseline,
        "ratio": round(ratio, 3),
        "concurrency": CONCURRENCY,
        "seconds": seconds,
        "target": ">= 0.60 of the bare handler",
        "meets_target": ratio >= 0.6,
    }
