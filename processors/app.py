"""The Faust application: `verify_webhooks` on payments.raw, one `retry_webhooks` agent per tier.

Faust acks a message whose agent raised and drops it, so no exception leaves these loops: each
record ends as normalized events, a retry-tier record, a dead letter or a rejected record, and
the loop waits for Kafka to acknowledge those before it moves on (the consumer commits offsets
only after flushing the producer). Agents run with concurrency=1: faust#606 can commit past an
in-flight message otherwise. Scale with partitions × worker processes.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import weakref
from collections.abc import Awaitable, Iterable
from typing import Any

import faust
from faust.streams import Stream, _current_event
from faust.types import EventT, TopicT

from processors import metrics
from processors.dead_letter import Route, dead_letter, reject, retry_later
from processors.records import RawRecord
from processors.settings import ProcessorSettings
from processors.verify import verify_webhook
from schemas import headers as h
from schemas.errors import PermanentError, SignatureError, error_class
from schemas.normalized import NormalizedEvent
from schemas.providers import paypal, paypal_certs
from schemas.topics import Topics
from schemas.workers import app_options

logger = logging.getLogger(__name__)

Outgoing = tuple[TopicT, bytes, bytes, h.Headers | None]


def create_app(settings: ProcessorSettings) -> faust.App:
    if not settings.common.is_prod:
        # Dev and test trust the dev PayPal certificate (file:// under the dev dir) and no other.
        paypal_certs.write_dev_certificate(settings.common.dev_dir / "paypal")
        paypal.install(paypal_certs.dev_trust(settings.common.dev_dir))
    longest_wait = max(settings.retry_delays) * 1.5 + 60.0
    app = faust.App(
        settings.app_id,
        **app_options(
            settings.common,
            partitions=settings.partitions,
            session_timeout=settings.session_timeout_seconds,
            stream_buffer=settings.stream_buffer,
            max_poll_records=settings.max_poll_records,
        ),
        store=settings.store,
        datadir=str(settings.data_dir),
        # A retry agent holds its record until the tier's delay (plus jitter) has passed: keep
        # Faust's watchdogs beyond the longest wait. The consumer thread keeps polling Kafka
        # meanwhile, so max.poll.interval is never reached (a test holds it to 10 s).
        broker_commit_livelock_soft_timeout=longest_wait,
        stream_processing_timeout=longest_wait,
        broker_max_poll_interval=settings.max_poll_interval_seconds,
        table_cleanup_interval=60.0,
        # Let the producer gather a batch's outputs (normalized events, changelog writes) into
        # few requests instead of one each.
        producer_linger=settings.producer_linger_seconds,
        producer_max_batch_size=1_000_000,
    )
    Pipeline(app, settings).install()
    return app


class Pipeline:
    """The topics, the dedupe table and the agents of one processor app."""

    def __init__(self, app: faust.App, settings: ProcessorSettings) -> None:
        self.app = app
        self.settings = settings
        self.endpoints = settings.common.endpoints
        self.names = Topics(settings.common.topic_prefix)
        self.raw = self._topic(self.names.raw)
        self.normalized = self._topic(self.names.normalized)
        self.rejected = self._topic(self.names.rejected)
        self.dlq = self._topic(self.names.dlq)
        self.tiers = {d: self._topic(self.names.retry(d)) for d in settings.retry_delays}
        # Keyed like payments.raw (`{endpoint}:{event id}`), so each write lands in the changelog
        # partition of its source partition. Holds the epoch second a key was first processed.
        # Keys expire after the dedupe window (providers retry for up to 3 days): locally through
        # RocksDB's TTL, in the changelog through compact,delete retention, and exactly through
        # the first-seen time each key holds. A restart replays only the changelog's tail.
        window = settings.dedupe_window_seconds
        self.seen = app.Table(
            "seen",
            default=int,
            key_type=bytes,
            value_type=int,
            partitions=settings.partitions,
            options={"ttl": window},
            extra_topic_configs={
                "cleanup.policy": "compact,delete",
                "retention.ms": str(window * 1000),
            },
            help="Raw-record keys already normalized (dedupe fast path; PostgreSQL is the guard).",
        )

    def _topic(self, name: str) -> TopicT:
        return self.app.topic(
            name, key_type=bytes, value_type=bytes, partitions=self.settings.partitions
        )

    def install(self) -> None:
        self.app.agent(self.raw, name="verify_webhooks", concurrency=1)(self.verify_webhooks)  # type: ignore[arg-type]  # agents get a concrete Stream; StreamT lacks take_events
        self.app.timer(5.0)(self._report_lag)
        for delay, topic in self.tiers.items():
            self.app.agent(topic, name=f"retry_webhooks_{delay}s", concurrency=1)(
                self._retry_agent(delay)
            )

    async def verify_webhooks(self, stream: Stream[bytes]) -> None:
        settings = self.settings
        async for events in stream.take_events(settings.batch_size, within=settings.batch_seconds):
            try:
                await self._handle_batch(stream, events)
            except Exception:  # only a bug gets here: never let faust ack and drop the batch
                logger.exception("A batch failed unexpectedly; handling its records one by one")
                for event in events:
                    await self._handle_batch(stream, [event], dedupe=False)

    async def _handle_batch(
        self, stream: Stream[bytes], events: Iterable[EventT[bytes]], dedupe: bool = True
    ) -> None:
        outgoing: list[Outgoing] = []
        fresh: list[tuple[EventT[bytes], bytes]] = []
        batch_keys: set[bytes] = set()
        now = time.time()
        for event in events:
            record = _record(event)
            if dedupe and (record.key in batch_keys or self._seen(stream, event, record.key)):
                metrics.DUPLICATES.labels(record.headers.get(h.PROVIDER, "unknown")).inc()
                metrics.EVENTS.labels("dedupe", "duplicate").inc()
                continue
            routed = self._process(record, now)
            outgoing.extend(routed)
            if routed and routed[0][0] is self.normalized:
                batch_keys.add(record.key)
                fresh.append((event, record.key))
        await self._deliver(outgoing)
        if self.settings.common.log_events:
            self._log_normalized(outgoing)
        for event, key in fresh:
            _bind(event)
            self.seen[key] = int(now)

    def _log_normalized(self, outgoing: list[Outgoing]) -> None:
        for topic, _, _, headers in outgoing:
            if topic is self.normalized and headers:
                trace = h.to_dict(headers)
                logger.info(
                    "Normalized",
                    extra={
                        "request_id": trace.get(h.REQUEST_ID),
                        "event_id": trace.get(h.EVENT_ID),
                    },
                )

    async def _report_lag(self) -> None:
        """Records written but not yet committed by this worker, per partition it reads."""
        monitor = self.app.monitor
        for tp, end in list(monitor.tp_end_offsets.items()):
            committed = monitor.tp_committed_offsets.get(tp, 0)
            metrics.LAG.labels(tp.topic, str(tp.partition)).set(max(0, end - committed))

    def _seen(self, stream: Stream[bytes], event: EventT[bytes], key: bytes) -> bool:
        _bind(event)
        first = self.seen.get(key, 0)
        return bool(first) and first > time.time() - self.settings.dedupe_window_seconds

    def _process(self, record: RawRecord, now: float, stage: str = "verify") -> list[Outgoing]:
        provider = record.headers.get(h.PROVIDER, "unknown")
        started = time.perf_counter()
        try:
            events = verify_webhook(record, self.endpoints)
        except SignatureError as exc:
            metrics.REJECTED.labels(provider, error_class(exc)).inc()
            metrics.EVENTS.labels(stage, "rejected").inc()
            logger.warning("Rejected: %s", exc, extra=record.log_fields())
            return [self._routed(reject(record, exc, self.names, now), record)]
        except PermanentError as exc:
            return [self._dead(record, exc, stage, now)]
        except Exception as exc:  # transient, or unexpected: both deserve another try
            return [self._retry(record, exc, stage, now)]
        metrics.VERIFY_SECONDS.labels(provider).observe(time.perf_counter() - started)
        metrics.EVENTS.labels(stage, "normalized").inc()
        return [(self.normalized, e.key.encode(), e.to_json(), _trace(record, e)) for e in events]

    def _dead(self, record: RawRecord, exc: BaseException, stage: str, now: float) -> Outgoing:
        metrics.DEAD_LETTERS.labels(stage, error_class(exc)).inc()
        metrics.EVENTS.labels(stage, "dead_letter").inc()
        logger.error("Dead-lettered: %s", exc, extra=record.log_fields())
        return self._routed(dead_letter(record, exc, stage, self.names, now), record)

    def _retry(self, record: RawRecord, exc: BaseException, stage: str, now: float) -> Outgoing:
        route = retry_later(
            record,
            exc,
            stage,
            self.names,
            self.settings.retry_delays,
            now,
            # Jitter spreads retries in time; nothing secret depends on it.
            jitter=random.random(),  # noqa: S311  # nosec B311
        )
        if route.kind == "dlq":
            return self._dead(record, exc, stage, now)
        metrics.RETRIES.labels(route.topic).inc()
        metrics.EVENTS.labels(stage, "retry").inc()
        logger.warning(
            "Will retry (attempt %d): %s",
            route.attempts,
            type(exc).__name__,
            extra=record.log_fields(),
        )
        return self._routed(route, record)

    def _routed(self, route: Route, record: RawRecord) -> Outgoing:
        topic = {self.names.rejected: self.rejected, self.names.dlq: self.dlq}.get(route.topic)
        if topic is None:
            topic = next(t for d, t in self.tiers.items() if self.names.retry(d) == route.topic)
        return (topic, record.key, record.value, route.headers)

    async def _deliver(self, outgoing: list[Outgoing]) -> None:
        """Send everything and wait until Kafka acknowledged each; resend until it does."""
        pending = [(item, await self._send(item)) for item in outgoing]
        delay = 0.5
        while pending:
            failed = []
            for item, future in pending:
                try:
                    await future
                except Exception as exc:
                    logger.warning(
                        "Kafka did not take a record (%s); resending", type(exc).__name__
                    )
                    failed.append(item)
            if failed:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            pending = [(item, await self._send(item)) for item in failed]

    async def _send(self, item: Outgoing) -> Awaitable[Any]:
        topic, key, value, headers = item
        return await topic.send(key=key, value=value, headers=headers)

    def _retry_agent(self, delay: int) -> Any:
        async def retry_webhooks(stream: Stream[bytes]) -> None:
            async for event in stream.events():
                try:
                    record = _record(event)
                    await _wait_until(float(record.headers.get(h.NOT_BEFORE, "0")))
                    await self._deliver(self._process(record, time.time(), stage="retry"))
                except Exception:
                    logger.exception("A retried record failed unexpectedly; sending it to the DLQ")
                    await self._deliver(
                        [self._dead(_record(event), RuntimeError(), "retry", time.time())]
                    )

        retry_webhooks.__name__ = f"retry_webhooks_{delay}s"
        return retry_webhooks


def _bind(event: EventT[bytes]) -> None:
    """Make `event` the one the dedupe table reads and writes for, in this task only.

    Tables pick their store and changelog partition from the `current_event()` context variable.
    Inside a `take_events` batch it names the batch's last event, so each record is bound in
    turn. Only the context variable, never the stream's `current_event`: take_events' buffer
    filler reads that attribute when it resumes, and changing it there attaches the wrong event
    to a new record, which is then acked without being processed.
    """
    _current_event.set(weakref.ref(event))


def _record(event: EventT[bytes]) -> RawRecord:
    message = event.message
    return RawRecord(
        key=message.key or b"",
        value=message.value or b"",
        headers=h.to_dict(message.headers),
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
    )


def _trace(record: RawRecord, event: NormalizedEvent) -> h.Headers:
    """Headers that let one webhook be followed from ingress to PostgreSQL."""
    return h.encode(
        {
            h.REQUEST_ID: record.headers.get(h.REQUEST_ID, ""),
            h.RECEIVED_AT: event.received_at,
            h.EVENT_ID: event.event_id,
        }
    )


async def _wait_until(due: float) -> None:
    # Sleep in short chunks so the worker stays responsive to shutdown and rebalances.
    while (left := due - time.time()) > 0:  # noqa: ASYNC110 - waiting for a time, not an event
        await asyncio.sleep(min(left, 5.0))
