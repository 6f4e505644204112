"""PayPal, verified offline: PAYPAL-TRANSMISSION-{ID,TIME,SIG}, PAYPAL-CERT-URL, PAYPAL-AUTH-ALGO.

Verified, in this order:
1. all five headers are present; the time is RFC 3339; the signature is base64;
2. PAYPAL-TRANSMISSION-TIME lies within the endpoint's tolerance of now, either direction
   (replay protection; PayPal publishes no window, and the body's `id` is the dedupe key);
3. PAYPAL-AUTH-ALGO is SHA256withRSA (anything else, SHA1withRSA included, is refused);
4. the certificate is obtained through a `CertificateSource` (`paypal_certs.UrlPolicy` by default:
   https on the endpoint's cert_hosts only, `file://` under the dev directory in dev mode only);
5. the leaf certificate was valid at the transmission time;
6. its subject names PayPal: a CN or O containing "paypal"; with `Trust.require_paypal_domain`
   (production) also a CN or DNS SAN that is `paypal.com` or ends with `.paypal.com`;
7. it chains, as of now, to one of `Trust.roots` (RFC 5280 path validation by
   `cryptography.x509.verification`: signatures, validity of every certificate at `now`, CA
   basic constraints and key usage, chain depth). Intermediates come from the PEM after the leaf.
   No revocation (CRL/OCSP) is checked. A root may be the leaf itself: that is pinning, how the
   dev certificate (dev mode) and PayPal's expired sandbox certificate (tests) are trusted;
8. RSA PKCS#1 v1.5 / SHA-256 over `{transmission_id}|{transmission_time}|{webhook_id}|{crc32}`,
   where webhook_id is the endpoint's configured id and crc32 the unsigned CRC-32 of the body.

`verify` is pure and synchronous: the certificate source and roots come in as `trust=`, or from
`install()`; without either, production trust (`UrlPolicy` over a cached https fetch, the
platform's CA bundle as roots) is built on first use.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import threading
import uuid
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from schemas.config import Endpoint
from schemas.errors import AmountNotExact, PayloadInvalid, SignatureInvalid, SignatureMissing
from schemas.money import decimal_to_minor, normalize_currency
from schemas.normalized import NormalizedEvent, parse_rfc3339
from schemas.providers.base import RawMeta, event_time, load_json, text, top_level_id
from schemas.providers.paypal_certs import (
    CertificateSource,
    Trust,
    UrlPolicy,
    check_certificate,
    dev_trust,
    production_trust,
    write_dev_certificate,
)

name = "paypal"
signature_headers = (
    "paypal-transmission-id",
    "paypal-transmission-time",
    "paypal-transmission-sig",
    "paypal-cert-url",
    "paypal-auth-algo",
)
# The proof needs a certificate, perhaps fetched: the processors verify, not the edge.
edge_verifiable = False


_installed: Trust | None = None
_install_lock = threading.Lock()


def install(trust: Trust | None) -> None:
    """Make `trust` the default of `verify` in this process (None resets to production trust)."""
    global _installed
    with _install_lock:
        _installed = trust


def installed() -> Trust:
    global _installed
    with _install_lock:
        if _installed is None:
            _installed = production_trust()
        return _installed


def verify(
    body: bytes,
    headers: Mapping[str, str],
    endpoint: Endpoint,
    now: float,
    *,
    trust: Trust | None = None,
) -> None:
    values = {h: headers.get(h) or "" for h in signature_headers}
    if not all(values.values()):
        raise SignatureMissing("A PayPal transmission header is missing.")
    if not all(v.isprintable() for v in values.values()):
        raise SignatureMissing("A PayPal transmission header holds unprintable characters.")
    transmission_time = values["paypal-transmission-time"]
    try:
        sent_at = parse_rfc3339(transmission_time)
        sent = sent_at.timestamp()
    except (ValueError, OverflowError) as exc:
        raise SignatureMissing("The PAYPAL-TRANSMISSION-TIME header is not RFC 3339.") from exc
    try:
        signature = base64.b64decode(values["paypal-transmission-sig"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureMissing("The PAYPAL-TRANSMISSION-SIG header is not base64.") from exc
    if abs(now - sent) > endpoint.tolerance_seconds:
        raise SignatureInvalid("The PayPal transmission time is outside the tolerance.")
    if values["paypal-auth-algo"].lower() != "sha256withrsa":
        raise SignatureInvalid("The PayPal auth algorithm is not SHA256withRSA.")
    if not endpoint.webhook_id:
        raise SignatureInvalid("The PayPal endpoint has no webhook_id configured.")
    trust = trust if trust is not None else installed()
    pem = trust.certificates.get(values["paypal-cert-url"], endpoint)
    key = check_certificate(pem, trust, sent_at, _moment(now))
    message = signed_message(
        values["paypal-transmission-id"], transmission_time, endpoint.webhook_id, body
    )
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise SignatureInvalid("The PayPal signature does not match the certificate.") from exc


def _moment(epoch: float) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(epoch, dt.UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise SignatureInvalid("The verification time is out of range.") from exc


def event_id(body: bytes, headers: Mapping[str, str]) -> str | None:
    """The body's `id` (WH-…), stable across PayPal's retries; else the transmission id."""
    value = top_level_id(body, "id")
    if value:
        return value
    return headers.get("paypal-transmission-id") or None


_DECIMAL = re.compile(r"-?(?:[0-9]+|[0-9]*\.[0-9]+)")
_TYPES = {
    "PAYMENT.AUTHORIZATION.CREATED": "payment.authorized",
    "PAYMENT.AUTHORIZATION.VOIDED": "payment.canceled",
    "PAYMENT.CAPTURE.COMPLETED": "payment.succeeded",
    "PAYMENT.CAPTURE.DENIED": "payment.failed",
    "PAYMENT.CAPTURE.DECLINED": "payment.failed",
    "PAYMENT.CAPTURE.REFUNDED": "refund.succeeded",
    # Legacy v1 (Payments v1 "sale") events, still sent to older integrations.
    "PAYMENT.SALE.COMPLETED": "payment.succeeded",
    "PAYMENT.SALE.DENIED": "payment.failed",
    "PAYMENT.SALE.REFUNDED": "refund.succeeded",
    "CUSTOMER.DISPUTE.CREATED": "dispute.opened",
    "CUSTOMER.DISPUTE.UPDATED": "dispute.updated",
}
# The merchant keeps the money: the seller won, or the buyer withdrew the dispute.
_DISPUTE_WON = frozenset({"RESOLVED_SELLER_FAVOUR", "CANCELED_BY_BUYER"})
# Events whose resource is a refund: the payment is the capture (or sale) it refunds.
_REFUNDS = frozenset({"PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED"})
_SALE_REFUNDS = frozenset({"PAYMENT.SALE.REFUNDED", "PAYMENT.SALE.REVERSED"})


def normalize(body: bytes, meta: RawMeta) -> list[NormalizedEvent]:
    event = load_json(body)
    event_id_, event_type = text(event.get("id")), text(event.get("event_type"))
    if event_id_ is None or event_type is None:
        raise PayloadInvalid("The PayPal event has no id or event_type.")
    resource = event.get("resource")
    resource = resource if isinstance(resource, dict) else {}
    dispute = event_type.startswith("CUSTOMER.DISPUTE.")
    currency, amount = _money(resource.get("dispute_amount" if dispute else "amount"))
    refunded = None
    if event_type in _REFUNDS:
        breakdown = resource.get("seller_payable_breakdown")
        if isinstance(breakdown, dict):
            _, refunded = _money(breakdown.get("total_refunded_amount"))
    status = resource.get("status", resource.get("state"))
    payee = resource.get("payee")
    return [
        NormalizedEvent(
            provider=name,
            endpoint=meta.endpoint,
            provider_event_id=event_id_,
            provider_event_type=event_type,
            type=_classify(event_type, resource),
            payment_id=_disputed(resource) if dispute else _payment_id(event_type, resource),
            amount=amount,
            currency=currency,
            amount_refunded=refunded,
            status=status.lower() if isinstance(status, str) else None,
            occurred_at=event_time(event.get("create_time"), "PayPal event time (create_time)"),
            received_at=meta.received_at,
            livemode=None,
            account=text(payee.get("merchant_id")) if isinstance(payee, dict) else None,
            raw=meta.raw,
        )
    ]


def _classify(event_type: str, resource: dict[str, Any]) -> str:
    if event_type == "CUSTOMER.DISPUTE.RESOLVED":
        outcome = resource.get("dispute_outcome")
        code = outcome.get("outcome_code") if isinstance(outcome, dict) else None
        return "dispute.won" if code in _DISPUTE_WON else "dispute.lost"
    return _TYPES.get(event_type, "other")


def _payment_id(event_type: str, resource: dict[str, Any]) -> str | None:
    """The capture (v1: sale) or authorization the event is about; refunds point at theirs."""
    if event_type in _REFUNDS:
        return _up_capture(resource.get("links"))
    if event_type in _SALE_REFUNDS:
        return text(resource.get("sale_id"))
    if event_type.startswith(("PAYMENT.CAPTURE.", "PAYMENT.AUTHORIZATION.", "PAYMENT.SALE.")):
        return text(resource.get("id"))
    return None


def _up_capture(links: object) -> str | None:
    """The capture id from the refund's `up` link (`…/v2/payments/captures/<id>`)."""
    for link in links if isinstance(links, list) else ():
        if not isinstance(link, dict) or link.get("rel") != "up":
            continue
        href = link.get("href")
        segments = urlsplit(href).path.rstrip("/").split("/") if isinstance(href, str) else []
        if len(segments) >= 2 and segments[-2] == "captures" and segments[-1]:
            return segments[-1]
    return None


