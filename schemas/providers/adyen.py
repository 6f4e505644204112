"""Adyen standard notifications: `{"live", "notificationItems": [{"NotificationRequestItem"}]}`.

Verified: every item of the batch, not only the first (Adyen's own library checks only the
first). Each item's `additionalData.hmacSignature` must equal the base64 HMAC-SHA256 of
`pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:eventCode:success`
(missing fields empty, no escaping), keyed with the hex-decoded bytes of any active key, compared
in constant time. A batch with one unsigned item is rejected whole. There are no signature
headers: the proof travels in the body.

Replay protection: none is signed (no timestamp). Deduplication on `{pspReference}:{eventCode}`
per item makes a replayed notification a duplicate rather than a new event.

Adyen expects the literal answer `[accepted]` with status 200 (`ACCEPTED_RESPONSE`), or it retries.
"""

from __future__ import annotations

import base64
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
)

name = "adyen"
signature_headers: tuple[str, ...] = ()
edge_verifiable = True

# What Adyen must receive to consider a notification delivered (status, body).
ACCEPTED_RESPONSE = (200, "[accepted]")

_SIGNED_FIELDS = (
    "pspReference",
    "originalReference",
    "merchantAccountCode",
    "merchantReference",
    "value",
    "currency",
    "eventCode",
    "success",
)
_BY_CODE = {
    "CAPTURE": "payment.succeeded",
    "CANCELLATION": "payment.canceled",
    "REFUND_FAILED": "refund.failed",
    "NOTIFICATION_OF_CHARGEBACK": "dispute.opened",
    "REQUEST_FOR_INFORMATION": "dispute.opened",
    "CHARGEBACK": "dispute.lost",
    "SECOND_CHARGEBACK": "dispute.lost",
    "PREARBITRATION_LOST": "dispute.lost",
    "CHARGEBACK_REVERSED": "dispute.won",
    "PREARBITRATION_WON": "dispute.won",
}
_CANCEL_OR_REFUND = {"cancel": "payment.canceled", "refund": "refund.succeeded"}
# A modification Adyen reports as failed did not happen: the payment keeps its state.
_ONLY_ON_SUCCESS = frozenset({"CAPTURE", "CANCELLATION"})


def signing_string(item: Mapping[str, Any]) -> str:
    """The colon-joined string Adyen signs for one NotificationRequestItem."""
    amount = item.get("amount")
    amount = amount if isinstance(amount, Mapping) else {}
    values = {k: item.get(k) for k in _SIGNED_FIELDS}
    values.update(value=amount.get("value"), currency=amount.get("currency"))
    return ":".join(_field(values[k]) for k in _SIGNED_FIELDS)


