"""The Kafka side of ingress: one idempotent producer, bounded, that says when it is ready.

A webhook is answered 202 only after Kafka acknowledged its raw record with acks=all. When the
broker is unreachable or too many records wait for acknowledgement, `publish` raises
`Unavailable` and the handler answers 503: memory stays bounded and nothing is half-written
(a timed-out send may still land, which downstream dedupe absorbs).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from ingress import metrics

logger = logging.getLogger(__name__)

Headers = list[tuple[str, bytes]]


class Unavailable(Exception):
    """Kafka cannot take the record now; the provider should retry later."""


class Publisher:
    def __init__(
        self,
        bootstrap_servers: str,
        *,
        max_in_flight: int,
        send_timeout: float,
        linger_ms: int,
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._max_in_flight = max_in_flight
        self._send_timeout = send_timeout
        self._linger_ms = linger_ms
        self._producer: AIOKafkaProducer | None = None
        self._in_flight = 0
        self._ready = False
        self._watch: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        return self._ready

    async def start(self) -> None:
        """Connect in the background: ingress serves (503) while Kafka is still away."""
        self._watch = asyncio.create_task(self._keep_connected(), name="kafka-connect")

    async def stop(self) -> None:
        if self._watch:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self._producer is not None:
            await self._producer.stop()
        self._ready = False

    async def _keep_connected(self) -> None:
        delay = 0.5
        while self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self._bootstrap,
                acks="all",
                enable_idempotence=True,
                linger_ms=self._linger_ms,
                max_batch_size=256 * 1024,
                request_timeout_ms=int(self._send_timeout * 1000),
                client_id="paypipe-ingress",
            )
            try:
                await producer.start()
            except KafkaError as exc:
                logger.warning(
                    "Kafka is not reachable (%s); retrying in %.1f s", type(exc).__name__, delay
                )
                with contextlib.suppress(Exception):
                    await producer.stop()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            self._producer = producer
        logger.info("Kafka producer connected to %s", self._bootstrap)
        # Readiness follows the broker: a metadata round trip every few seconds.
        while True:
            try:
                await asyncio.wait_for(self._producer.client.fetch_all_metadata(), timeout=5)
                self._ready = True
            except (KafkaError, TimeoutError):
                if self._ready:
                    logger.warning("Kafka stopped answering metadata requests")
                self._ready = False
            await asyncio.sleep(2 if self._ready else 0.5)

    async def publish(self, topic: str, key: bytes, value: bytes, headers: Headers) -> None:
        """Send one record and wait for acks=all, or raise Unavailable."""
        producer = self._producer
        if producer is None:
            raise Unavailable("The Kafka producer is not connected.")
        if self._in_flight >= self._max_in_flight:
            raise Unavailable("Too many records wait for Kafka's acknowledgement.")
        self._in_flight += 1
        metrics.IN_FLIGHT.set(self._in_flight)
        started = time.perf_counter()
        try:
            future = await producer.send(topic, value=value, key=key, headers=headers)
            await asyncio.wait_for(future, timeout=self._send_timeout)
        except (KafkaError, TimeoutError) as exc:
            raise Unavailable(
                f"Kafka did not acknowledge the record ({type(exc).__name__})."
            ) from exc
        finally:
            self._in_flight -= 1
            metrics.IN_FLIGHT.set(self._in_flight)
        metrics.SEND_SECONDS.observe(time.perf_counter() - started)

    async def publish_quietly(self, topic: str, key: bytes, value: bytes, headers: Headers) -> None:
        """Best effort, for copies (rejected requests) whose loss must not fail the answer."""
        try:
            await self.publish(topic, key, value, headers)
        except Unavailable as exc:
            logger.warning("A copy for %s was not written: %s", topic, exc)
