"""Missed-event recovery: list Stripe's events, publish the ones paypipe never stored to raw.

`GET {api_base}/v1/events?created[gte]=…&limit=…&starting_after=…` with the endpoint's API key
(Bearer), newest first, page after page while `has_more`, at most `rate` requests a second,
retrying 429 and 5xx answers with backoff. An event is new when `payment_events` has no row
`stripe:{id}`; new events go to the raw topic keyed and headed exactly as ingress would, plus
`paypipe-backfilled: true`: they carry no signature because they were fetched over TLS with the
API key, and the processor skips verification for them (a header ingress never sets).

The list response embeds each event object; the raw value is that single object serialized
again with `json.dumps` (the bytes Stripe would have posted are not available from the API).
An event already in flight when backfill runs may be published twice: dedupe and the
database's unique key keep it once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import psycopg
from aiokafka import AIOKafkaProducer

from ingress.webhooks import raw_headers, raw_key
from schemas import headers as h
from schemas.config import Endpoint
from schemas.normalized import rfc3339

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.stripe.com"
_RETRIED = frozenset({429, 500, 502, 503, 504})


class BackfillError(Exception):
    """Backfill cannot go on; the message says why, never with the key."""


@dataclass(frozen=True, slots=True)
class Summary:
    listed: int
    seen: int
    published: int
    pages: int


class RateLimit:
    """At most `per_second` calls a second: each waits until its slot comes."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 1.0 / per_second if per_second > 0 else 0.0
        self._clock = clock
        self._next = 0.0

    def delay(self) -> float:
        """Seconds to wait before the next call, and reserve its slot."""
        now = self._clock()
        wait = max(0.0, self._next - now)
        self._next = max(now, self._next) + self._interval
        return wait

    async def wait(self) -> None:
        pause = self.delay()
        if pause:
            await asyncio.sleep(pause)


def page_params(since: int, limit: int, starting_after: str | None) -> dict[str, str]:
    params = {"created[gte]": str(since), "limit": str(limit)}
    if starting_after:
        params["starting_after"] = starting_after
    return params


def backfill_headers(endpoint: Endpoint, event_id: str, received: datetime) -> h.Headers:
    """The raw headers ingress would write, marked as backfilled."""
    base = raw_headers(endpoint, f"backfill-{uuid.uuid4().hex}", rfc3339(received), event_id, {})
    return [*base, (h.BACKFILLED, b"true")]


async def list_events(
    session: aiohttp.ClientSession,
    endpoint: Endpoint,
    since: int,
    *,
    limit: int = 100,
    limiter: RateLimit,
    attempts: int = 5,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Pages of events created at or after `since` (Unix seconds), newest first."""
    if endpoint.api_key is None:
        raise BackfillError(f"Endpoint {endpoint.name!r} has no api_key in the config.")
    base = str(endpoint.options.get("api_base", DEFAULT_API_BASE)).rstrip("/")
    auth = {"Authorization": f"Bearer {endpoint.api_key.reveal()}"}
    after: str | None = None
    while True:
        page = await _get(
            session, f"{base}/v1/events", page_params(since, limit, after), auth, limiter, attempts
        )
        data = page.get("data")
        if not isinstance(data, list):
            raise BackfillError("The events API answered without a data list.")
        events = [e for e in data if isinstance(e, dict) and isinstance(e.get("id"), str)]
        yield events
        if not page.get("has_more") or not events:
            return
        after = events[-1]["id"]


async def _get(
    session: aiohttp.ClientSession,
    url: str,
    params: Mapping[str, str],
    headers: Mapping[str, str],
    limiter: RateLimit,
    attempts: int,
) -> dict[str, Any]:
    backoff = 1.0
    for attempt in range(1, attempts + 1):
        await limiter.wait()
        try:
            async with session.get(url, params=params, headers=headers) as answer:
                if answer.status == 200:
                    body = await answer.json(content_type=None)
                    if not isinstance(body, dict):
                        raise BackfillError("The events API answered with no JSON object.")
                    return body
                if answer.status in (401, 403):
                    raise BackfillError("The events API refused the endpoint's API key.")
                if answer.status not in _RETRIED:
                    raise BackfillError(f"The events API answered {answer.status}.")
                problem = f"status {answer.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            problem = type(exc).__name__
        if attempt == attempts:
            raise BackfillError(f"The events API failed {attempts} times ({problem}).")
        logger.warning("The events API failed (%s); retrying in %.1f s", problem, backoff)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, 30.0)
    raise BackfillError("The events API was not asked.")  # attempts < 1


def stored_event_ids(conn: psycopg.Connection[Any], provider: str, ids: list[str]) -> set[str]:
    """The provider event ids of `ids` that payment_events already holds."""
    wanted = [f"{provider}:{i}" for i in ids]
    rows = conn.execute(
        "SELECT event_id FROM payment_events WHERE event_id = ANY(%s)", (wanted,)
    ).fetchall()
    prefix = len(provider) + 1
    return {r[0][prefix:] for r in rows}


async def backfill(
    endpoint: Endpoint,
    since: int,
    *,
    database_url: str,
    bootstrap_servers: str,
    raw_topic: str,
    limit: int = 100,
    rate: float = 20.0,
    dry_run: bool = False,
    until: int | None = None,
) -> Summary:
    """List the endpoint's events since `since` and publish the unseen ones to `raw_topic`."""
    if endpoint.provider != "stripe":
        raise BackfillError(f"Endpoint {endpoint.name!r} is not a Stripe endpoint.")
    limiter = RateLimit(rate)
    listed = seen = published = pages = 0
    producer = None
    if not dry_run:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            client_id="paypipe-backfill",
        )
        await producer.start()
    timeout = aiohttp.ClientTimeout(total=60)
    try:
        with psycopg.connect(database_url) as conn:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async for events in list_events(
                    session, endpoint, since, limit=limit, limiter=limiter
                ):
                    pages += 1
                    wanted = [
                        e for e in events if until is None or int(e.get("created", 0)) < until
                    ]
                    listed += len(wanted)
                    known = stored_event_ids(conn, endpoint.provider, [e["id"] for e in wanted])
                    seen += len(known)
                    for event in wanted:
                        if event["id"] in known:
                            continue
                        if producer is not None:
                            await _publish(producer, endpoint, raw_topic, event)
                        published += 1
    finally:
        if producer is not None:
            await producer.stop()
    return Summary(listed=listed, seen=seen, published=published, pages=pages)


async def _publish(
    producer: AIOKafkaProducer, endpoint: Endpoint, topic: str, event: dict[str, Any]
) -> None:
    body = json.dumps(event).encode()
    key = raw_key(endpoint.name, event["id"], body).encode()
    headers = backfill_headers(endpoint, event["id"], datetime.now(UTC))
    await producer.send_and_wait(topic, value=body, key=key, headers=headers)
    logger.info("Backfilled %s", key.decode())
