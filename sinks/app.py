"""The sink's Faust application: `persist_events` on payments.normalized.

Batches (`take_events`, bounded in size and time) are written in one transaction each. While
PostgreSQL is down the agent holds its batch and retries with backoff, so the stream stops
consuming and nothing is lost or dead-lettered. A record that cannot be written (bad data, not
an outage) is isolated by writing the batch one by one and goes to the DLQ, stage `sink`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import faust
import psycopg
from faust.streams import Stream
from faust.types import EventT
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from schemas import headers as h
from schemas.errors import error_class
from schemas.failures import failure_context
from schemas.normalized import NormalizedEvent
from schemas.topics import Topics
from schemas.workers import app_options
from sinks import metrics
from sinks.settings import SinkSettings
from sinks.writer import Written, write_batch

logger = logging.getLogger(__name__)

# Errors that mean "the database is away", not "this row is bad".
_OUTAGE = (psycopg.OperationalError, psycopg.errors.AdminShutdown, psycopg.errors.CannotConnectNow)


def create_app(settings: SinkSettings) -> faust.App:
    app = faust.App(
        settings.app_id,
        **app_options(
            settings.common,
            partitions=settings.partitions,
            session_timeout=settings.session_timeout_seconds,
            stream_buffer=settings.stream_buffer,
            max_poll_records=settings.max_poll_records,
        ),
        store="memory://",
        # An outage holds a batch for as long as the database is away.
        broker_commit_livelock_soft_timeout=3600.0,
        stream_processing_timeout=3600.0,
    )
    Sink(app, settings).install()
    return app


class Sink:
    def __init__(self, app: faust.App, settings: SinkSettings) -> None:
        self.app = app
        self.settings = settings
        names = Topics(settings.common.topic_prefix)
        self.normalized = app.topic(names.normalized, key_type=bytes, value_type=bytes)
        self.dlq = app.topic(names.dlq, key_type=bytes, value_type=bytes)
        self.pool = AsyncConnectionPool(
            settings.common.database_url,
            min_size=1,
            max_size=2,
            open=False,
            kwargs={"autocommit": True},
            reconnect_timeout=0,
        )

    def install(self) -> None:
        self.app.agent(self.normalized, name="persist_events", concurrency=1)(self.persist_events)  # type: ignore[arg-type]  # agents get a concrete Stream; StreamT lacks take_events

    async def persist_events(self, stream: Stream[bytes]) -> None:
        async for events in stream.take_events(
            self.settings.batch_size, within=self.settings.batch_seconds
        ):
            try:
                await self._persist(list(events))
            except Exception:  # a bug: never let faust ack and drop the batch
                logger.exception("A batch failed unexpectedly; dead-lettering it record by record")
                for event in events:
                    await self._dead_letter(event, RuntimeError("unexpected sink failure"))

    async def _persist(self, events: list[EventT[bytes]]) -> None:
        parsed: list[tuple[EventT[bytes], NormalizedEvent]] = []
        for event in events:
            try:
                parsed.append((event, NormalizedEvent.from_json(event.message.value or b"")))
            except Exception as exc:
                await self._dead_letter(event, exc)
        if not parsed:
            return
        # _write rides out outages itself: what reaches here is PostgreSQL refusing the data.
        try:
            await self._write([p[1] for p in parsed], [p[0].message.value or b"" for p in parsed])
        except psycopg.Error as exc:
            logger.warning(
                "A batch was refused (%s); writing its records one by one", error_class(exc)
            )
            for event, normalized in parsed:
                try:
                    await self._write([normalized], [event.message.value or b""])
                except psycopg.Error as single:
                    await self._dead_letter(event, single)
                    continue
                self._log_persisted([(event, normalized)])
            return
        self._log_persisted(parsed)

    def _log_persisted(self, written: list[tuple[EventT[bytes], NormalizedEvent]]) -> None:
        if not self.settings.common.log_events:
            return
        for event, normalized in written:
            trace = h.to_dict(event.message.headers)
            logger.info(
                "Persisted",
                extra={"request_id": trace.get(h.REQUEST_ID), "event_id": normalized.event_id},
            )

    async def _write(
        self, batch: Sequence[NormalizedEvent], documents: Sequence[bytes] | None = None
    ) -> Written:
        """Write, riding out database outages: the stream waits instead of dropping."""
        if self.pool.closed:
            await self.pool.open(wait=False)
        delay = 0.5
        while True:
            started = time.perf_counter()
            try:
                async with self.pool.connection(timeout=10) as conn:
                    written = await write_batch(conn, batch, documents)
            except (*_OUTAGE, TimeoutError, PoolTimeout) as exc:
                metrics.DB_ERRORS.labels(error_class(exc)).inc()
                logger.warning(
                    "PostgreSQL is unavailable (%s); retrying in %.1f s", error_class(exc), delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 15.0)
                continue
            except psycopg.Error as exc:
                metrics.DB_ERRORS.labels(error_class(exc)).inc()
                raise
            committed = time.time()
            metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
            metrics.BATCH_SIZE.observe(len(batch))
            metrics.ROWS.labels("payment_events").inc(written.inserted)
            metrics.ROWS.labels("payments").inc(written.payments)
            for received in written.received_at:
                metrics.END_TO_END.observe(max(0.0, committed - received))
            return written

    async def _dead_letter(self, event: EventT[bytes], exc: BaseException) -> None:
        message = event.message
        previous = failure_context(
            h.to_dict(message.headers),
            exc,
            "sink",
            f"{message.topic}[{message.partition}]@{message.offset}",
            time.time(),
            message=f"The sink could not write the event ({error_class(exc)}).",
        )
        logger.error(
            "Dead-lettered a normalized event: %s",
            error_class(exc),
            extra={"request_id": previous.get(h.REQUEST_ID), "event_id": previous.get(h.EVENT_ID)},
        )
        future = await self.dlq.send(
            key=message.key, value=message.value, headers=h.encode(previous)
        )
        await future
