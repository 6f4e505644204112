"""`paypipe loadgen`'s engine: send `Traffic` at a rate, count the answers, check the balance.

Open loop: with a target rate, request i is due at start + i / rate whatever happened to the
earlier ones, and its latency counts from when it was due (no coordinated omission); a bounded
number of requests is in flight. Without a rate it sends as fast as the concurrency allows.
`--target raw` produces to `payments.raw` with the key and headers ingress would write.

`verify` waits until the pipeline has drained and checks, event by event, that every event the
pipeline answered for ended exactly once where it should: persisted in `payment_events`,
dead-lettered on `payments.dlq`, or rejected on `payments.rejected` (matched by the run's
request ids). End-to-end latency is `persisted_at - received_at`: `persisted_at` is the writing
transaction's `now()`, i.e. its start, which approximates the commit by a few milliseconds.
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

from ingress.loadgen_events import Delivery, Traffic
from schemas import headers as h
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


@dataclass
class Balance:
    """What `verify` found: each answered event's observed outcomes against its expected one."""

    answered: int = 0
    accepted: int = 0
    edge_rejected: int = 0
    outcomes: dict[str, set[Outcome]] = field(default_factory=dict)
    stages: Counter[str] = field(default_factory=Counter)
    e2e: list[float] = field(default_factory=list)
    unexpected_answers: int = 0
    waited: float = 0.0

    def count(self, outcome: Outcome, keys: dict[str, Entry]) -> int:
        return sum(1 for k in keys if outcome in self.outcomes.get(k, ()))

    def problems(self, ledger: dict[str, Entry]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {"missing": [], "misplaced": [], "doubled": [], "stray": []}
        for key, entry in ledger.items():
            seen = self.outcomes.get(key, set())
            if not entry.answered:
                if seen and entry.kind != "bad_signature":
                    found["stray"].append(key)  # an errored request that landed anyway
                continue
            if not seen:
                found["missing"].append(key)
            elif len(seen) > 1:
                found["doubled"].append(key)
            elif entry.expected not in seen:
                found["misplaced"].append(key)
        return found

    def summary(self, ledger: dict[str, Entry]) -> dict[str, Any]:
        answered = {k: e for k, e in ledger.items() if e.answered}
        issues = self.problems(ledger)
        failing = {k: v for k, v in issues.items() if v and k != "stray"}
        ok = not failing and not self.unexpected_answers
        return {
            "ok": ok,
            "answered": len(answered),
            "accepted": sum(e.accepted for e in answered.values()),
            "edge_rejected": sum(e.edge_rejected for e in answered.values()),
            "persisted": self.count("persisted", answered),
            "dead_lettered": self.count("dead-lettered", answered),
            "rejected": self.count("rejected", answered),
            "rejected_by_stage": dict(self.stages),
            "problems": {k: {"count": len(v), "sample": v[:5]} for k, v in issues.items() if v},
            "unexpected_answers": self.unexpected_answers,
            "waited_seconds": round(self.waited, 1),
            "end_to_end_ms": {k: round(v * 1000, 1) for k, v in percentiles(self.e2e).items()},
        }


async def verify(
    report: Report,
    *,
    database_url: str,
    bootstrap: str,
    topics: Topics,
    drain_timeout: float = 60.0,
    poll: float = 1.0,
) -> Balance:
    """Wait until every answered event has an outcome (or nothing moved for `drain_timeout`
    seconds), then return what landed where."""
    import psycopg
    from aiokafka import AIOKafkaConsumer, TopicPartition

    balance = Balance(unexpected_answers=sum(e.unexpected for e in report.ledger.values()))
    owner = {pid: key for key, e in report.ledger.items() for pid in e.persisted_ids}
    wanted = {k for k, e in report.ledger.items() if e.answered}
    prefix = f"{report.run}-"
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    started = time.monotonic()
    try:
        parts = [
            TopicPartition(t, p)
            for t in (topics.dlq, topics.rejected)
            for p in (consumer.partitions_for_topic(t) or await _partitions(consumer, t))
        ]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            last_progress, known, settled = time.monotonic(), 0, False
            while True:
                await _read_failures(consumer, report, balance, prefix)
                await _read_rows(conn, owner, balance)
                done = sum(1 for k in wanted if balance.outcomes.get(k))
                if done == len(wanted):
                    if settled:  # one more look for late doubles, then stop
                        break
                    settled = True
                if done != known:
                    known, last_progress = done, time.monotonic()
                elif time.monotonic() - last_progress > drain_timeout:
                    break
                await asyncio.sleep(poll)
    finally:
        await consumer.stop()
    balance.waited = time.monotonic() - started
    return balance


async def _partitions(consumer: Any, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()
    return set(consumer.partitions_for_topic(topic) or ())


async def _read_failures(consumer: Any, report: Report, balance: Balance, prefix: str) -> None:
    """Consume the DLQ and rejected topics up to their current end."""
    while True:
        batch = await consumer.getmany(timeout_ms=200, max_records=5000)
        if not batch:
            return
        for tp, records in batch.items():
            outcome: Outcome = "dead-lettered" if tp.topic.endswith(".dlq") else "rejected"
            for record in records:
                headers = h.to_dict(record.headers)
                key = report.request_keys.get(headers.get(h.REQUEST_ID, ""))
                if key is None or not headers.get(h.REQUEST_ID, "").startswith(prefix):
                    continue
                if outcome not in balance.outcomes.setdefault(key, set()) and outcome == "rejected":
                    balance.stages[headers.get(h.STAGE, "unknown")] += 1
                balance.outcomes[key].add(outcome)


async def _read_rows(conn: Any, owner: dict[str, str], balance: Balance) -> None:
    """Find the run's events in payment_events that were not found yet."""
    found = {k for k, seen in balance.outcomes.items() if "persisted" in seen}
    ids = [pid for pid, key in owner.items() if key not in found]
    if not ids:
        return
    cursor = await conn.execute(
        "SELECT event_id, EXTRACT(EPOCH FROM persisted_at - received_at)::float8"
        " FROM payment_events WHERE event_id = ANY(%s)",
        (ids,),
    )
    for event_id, latency in await cursor.fetchall():
        key = owner[event_id]
        if "persisted" not in balance.outcomes.setdefault(key, set()):
            balance.e2e.append(float(latency))
        balance.outcomes[key].add("persisted")