def _field(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def sign_item(item: Mapping[str, Any], hex_key: str) -> str:
    """The `additionalData.hmacSignature` Adyen would put on `item` (tests, load generator)."""
    return _mac(bytes.fromhex(hex_key), signing_string(item).encode())


def sign_payload(body: bytes, hex_key: str) -> str:
    """Adyen's header-style HMAC over a whole raw body (Balance Platform and Management webhooks).

    Not used by `verify`, which handles standard payment notifications; kept so the header style
    is one call away when such an endpoint is added, and checked against Adyen's vector.
    """
    return _mac(bytes.fromhex(hex_key), body)


def _mac(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def _items(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The NotificationRequestItems, or ValueError when the batch is not shaped as Adyen's."""
    entries = payload.get("notificationItems")
    if not isinstance(entries, list) or not entries:
        raise ValueError("no notificationItems")
    items = []
    for entry in entries:
        item = entry.get("NotificationRequestItem") if isinstance(entry, dict) else None
        if not isinstance(item, dict):
            raise ValueError("an entry is not a NotificationRequestItem")
        items.append(item)
    return items


def _keys(endpoint: Endpoint) -> list[bytes]:
    keys = []
    for secret in endpoint.secrets:
        try:
            keys.append(bytes.fromhex(secret.reveal()))
        except ValueError:
            continue  # a key that is not hex cannot match anything
    return keys


def verify(body: bytes, headers: Mapping[str, str], endpoint: Endpoint, now: float) -> None:
    try:
        items = _items(load_json(body))
    except (PayloadInvalid, ValueError) as exc:
        raise SignatureMissing(
            "The body is not an Adyen notification with items to verify."
        ) from exc
    keys = _keys(endpoint)
    for item in items:
        extra = item.get("additionalData")
        given = extra.get("hmacSignature") if isinstance(extra, dict) else None
        if not isinstance(given, str) or not given:
            raise SignatureMissing("An Adyen notification item carries no hmacSignature.")
        # JSON may smuggle lone surrogates in; they must fail the comparison, not crash it.
        message = signing_string(item).encode("utf-8", "surrogatepass")
        claimed = given.encode("utf-8", "surrogatepass")
        if not any(constant_time_equal(_mac(key, message), claimed) for key in keys):
            raise SignatureInvalid("An Adyen notification item matches no active HMAC key.")


def event_id(body: bytes, headers: Mapping[str, str]) -> str | None:
    """`{pspReference}:{eventCode}` for a one-item batch; None for several (keyed by body hash)."""
    try:
        items = _items(load_json(body))
    except (PayloadInvalid, ValueError):
        return None
    if len(items) != 1:
        return None
    return _item_id(items[0])


def _item_id(item: Mapping[str, Any]) -> str | None:
    psp, code = item.get("pspReference"), item.get("eventCode")
    if isinstance(psp, str) and psp and isinstance(code, str) and code:
        return f"{psp}:{code}"
    return None


def normalize(body: bytes, meta: RawMeta) -> list[NormalizedEvent]:
    payload = load_json(body)
    try:
        items = _items(payload)
    except ValueError as exc:
        raise PayloadInvalid("The body is not an Adyen notification with items.") from exc
    live = payload.get("live")
    livemode = {"true": True, "false": False}.get(live) if isinstance(live, str) else None
    return [_event(item, meta, livemode) for item in items]


def _event(item: dict[str, Any], meta: RawMeta, livemode: bool | None) -> NormalizedEvent:
    provider_event_id = _item_id(item)
    if provider_event_id is None:
        raise PayloadInvalid("An Adyen notification item has no pspReference or eventCode.")
    code = item["eventCode"]
    success = item.get("success") in ("true", True)
    currency, amount = _money(item.get("amount"))
    return NormalizedEvent(
        provider=name,
        endpoint=meta.endpoint,
        provider_event_id=provider_event_id,
        provider_event_type=code,
        type=_classify(code, success, item),
        payment_id=text(item.get("originalReference")) or text(item.get("pspReference")),
        amount=amount,
        currency=currency,
        amount_refunded=None,
        status=None,
        occurred_at=event_time(item.get("eventDate"), "Adyen eventDate"),
        received_at=meta.received_at,
        livemode=livemode,
        account=text(item.get("merchantAccountCode")),
        raw=meta.raw,
    )


def _classify(code: str, success: bool, item: Mapping[str, Any]) -> str:
    if code == "AUTHORISATION":
        return "payment.authorized" if success else "payment.failed"
    if code == "REFUND":
        return "refund.succeeded" if success else "refund.failed"
    if code == "CANCEL_OR_REFUND" and success:
        extra = item.get("additionalData")
        action = extra.get("modification.action") if isinstance(extra, dict) else None
        return _CANCEL_OR_REFUND.get(str(action), "other")
    if code in _ONLY_ON_SUCCESS and not success:
        return "other"
    return _BY_CODE.get(code, "other")


def _money(value: object) -> tuple[str | None, int | None]:
    """Currency and integer minor units (Adyen uses ISO 4217 exponents), or nothing."""
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise PayloadInvalid("An Adyen notification item's amount is not an object.")
    if value.get("value") is None:
        return None, None
    return normalize_currency(value.get("currency")), integer_minor(value.get("value"))
