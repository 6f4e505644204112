"""`paypipe loadgen`'s engine: send `Traffic` at a rate, count the answers, check the balance.

Open loop: with a target rate, request i is due at start + i / rate whatever happened to the
earlier ones, and its latency counts from when it was due (no coordinated omission); a bounded
number of requests is in flight. Without a rate it sends as fast as the concurrency allows.
`--target raw` produces to `payments.raw` with the key and headers ingress would write.

The balance check after a run lives in `ingress.loadgen_verify`.
"""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ingress.loadgen_events import Traffic
from ingress.loadgen_providers import Delivery
from schemas.config import Endpoint
from schemas.normalized import from_epoch
from schemas.providers import get
from schemas.topics import Topics

Outcome = Literal["persisted", "dead-lettered", "rejected"]
# What a sender reports: HTTP status (202 style) or 0 for a transport error.
Send = Callable[[Delivery], Awaitable[int]]


def percentiles(
    values: Sequence[float], qs: Sequence[float] = (50, 90, 99, 99.9)
) -> dict[str, float]:
    """Nearest-rank percentiles (`p50`, `p99`, …) and `max`; empty for no values."""
    if not values:
        return {}
    ordered = sorted(values)
    found = {f"p{q:g}": ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1] for q in qs}
    found["max"] = ordered[-1]
    return found


@dataclass
class Entry:
    """One logical event of the run and what the pipeline answered for it."""

    kind: str
    provider: str
    persisted_ids: tuple[str, ...]
    accepted: bool = False
    edge_rejected: bool = False
    errored: bool = False
    unexpected: bool = False

    @property
    def expected(self) -> Outcome:
        if self.kind == "poison":
            return "dead-lettered"
        if self.kind == "bad_signature":
            return "rejected"
        return "persisted"

    @property
    def answered(self) -> bool:
        return self.accepted or self.edge_rejected


@dataclass
class Report:
    """Counters of one run; `ledger` maps each logical event to its answers."""

    run: str
    target: str
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    late: int = 0
    latencies: list[float] = field(default_factory=list)
    started: float = 0.0
    elapsed: float = 0.0
    ledger: dict[str, Entry] = field(default_factory=dict)
    request_keys: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def record(self, delivery: Delivery, status: int, latency: float) -> None:
        self.sent += 1
        self.statuses[status] += 1
        self.kinds[delivery.kind] += 1
        self.late += delivery.late
        self.latencies.append(latency)
        entry = self.ledger.setdefault(
            delivery.key, Entry(delivery.kind, delivery.provider, delivery.persisted_ids)
        )
        self.request_keys[delivery.request_id] = delivery.key
        if 200 <= status < 300:
            self.accepted += 1
            entry.accepted = True
        elif status == 401:
            self.rejected += 1
            entry.edge_rejected = True
        elif 400 <= status < 500:
            self.rejected += 1
            entry.unexpected = True  # the generator never means to send a malformed request
        else:
            self.errors += 1
            entry.errored = True
        if delivery.kind == "bad_signature" and 200 <= status < 300:
            provider = get(delivery.provider)
            if provider.edge_verifiable and self.target == "http":
                entry.unexpected = True  # ingress should have refused it

    def summary(self) -> dict[str, Any]:
        seconds = max(self.elapsed, 1e-9)
        return {
            "run": self.run,
            "target": self.target,
            "sent": self.sent,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "errors": self.errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "kinds": dict(self.kinds),
            "out_of_order": self.late,
            "seconds": round(self.elapsed, 3),
            "sent_per_second": round(self.sent / seconds, 1),
            "accepted_per_second": round(self.accepted / seconds, 1),
            "latency_ms": {k: round(v * 1000, 2) for k, v in percentiles(self.latencies).items()},
            "notes": self.notes,
        }


def deliveries(traffic: Traffic, count: int | None) -> Iterator[Delivery]:
    for n, delivery in enumerate(traffic):
        if count is not None and n >= count:
            return
        yield delivery


