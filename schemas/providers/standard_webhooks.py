"""Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<b64> [v1,<b64>…]`.

Verified: HMAC-SHA256 over `"{webhook-id}.{webhook-timestamp}.{body}"`, keyed with the
base64-decoded part of each active `whsec_<base64>` secret, against every space-separated `v1`
signature, in constant time. Other schemes (`v1a`, ed25519) are ignored, as the spec's reference
library does. Replay protection: `webhook-timestamp` must lie within the endpoint's tolerance of
now in either direction, and `webhook-id` is the idempotency key the spec asks receivers to
dedupe on.

`normalize` names the event by the `webhook-id` header, which reaches it in `RawMeta.headers`
(or `headers=`). Without it the event id falls back to `sha256:<hex of the body>` (stable across
retries of the same message) and the time to the payload's own `timestamp` or the receive time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

from schemas.config import Endpoint
from schemas.errors import PayloadInvalid, SignatureInvalid, SignatureMissing
from schemas.normalized import NormalizedEvent, from_epoch, parse_rfc3339, rfc3339
from schemas.providers.base import RawMeta, constant_time_equal, load_json

name = "standard-webhooks"
signature_headers = ("webhook-id", "webhook-timestamp", "webhook-signature")
edge_verifiable = True

_PREFIX = "whsec_"


def sign(body: bytes, secret: str, msg_id: str, timestamp: int) -> str:
    """The `webhook-signature` value a sender would send (for tests and the load generator)."""
    return f"v1,{_digest(_key(secret), msg_id, timestamp, body)}"


def _key(secret: str) -> bytes:
    """The HMAC key: the base64 part after `whsec_`; padding may be omitted, as the spec's
    reference library allows."""
    encoded = secret.removeprefix(_PREFIX)
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode(), hashlib.sha256)
    mac.update(body)
    return base64.b64encode(mac.digest()).decode()


def _required(headers: Mapping[str, str], header: str) -> str:
    value = headers.get(header)
    if not value:
        raise SignatureMissing(f"The {header} header is missing.")
    if not value.isprintable():
        raise SignatureMissing(f"The {header} header holds characters that are not printable.")
    return value


def _timestamp(headers: Mapping[str, str]) -> int:
    text = _required(headers, "webhook-timestamp").strip()
    if not text.isascii() or not text.isdigit():
        raise SignatureMissing("The webhook-timestamp header is not an integer of seconds.")
    return int(text)


def _signatures(header: str) -> list[str]:
    found = []
    for entry in header.split(" "):
        version, sep, value = entry.partition(",")
        if sep and version == "v1" and value:
            found.append(value)
    if not found:
        raise SignatureMissing("The webhook-signature header has no v1 signature.")
    return found


def verify(body: bytes, headers: Mapping[str, str], endpoint: Endpoint, now: float) -> None:
    msg_id = _required(headers, "webhook-id")
    timestamp = _timestamp(headers)
    given = _signatures(_required(headers, "webhook-signature"))
    if now - timestamp > endpoint.tolerance_seconds:
        raise SignatureInvalid("The webhook-timestamp is older than the tolerance allows.")
    if timestamp - now > endpoint.tolerance_seconds:
        raise SignatureInvalid("The webhook-timestamp lies further in the future than allowed.")
    for secret in endpoint.secrets:
        try:
            key = _key(secret.reveal())
        except (binascii.Error, ValueError):
            continue  # a secret that is not base64 cannot match anything
        expected = _digest(key, msg_id, timestamp, body)
        if any(constant_time_equal(expected, value) for value in given):
            return
    raise SignatureInvalid("No Standard Webhooks signature matches an active secret.")


def event_id(body: bytes, headers: Mapping[str, str]) -> str | None:
    value = headers.get("webhook-id")
    return value if value else None


def normalize(
    body: bytes, meta: RawMeta, headers: Mapping[str, str] | None = None
) -> list[NormalizedEvent]:
    payload = load_json(body)
    event_type = payload.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise PayloadInvalid("The Standard Webhooks payload has no type.")
    given = headers if headers is not None else meta.headers
    msg_id = given.get("webhook-id") or f"sha256:{hashlib.sha256(body).hexdigest()}"
    return [
        NormalizedEvent(
            provider=name,
            endpoint=meta.endpoint,
            provider_event_id=msg_id,
            provider_event_type=event_type,
            type="other",
            payment_id=None,
            amount=None,
            currency=None,
            amount_refunded=None,
            status=None,
            occurred_at=_occurred_at(payload.get("timestamp"), given, meta),
            received_at=meta.received_at,
            livemode=None,
            account=None,
            raw=meta.raw,
        )
    ]


def _occurred_at(stamp: object, headers: Mapping[str, str], meta: RawMeta) -> str:
    """The payload's RFC 3339 `timestamp`, else the `webhook-timestamp` header, else receipt."""
    if isinstance(stamp, str):
        try:
            return rfc3339(parse_rfc3339(stamp))
        except (ValueError, OverflowError):
            pass
    header_value = headers.get("webhook-timestamp", "").strip()
    if header_value.isascii() and header_value.isdigit():
        try:
            return from_epoch(int(header_value))
        except (ValueError, OverflowError, OSError):
            pass
    return meta.received_at
