"""Stripe: `Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>…]`.

Verified: HMAC-SHA256 over `"{t}.{body}"` keyed with the whole `whsec_…` string (UTF-8), against
every active secret and every `v1` signature, in constant time; `t` must lie within the
endpoint's tolerance of now, in either direction (replay protection).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from schemas.config import Endpoint
from schemas.errors import PayloadInvalid, SignatureInvalid, SignatureMissing
from schemas.money import normalize_currency, stripe_to_minor
from schemas.normalized import NormalizedEvent, from_epoch
from schemas.providers.base import (
    RawMeta,
    constant_time_equal,
    load_json,
    text,
    top_level_id,
)

name = "stripe"
signature_headers = ("stripe-signature",)
edge_verifiable = True

_DIRECT = {
    "payment_intent.created": "payment.created",
    "payment_intent.amount_capturable_updated": "payment.authorized",
    "payment_intent.succeeded": "payment.succeeded",
    "payment_intent.payment_failed": "payment.failed",
    "payment_intent.canceled": "payment.canceled",
    "charge.succeeded": "payment.succeeded",
    "charge.captured": "payment.succeeded",
    "charge.failed": "payment.failed",
    "charge.refunded": "refund.succeeded",
    "refund.created": "refund.created",
    "charge.dispute.created": "dispute.opened",
    "charge.dispute.updated": "dispute.updated",
}
_REFUND_BY_STATUS = {
    "pending": "refund.created",
    "requires_action": "refund.created",
    "succeeded": "refund.succeeded",
    "failed": "refund.failed",
    "canceled": "refund.failed",
}
# Year 9999: beyond it a datetime cannot hold the time.
_LATEST_EPOCH = 253402300800

# `warning_closed` ends an inquiry without a chargeback: the merchant keeps the money.
_DISPUTE_WON = frozenset({"won", "warning_closed"})


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The `Stripe-Signature` header value Stripe would send (for tests and the load generator)."""
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def _digest(secret: str, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode(), hashlib.sha256)
    mac.update(body)
    return mac.hexdigest()


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value.strip())
            except ValueError as exc:
                raise SignatureMissing("The Stripe-Signature timestamp is not an integer.") from exc
        elif key == "v1":
            signatures.append(value.strip())
    if timestamp is None:
        raise SignatureMissing("The Stripe-Signature header has no timestamp.")
    if not signatures:
        raise SignatureMissing("The Stripe-Signature header has no v1 signature.")
    return timestamp, signatures


def verify(body: bytes, headers: Mapping[str, str], endpoint: Endpoint, now: float) -> None:
    header = headers.get("stripe-signature")
    if not header:
        raise SignatureMissing("The Stripe-Signature header is missing.")
    timestamp, signatures = _parse(header)
    if abs(now - timestamp) > endpoint.tolerance_seconds:
        raise SignatureInvalid("The Stripe-Signature timestamp is outside the tolerance.")
    for secret in endpoint.secrets:
        expected = _digest(secret.reveal(), timestamp, body)
        if any(constant_time_equal(expected, given) for given in signatures):
            return
    raise SignatureInvalid("No Stripe signature matches an active secret.")


def event_id(body: bytes, headers: Mapping[str, str]) -> str | None:
    return top_level_id(body, "id")


def normalize(body: bytes, meta: RawMeta) -> list[NormalizedEvent]:
    event = load_json(body)
    event_id_ = event.get("id")
    event_type = event.get("type")
    created = event.get("created")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(event_id_, str) or not isinstance(event_type, str):
        raise PayloadInvalid("The Stripe event has no id or type.")
    if type(created) is not int or not 0 <= created < _LATEST_EPOCH:
        raise PayloadInvalid("The Stripe event has no plausible integer created time.")
    if not isinstance(obj, dict):
        raise PayloadInvalid("The Stripe event has no data.object.")

    kind = _classify(event_type, obj)
    currency = normalize_currency(obj["currency"]) if obj.get("currency") else None
    amount = _amount(obj.get("amount"), currency)
    refunded = (
        _amount(obj.get("amount_refunded"), currency) if obj.get("object") == "charge" else None
    )
    status = obj.get("status")
    livemode = event.get("livemode")
    account = event.get("account")
    return [
        NormalizedEvent(
            provider=name,
            endpoint=meta.endpoint,
            provider_event_id=event_id_,
            provider_event_type=event_type,
            type=kind,
            payment_id=_payment_id(obj),
            amount=amount,
            currency=currency,
            amount_refunded=refunded,
            status=status.lower() if isinstance(status, str) else None,
            occurred_at=from_epoch(created),
            received_at=meta.received_at,
            livemode=livemode if isinstance(livemode, bool) else None,
            account=account if isinstance(account, str) else None,
            raw=meta.raw,
        )
    ]


def _classify(event_type: str, obj: dict[str, Any]) -> str:
    if event_type in _DIRECT:
        return _DIRECT[event_type]
    if event_type in ("refund.updated", "charge.refund.updated", "refund.failed"):
        return _REFUND_BY_STATUS.get(str(obj.get("status")), "refund.created")
    if event_type == "charge.dispute.closed":
        return "dispute.won" if obj.get("status") in _DISPUTE_WON else "dispute.lost"
    return "other"


def _payment_id(obj: dict[str, Any]) -> str | None:
    """The PaymentIntent; for charges, refunds and disputes their payment_intent, else the charge."""
    kind = obj.get("object")
    if kind == "payment_intent":
        return text(obj.get("id"))
    intent = text(obj.get("payment_intent"))
    if intent:
        return intent
    if kind == "charge":
        return text(obj.get("id"))
    charge = obj.get("charge")
    if isinstance(charge, dict):
        return text(charge.get("payment_intent")) or text(charge.get("id"))
    return text(charge)


def _amount(value: object, currency: str | None) -> int | None:
    if value is None:
        return None
    if currency is None:
        raise PayloadInvalid("The Stripe object has an amount but no currency.")
    return stripe_to_minor(value, currency)