def _disputed(resource: dict[str, Any]) -> str | None:
    """The seller-side transaction (the capture) of the dispute's first disputed transaction."""
    transactions = resource.get("disputed_transactions")
    first = transactions[0] if isinstance(transactions, list) and transactions else None
    return text(first.get("seller_transaction_id")) if isinstance(first, dict) else None


def _money(value: object) -> tuple[str | None, int | None]:
    """PayPal money (`{currency_code, value}`; v1 `{currency, total}`) as ISO minor units.

    HUF, JPY and TWD come without decimals from PayPal; ISO gives HUF and TWD two, so "100" HUF
    is 10000 minor units: exact either way, and the same unit every other provider uses.
    """
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise PayloadInvalid("A PayPal money field is not an object.")
    amount = value.get("value", value.get("total"))
    if amount is None:
        return None, None
    currency = normalize_currency(value.get("currency_code", value.get("currency")))
    # PayPal's own `money.value` schema: a plain decimal string of at most 32 characters.
    if not isinstance(amount, str) or len(amount) > 32 or not _DECIMAL.fullmatch(amount):
        raise AmountNotExact("A PayPal amount is not a plain decimal string.")
    return currency, decimal_to_minor(amount, currency)


def signed_message(
    transmission_id: str, transmission_time: str, webhook_id: str, body: bytes
) -> bytes:
    crc = zlib.crc32(body) & 0xFFFFFFFF
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{crc}".encode()


