"""POST /webhooks/{endpoint}: check at the edge, publish the raw body, answer the provider.

Answers (the contract's HTTP table): 202 after Kafka acknowledged the raw record; 404 unknown
endpoint; 413 body over the limit; 400 signature headers missing or malformed; 401 wrong HMAC
signature (and a copy on `payments.rejected`); 503 with Retry-After when Kafka cannot take it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from aiohttp import web

from ingress import metrics
from ingress.limits import RateLimiter
from ingress.publisher import Publisher, Unavailable
from ingress.settings import IngressSettings
from schemas import headers as h
from schemas.config import Endpoint
from schemas.errors import SignatureInvalid, SignatureMissing
from schemas.normalized import rfc3339
from schemas.providers import Provider, get
from schemas.topics import Topics

logger = logging.getLogger(__name__)


def raw_key(endpoint: str, event_id: str | None, body: bytes) -> str:
    """`{endpoint}:{provider event id}`, or the body's SHA-256 when the provider gives no id."""
    return f"{endpoint}:{event_id or hashlib.sha256(body).hexdigest()}"


def raw_headers(
    endpoint: Endpoint,
    request_id: str,
    received_at: str,
    event_id: str | None,
    provider_headers: Mapping[str, str],
) -> h.Headers:
    record = {
        h.ENDPOINT: endpoint.name,
        h.PROVIDER: endpoint.provider,
        h.REQUEST_ID: request_id,
        h.RECEIVED_AT: received_at,
    }
    if event_id:
        record[h.EVENT_ID] = event_id
    record.update({h.http_header(k): v for k, v in provider_headers.items()})
    return h.encode(record)


class WebhookHandler:
    def __init__(self, settings: IngressSettings, publisher: Publisher) -> None:
        self._limiter = RateLimiter(settings.limits)
        self._log_events = settings.common.log_events
        self._body_timeout = settings.body_timeout_seconds
        self._source_header = settings.source_header
        self._endpoints = settings.common.endpoints
        self._topics = Topics(settings.common.topic_prefix)
        self._publisher = publisher
        self._retry_after = str(settings.retry_after_seconds)
        self._max_body = settings.max_body_bytes

    async def __call__(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        name = request.match_info["endpoint"]
        endpoint = self._endpoints.get(name)
        request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
        label = name if endpoint else "unknown"
        try:
            response = await self._receive(request, endpoint, request_id)
        except web.HTTPRequestEntityTooLarge:
            response = _error(413, "The body is over the limit.", request_id)
        metrics.REQUESTS.labels(label, str(response.status)).inc()
        metrics.REQUEST_SECONDS.labels(label).observe(time.perf_counter() - started)
        return response

    async def _receive(
        self, request: web.Request, endpoint: Endpoint | None, request_id: str
    ) -> web.Response:
        if endpoint is None:
            return _error(404, "No endpoint of that name is configured.", request_id)
        wait = self._limiter.check(endpoint.name, self._source(request), time.monotonic())
        if wait:
            return _error(
                429, "Too many requests; retry later.", request_id, {"Retry-After": str(wait)}
            )
        if (request.content_length or 0) > self._max_body:
            return _error(413, "The body is over the limit.", request_id)
        try:
            async with asyncio.timeout(self._body_timeout):
                body = await request.read()
        except TimeoutError:
            return _error(408, "The body did not arrive in time.", request_id)
        if len(body) > self._max_body:
            return _error(413, "The body is over the limit.", request_id)
        received = datetime.now(UTC)
        provider = get(endpoint.provider)
        wanted = {
            k.lower(): v
            for k, v in request.headers.items()
            if k.lower() in provider.signature_headers
        }
        event_id = provider.event_id(body, wanted)
        key = raw_key(endpoint.name, event_id, body).encode()
        record_headers = raw_headers(endpoint, request_id, rfc3339(received), event_id, wanted)
        log = {"request_id": request_id, "endpoint": endpoint.name, "provider": endpoint.provider}

        missing = [k for k in provider.signature_headers if k not in wanted]
        if missing:
            logger.info("Rejected a request without signature headers", extra=log)
            return _error(400, "The provider's signature headers are missing.", request_id)
        if provider.edge_verifiable:
            try:
                provider.verify(body, wanted, endpoint, received.timestamp())
            except SignatureMissing as exc:
                logger.info("Rejected a malformed signature: %s", exc, extra=log)
                return _error(400, str(exc), request_id)
            except SignatureInvalid as exc:
                logger.info("Rejected a wrong signature: %s", exc, extra=log)
                reason = h.encode(
                    {h.REASON: str(exc), h.STAGE: "ingress", h.ERROR_CLASS: type(exc).__name__}
                )
                await self._publisher.publish_quietly(
                    self._topics.rejected, key, body, record_headers + reason
                )
                return _error(401, "The signature does not match.", request_id)
        try:
            await self._publisher.publish(self._topics.raw, key, body, record_headers)
        except Unavailable as exc:
            logger.warning("Answered 503: %s", exc, extra=log)
            return _error(
                503,
                "Kafka cannot take the webhook now; retry later.",
                request_id,
                {"Retry-After": self._retry_after},
            )
        metrics.BODY_BYTES.labels(endpoint.name).observe(len(body))
        if self._log_events:
            logger.info("Accepted %s", key.decode(), extra={**log, "event_id": event_id})
        return _accepted(provider, request_id)

    def _source(self, request: web.Request) -> str:
        if self._source_header:
            forwarded = request.headers.get(self._source_header, "")
            # The last hop is the one our trusted proxy added; earlier ones are the client's word.
            return forwarded.rsplit(",", 1)[-1].strip() or (request.remote or "-")
        return request.remote or "-"


def _accepted(provider: Provider, request_id: str) -> web.Response:
    answer = getattr(provider, "ACCEPTED_RESPONSE", None)
    if answer is not None:  # Adyen wants exactly "[accepted]" with 200.
        status, text = answer
        return web.Response(status=status, text=text, headers={"X-Request-Id": request_id})
    return web.json_response(
        {"status": "accepted", "request_id": request_id},
        status=202,
        headers={"X-Request-Id": request_id},
    )


def _error(
    status: int, message: str, request_id: str, extra: Mapping[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error": message, "request_id": request_id},
        status=status,
        headers={"X-Request-Id": request_id, **(extra or {})},
    )
