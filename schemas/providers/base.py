"""The interface every provider module implements, and what they share.

A provider module is pure: bytes and headers in, verdicts and normalized events out, the clock
passed in. Ingress uses `event_id` (the Kafka key) and, for HMAC providers, `verify` at the edge;
processors use `verify` again (they are the authority) and `normalize`.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from schemas.config import Endpoint
from schemas.errors import PayloadInvalid
from schemas.normalized import NormalizedEvent, RawRef, parse_rfc3339, rfc3339


@dataclass(frozen=True, slots=True)
class RawMeta:
    """What the pipeline knows about a raw record besides its body."""

    endpoint: str
    received_at: str  # RFC 3339 UTC
    raw: RawRef
    # The provider's HTTP headers ingress kept (lower-case names): some ids live there.
    headers: Mapping[str, str] = field(default_factory=dict)


class Provider(Protocol):
    """One payment provider's wire format."""

    name: str
    # Lower-case HTTP headers that verification needs; ingress copies them into Kafka headers.
    signature_headers: tuple[str, ...]
    # True when the signature is a shared-secret HMAC that ingress can check at the edge.
    edge_verifiable: bool

    def event_id(self, body: bytes, headers: Mapping[str, str]) -> str | None:
        """The provider's id of this delivery or event, or None when it has none."""
        ...

    def verify(
        self, body: bytes, headers: Mapping[str, str], endpoint: Endpoint, now: float
    ) -> None:
        """Return if the request is authentic for `endpoint` at time `now` (epoch seconds).

        Raises SignatureMissing when the signature headers are absent or malformed,
        SignatureInvalid when no active secret matches or the timestamp is out of tolerance,
        TransientError when proof could not be obtained now (PayPal's certificate fetch).
        """
        ...

    def normalize(self, body: bytes, meta: RawMeta) -> list[NormalizedEvent]:
        """The normalized events in this body (Adyen batches hold several).

        Raises PayloadInvalid (or AmountNotExact) when the body cannot be mapped.
        """
        ...


def constant_time_equal(a: str | bytes, b: str | bytes) -> bool:
    """Compare signatures without leaking where they differ."""
    left = a.encode() if isinstance(a, str) else a
    right = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(left, right)


def load_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or PayloadInvalid."""
    try:
        data = orjson.loads(body)
    except (orjson.JSONDecodeError, ValueError, UnicodeDecodeError) as exc:
        raise PayloadInvalid("The body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise PayloadInvalid("The body is not a JSON object.")
    return data


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by lower-case name; callers pass lower-cased mappings."""
    return headers.get(name)


def text(value: object) -> str | None:
    """`value` when it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def top_level_id(body: bytes, field: str) -> str | None:
    """The body's top-level string `field`, or None when the body or the field is not usable."""
    try:
        return text(load_json(body).get(field))
    except PayloadInvalid:
        return None


def event_time(value: object, what: str) -> str:
    """A provider's RFC 3339 time as ours (UTC, microseconds); PayloadInvalid names `what`."""
    if not isinstance(value, str):
        raise PayloadInvalid(f"The {what} is missing.")
    try:
        return rfc3339(parse_rfc3339(value))
    except (ValueError, OverflowError) as exc:
        raise PayloadInvalid(f"The {what} is not RFC 3339.") from exc