def sign(
    body: bytes, *, key_pem: bytes, webhook_id: str, transmission_id: str, transmission_time: str
) -> str:
    """The base64 PAYPAL-TRANSMISSION-SIG that the holder of `key_pem` would send (dev, tests)."""
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("sign() needs an RSA private key")
    message = signed_message(transmission_id, transmission_time, webhook_id, body)
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def dev_headers(
    body: bytes, *, cert_dir: Path, webhook_id: str, now: float, transmission_id: str | None = None
) -> dict[str, str]:
    """All five lower-case PayPal headers for `body`, signed with the dev key in `cert_dir`
    (created if missing), its certificate named by a `file://` URL: for dev, loadgen and e2e."""
    cert_path = write_dev_certificate(cert_dir)
    sent = dt.datetime.fromtimestamp(int(now), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    tid = transmission_id or str(uuid.uuid4())
    signature = sign(
        body,
        key_pem=(cert_dir / "key.pem").read_bytes(),
        webhook_id=webhook_id,
        transmission_id=tid,
        transmission_time=sent,
    )
    return {
        "paypal-transmission-id": tid,
        "paypal-transmission-time": sent,
        "paypal-transmission-sig": signature,
        "paypal-cert-url": cert_path.resolve().as_uri(),
        "paypal-auth-algo": "SHA256withRSA",
    }


__all__ = [
    "CertificateSource",
    "Trust",
    "UrlPolicy",
    "check_certificate",
    "dev_headers",
    "dev_trust",
    "edge_verifiable",
    "event_id",
    "install",
    "name",
    "normalize",
    "production_trust",
    "sign",
    "signature_headers",
    "signed_message",
    "verify",
    "write_dev_certificate",
]
