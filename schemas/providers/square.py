"""Square: `x-square-hmacsha256-signature: <base64>`.

Verified: base64 HMAC-SHA256 over `notification_url + body`, keyed with each active signature key
as UTF-8, compared in constant time. The URL is the endpoint's configured `notification_url`,
which must match the subscription's URL exactly.

Replay protection: none is signed. Square's signature covers no timestamp, so a captured request
verifies forever; what protects the pipeline is deduplication on the body's `event_id` (the
Kafka key and the normalized event id), which makes a replay a counted duplicate, not a new event.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from schemas.config import Endpoint
from schemas.errors import PayloadInvalid, SignatureInvalid, SignatureMissing
from schemas.money import integer_minor, normalize_currency
from schemas.normalized import NormalizedEvent
from schemas.providers.base import (
    RawMeta,
    constant_time_equal,
    event_time,
    load_json,
    text,
    top_level_id,
)

name = "square"
signature_headers = ("x-square-hmacsha256-signature",)
edge_verifiable = True

_PAYMENT_BY_STATUS = {
    "PENDING": "payment.created",
    "APPROVED": "payment.authorized",
    "COMPLETED": "payment.succeeded",
    "FAILED": "payment.failed",
    "CANCELED": "payment.canceled",
}
_REFUND_BY_STATUS = {
    "PENDING": "refund.created",
    "COMPLETED": "refund.succeeded",
    "FAILED": "refund.failed",
    "REJECTED": "refund.failed",
}
# Square's dispute states; ACCEPTED means the seller accepted the chargeback.
_DISPUTE_BY_STATE = {"WON": "dispute.won", "LOST": "dispute.lost", "ACCEPTED": "dispute.lost"}


def sign(body: bytes, signature_key: str, notification_url: str) -> str:
    """The `x-square-hmacsha256-signature` value Square would send (tests, load generator)."""
    return _digest(signature_key, notification_url, body)


def _digest(signature_key: str, notification_url: str, body: bytes) -> str:
    mac = hmac.new(signature_key.encode(), notification_url.encode(), hashlib.sha256)
    mac.update(body)
    return base64.b64encode(mac.digest()).decode()


def verify(body: bytes, headers: Mapping[str, str], endpoint: Endpoint, now: float) -> None:
    given = headers.get("x-square-hmacsha256-signature")
    if not given:
        raise SignatureMissing("The x-square-hmacsha256-signature header is missing.")
    given = given.strip()
    try:
        well_formed = given.isascii() and len(base64.b64decode(given, validate=True)) == 32
    except (binascii.Error, ValueError):
        well_formed = False
    if not well_formed:
        raise SignatureMissing("The x-square-hmacsha256-signature header is not a base64 SHA-256.")
    if not endpoint.notification_url:
        raise SignatureInvalid("The Square endpoint has no notification_url configured.")
    for secret in endpoint.secrets:
        expected = _digest(secret.reveal(), endpoint.notification_url, body)
        if constant_time_equal(expected, given):
            return
    raise SignatureInvalid("No Square signature matches an active signature key.")


def event_id(body: bytes, headers: Mapping[str, str]) -> str | None:
    return top_level_id(body, "event_id")


def normalize(body: bytes, meta: RawMeta) -> list[NormalizedEvent]:
    event = load_json(body)
    event_id_ = text(event.get("event_id"))
    event_type = text(event.get("type"))
    if event_id_ is None or event_type is None:
        raise PayloadInvalid("The Square event has no event_id or type.")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    kind, payment_id, resource = _classify(event_type, obj if isinstance(obj, dict) else {})
    currency, amount = _money(resource.get("amount_money"))
    _, refunded = _money(resource.get("refunded_money"))
    status = resource.get("status", resource.get("state"))
    return [
        NormalizedEvent(
            provider=name,
            endpoint=meta.endpoint,
            provider_event_id=event_id_,
            provider_event_type=event_type,
            type=kind,
            payment_id=payment_id,
            amount=amount,
            currency=currency,
            # Only a payment says how much of it was refunded so far; a refund says its own amount.
            amount_refunded=refunded if event_type.startswith("payment.") else None,
            status=status.lower() if isinstance(status, str) else None,
            occurred_at=event_time(event.get("created_at"), "Square event time (created_at)"),
            received_at=meta.received_at,
            livemode=None,
            account=text(event.get("merchant_id")),
            raw=meta.raw,
        )
    ]


def _classify(event_type: str, obj: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
    """The normalized type, the payment id and the resource the amounts come from."""
    family = event_type.split(".", 1)[0]
    resource = obj.get(family)
    resource = resource if isinstance(resource, dict) else {}
    if event_type in ("payment.created", "payment.updated"):
        kind = _PAYMENT_BY_STATUS.get(str(resource.get("status")), "other")
        return kind, text(resource.get("id")), resource
    if family == "refund":
        kind = _REFUND_BY_STATUS.get(str(resource.get("status")), "other")
        return kind, text(resource.get("payment_id")), resource
    if family == "dispute":
        disputed = resource.get("disputed_payment")
        payment_id = text(disputed.get("payment_id")) if isinstance(disputed, dict) else None
        if event_type == "dispute.created":
            kind = "dispute.opened"
        else:
            kind = _DISPUTE_BY_STATE.get(str(resource.get("state")), "dispute.updated")
        return kind, payment_id, resource
    return "other", None, {}


def _money(value: object) -> tuple[str | None, int | None]:
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise PayloadInvalid("A Square money field is not an object.")
    return normalize_currency(value.get("currency")), integer_minor(value.get("amount"))