async def drive(
    items: Iterator[Delivery],
    send: Send,
    report: Report,
    *,
    rate: float | None,
    duration: float | None,
    concurrency: int,
    progress: Callable[[Report], None] | None = None,
) -> Report:
    """Send `items` through `send`, open loop at `rate` (or as fast as possible), recording each
    answer in `report`, until `items` ends or `duration` seconds passed."""
    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(concurrency)
    pending: set[asyncio.Task[None]] = set()
    start = loop.time()
    report.started = time.time()

    async def one(delivery: Delivery, due: float) -> None:
        try:
            status = await send(delivery)
        except Exception:
            status = 0
        finally:
            slots.release()
        report.record(delivery, status, loop.time() - due)

    ticker = asyncio.create_task(_tick(report, progress, start)) if progress else None
    sent = 0
    try:
        for delivery in items:
            now = loop.time()
            if duration is not None and now - start >= duration:
                break
            due = now
            if rate:
                due = start + sent / rate
                if duration is not None and due - start >= duration:
                    break
                if due > now:
                    await asyncio.sleep(due - now)
            await slots.acquire()
            task = asyncio.create_task(one(delivery, due))
            pending.add(task)
            task.add_done_callback(pending.discard)
            sent += 1
        if pending:
            await asyncio.gather(*pending)
    finally:
        report.elapsed = loop.time() - start
        if ticker:
            ticker.cancel()
            progress(report)  # type: ignore[misc]  # set whenever ticker is
    return report


async def _tick(report: Report, progress: Callable[[Report], None] | None, start: float) -> None:
    loop = asyncio.get_running_loop()
    while progress is not None:
        await asyncio.sleep(1.0)
        report.elapsed = loop.time() - start
        progress(report)


def show_progress(report: Report) -> None:
    rate = report.sent / max(report.elapsed, 1e-9)
    tail = percentiles(report.latencies[-5000:], (99,)).get("p99", 0.0)
    sys.stderr.write(
        f"\r{report.elapsed:6.1f} s  sent {report.sent:,}  accepted {report.accepted:,}  "
        f"rejected {report.rejected:,}  errors {report.errors:,}  {rate:,.0f}/s  "
        f"p99 {tail * 1000:.0f} ms   "
    )
    sys.stderr.flush()


class HttpSender:
    """POST each delivery to ingress, as the provider would, with a bounded connection pool."""

    def __init__(self, traffic: Traffic, base_url: str, concurrency: int, timeout: float) -> None:
        self._traffic = traffic
        self._base = base_url.rstrip("/")
        self._concurrency = concurrency
        self._timeout = timeout
        self._session: Any = None

    async def __aenter__(self) -> HttpSender:
        import aiohttp

        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._concurrency),
            timeout=aiohttp.ClientTimeout(total=self._timeout),
        )
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._session.close()

    async def __call__(self, delivery: Delivery) -> int:
        body, headers = self._traffic.sign(delivery, time.time())
        headers["X-Request-Id"] = delivery.request_id
        url = f"{self._base}/webhooks/{delivery.endpoint}"
        async with self._session.post(url, data=body, headers=headers) as answer:
            await answer.read()
            return int(answer.status)


class RawSender:
    """Produce each delivery to `payments.raw` with the key and headers ingress would write."""

    def __init__(self, traffic: Traffic, bootstrap: str, topics: Topics) -> None:
        self._traffic = traffic
        self._bootstrap = bootstrap
        self._topic = topics.raw
        self._producer: Any = None

    async def __aenter__(self) -> RawSender:
        from aiokafka import AIOKafkaProducer

        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_batch_size=256 * 1024,
            client_id="paypipe-loadgen",
        )
        await self._producer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._producer.stop()

    async def __call__(self, delivery: Delivery) -> int:
        from ingress.webhooks import raw_headers, raw_key

        now = time.time()
        body, http = self._traffic.sign(delivery, now)
        endpoint: Endpoint = self._traffic.endpoints[delivery.endpoint]
        provider = get(endpoint.provider)
        wanted = {k.lower(): v for k, v in http.items() if k.lower() in provider.signature_headers}
        event_id = provider.event_id(body, wanted)
        headers = raw_headers(endpoint, delivery.request_id, from_epoch(now), event_id, wanted)
        key = raw_key(endpoint.name, event_id, body).encode()
        future = await self._producer.send(self._topic, value=body, key=key, headers=headers)
        await future
        return 202
