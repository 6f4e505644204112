"""Kafka header names carried by raw, retry, dead-letter and rejected records.

Values are UTF-8 bytes. Provider headers that verification needs are copied as
`http-<lower-case header name>`, so a record can be verified again long after the request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

ENDPOINT = "paypipe-endpoint"
PROVIDER = "paypipe-provider"
REQUEST_ID = "paypipe-request-id"
RECEIVED_AT = "paypipe-received-at"  # RFC 3339 UTC with microseconds
EVENT_ID = "paypipe-event-id"
BACKFILLED = "paypipe-backfilled"

# Failure context, added by retry tiers, the dead-letter and the rejected routes.
ATTEMPTS = "paypipe-attempts"
FIRST_FAILURE_AT = "paypipe-first-failure-at"
LAST_FAILURE_AT = "paypipe-last-failure-at"
ERROR_CLASS = "paypipe-error-class"
ERROR_MESSAGE = "paypipe-error-message"
STAGE = "paypipe-stage"
REASON = "paypipe-reason"
NOT_BEFORE = "paypipe-not-before"  # epoch seconds: a retry record waits until then
SOURCE = "paypipe-source"  # topic[partition]@offset of the record it came from

HTTP_PREFIX = "http-"

Headers = list[tuple[str, bytes]]


def http_header(name: str) -> str:
    return HTTP_PREFIX + name.lower()


def to_dict(headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes] | None) -> dict[str, str]:
    """Kafka headers as a str → str dict (the last value of a repeated name wins)."""
    pairs = headers.items() if isinstance(headers, Mapping) else (headers or ())
    return {k: v.decode("utf-8", "replace") for k, v in pairs}


def provider_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The copied HTTP headers, under their lower-case HTTP names."""
    n = len(HTTP_PREFIX)
    return {k[n:]: v for k, v in headers.items() if k.startswith(HTTP_PREFIX)}


def encode(headers: Mapping[str, str]) -> Headers:
    return [(k, v.encode()) for k, v in headers.items()]
