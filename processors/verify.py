"""Verify a raw record and turn it into normalized events: pure, the clock inside the record.

The signature's time tolerance is measured against the moment ingress received the request
(its `received-at` header), so a record verified again from a retry tier or a DLQ replay hours
later is judged as it was when it arrived. Backfilled records were fetched from the provider's
API over TLS with the API key and carry no signature; they say so in a header ingress never sets.
"""

from __future__ import annotations

from collections.abc import Mapping

from processors.records import RawRecord
from schemas import headers as h
from schemas.config import Endpoint
from schemas.errors import PayloadInvalid
from schemas.normalized import NormalizedEvent, parse_rfc3339
from schemas.providers import get
from schemas.providers.base import RawMeta


def verify_webhook(record: RawRecord, endpoints: Mapping[str, Endpoint]) -> list[NormalizedEvent]:
    """The record's normalized events, or a PipelineError saying what happens next."""
    endpoint = endpoints.get(record.headers.get(h.ENDPOINT, ""))
    if endpoint is None:
        raise PayloadInvalid("The record names no configured endpoint.")
    received_at = record.headers.get(h.RECEIVED_AT)
    if not received_at:
        raise PayloadInvalid("The record has no received-at header.")
    try:
        received = parse_rfc3339(received_at)
    except ValueError as exc:
        raise PayloadInvalid("The record's received-at header is not RFC 3339.") from exc
    provider = get(endpoint.provider)
    http = h.provider_headers(record.headers)
    if record.headers.get(h.BACKFILLED) != "true":
        provider.verify(record.value, http, endpoint, received.timestamp())
    meta = RawMeta(endpoint=endpoint.name, received_at=received_at, raw=record.origin, headers=http)
    events = provider.normalize(record.value, meta)
    if not events:
        raise PayloadInvalid("The body holds no event.")
    return events
