"""`paypipe loadgen --verify`: wait until the pipeline drained, then check the balance.

Event by event, every event the pipeline answered for must end exactly once where it should:
persisted in `payment_events`, dead-lettered on `payments.dlq`, or rejected on
`payments.rejected` (matched by the run's request ids). End-to-end latency is
`persisted_at - received_at`: `persisted_at` is the writing transaction's `now()`, i.e. its
start, which approximates the commit by a few milliseconds.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ingress.loadgen import Entry, Outcome, Report, percentiles
from schemas import headers as h
from schemas.topics import Topics


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
