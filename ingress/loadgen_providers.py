"""The load generator's per-provider builders: one lifecycle step's body, signed as the provider
would sign it (with the provider module's own sign helper and the endpoint's configured secret)
or with a wrong secret, and the event id the pipeline will persist. Adding a provider to the
load generator is adding a builder to `builders()`.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

from schemas.config import Endpoint
from schemas.normalized import from_epoch
from schemas.providers import adyen, paypal, square, standard_webhooks, stripe

Kind = Literal["good", "duplicate", "bad_signature", "poison"]

# Keys of the right shape that no dev endpoint holds: signatures made with them must fail. They are public and
# never a real secret.
_WRONG_SECRET = "whsec_bG9hZGdlbi13cm9uZy1zZWNyZXQ="  # noqa: S105  # nosec B105
_WRONG_HEX_KEY = "00" * 32
_WRONG_WEBHOOK_ID = "LOADGEN-WRONG-WEBHOOK-ID"
# Default weights by provider: roughly what a payments team sees (Stripe-heavy, a long tail).
DEFAULT_WEIGHTS = {"stripe": 4, "adyen": 2, "square": 2, "standard-webhooks": 1, "paypal": 1}


@dataclass(frozen=True, slots=True)
class Payment:
    id: str
    amount: int
    currency: str
    steps: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Spec:
    """One logical event: a lifecycle step of a payment, with a run-unique id."""

    uid: str
    step: str
    payment: Payment
    occurred: float
    poison: bool = False


@dataclass(frozen=True, slots=True)
class Delivery:
    """One request to send. Duplicates share `spec` and `body` with the original."""

    seq: int
    request_id: str
    endpoint: str
    provider: str
    kind: Kind
    spec: Spec
    body: bytes
    key: str  # `{endpoint}:{uid}`: one logical event, whatever its duplicates
    persisted_ids: tuple[str, ...]  # normalized event ids it may be persisted under
    late: bool = False  # delivered after a later step of its payment


class Builder(Protocol):
    provider: str

    def lifecycle(self, rng: random.Random) -> tuple[str, ...]: ...

    def body(self, spec: Spec) -> bytes: ...

    def sign(
        self, body: bytes, spec: Spec, endpoint: Endpoint, now: float, wrong: bool
    ) -> dict[str, str]: ...

    def persisted_ids(self, body: bytes, spec: Spec) -> tuple[str, ...]: ...


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _occurred(spec: Spec) -> str:
    return "not a time" if spec.poison else from_epoch(spec.occurred)


class StripeBuilder:
    provider = stripe.name
    _PI_STEPS: ClassVar[dict[str, str]] = {
        "payment_intent.created": "requires_payment_method",
        "payment_intent.amount_capturable_updated": "requires_capture",
        "payment_intent.succeeded": "succeeded",
        "payment_intent.payment_failed": "requires_payment_method",
    }

    def lifecycle(self, rng: random.Random) -> tuple[str, ...]:
        start = ("payment_intent.created", "payment_intent.amount_capturable_updated")
        roll = rng.random()
        if roll < 0.1:
            return ("payment_intent.created", "payment_intent.payment_failed")
        if roll < 0.3:
            return (*start, "payment_intent.succeeded", "charge.refunded")
        return (*start, "payment_intent.succeeded")

    def body(self, spec: Spec) -> bytes:
        p = spec.payment
        if spec.step == "charge.refunded":
            obj: dict[str, Any] = {
                "id": f"ch_{p.id}",
                "object": "charge",
                "payment_intent": f"pi_{p.id}",
                "amount": p.amount,
                "amount_refunded": p.amount,
                "currency": p.currency.lower(),
                "status": "succeeded",
            }
        else:
            obj = {
                "id": f"pi_{p.id}",
                "object": "payment_intent",
                "amount": p.amount,
                "currency": p.currency.lower(),
                "status": self._PI_STEPS[spec.step],
            }
        created: object = "yesterday" if spec.poison else int(spec.occurred)
        event = {"id": f"evt_{spec.uid}", "object": "event", "type": spec.step, "created": created}
        return _dumps({**event, "livemode": False, "data": {"object": obj}})

    def sign(
        self, body: bytes, spec: Spec, endpoint: Endpoint, now: float, wrong: bool
    ) -> dict[str, str]:
        secret = _WRONG_SECRET if wrong else endpoint.secrets[0].reveal()
        return {"Stripe-Signature": stripe.sign(body, secret, int(now))}

    def persisted_ids(self, body: bytes, spec: Spec) -> tuple[str, ...]:
        return (f"stripe:evt_{spec.uid}",)


class SquareBuilder:
    provider = square.name

    def lifecycle(self, rng: random.Random) -> tuple[str, ...]:
        steps = ("payment.created:APPROVED", "payment.updated:COMPLETED")
        return (*steps, "refund.updated:COMPLETED") if rng.random() < 0.2 else steps

    def body(self, spec: Spec) -> bytes:
        p = spec.payment
        kind, status = spec.step.split(":")
        money = {"amount": p.amount, "currency": p.currency}
        resource: dict[str, Any]
        if kind.startswith("refund."):
            resource = {"id": f"rf_{spec.uid}", "payment_id": p.id, "status": status}
            data = {"type": "refund", "id": resource["id"], "object": {"refund": resource}}
        else:
            resource = {"id": p.id, "status": status}
            data = {"type": "payment", "id": p.id, "object": {"payment": resource}}
        resource["amount_money"] = money
        event = {"merchant_id": "ML_LOADGEN", "type": kind, "event_id": spec.uid}
        return _dumps({**event, "created_at": _occurred(spec), "data": data})

    def sign(
        self, body: bytes, spec: Spec, endpoint: Endpoint, now: float, wrong: bool
    ) -> dict[str, str]:
        key = "loadgen-wrong-key" if wrong else endpoint.secrets[0].reveal()
        url = endpoint.notification_url or ""
        return {"X-Square-HmacSha256-Signature": square.sign(body, key, url)}

    def persisted_ids(self, body: bytes, spec: Spec) -> tuple[str, ...]:
        return (f"square:{spec.uid}",)


class AdyenBuilder:
    provider = adyen.name

    def lifecycle(self, rng: random.Random) -> tuple[str, ...]:
        steps = ("AUTHORISATION", "CAPTURE")
        return (*steps, "REFUND") if rng.random() < 0.2 else steps

    def _item(self, spec: Spec) -> dict[str, Any]:
        p = spec.payment
        first = spec.step == "AUTHORISATION"
        item: dict[str, Any] = {
            "pspReference": p.id if first else spec.uid,
            "merchantAccountCode": "LoadgenMerchant",
            "merchantReference": f"order-{p.id}",
            "amount": {"value": p.amount, "currency": p.currency},
            "eventCode": spec.step,
            "success": "true",
            "eventDate": _occurred(spec),
        }
        if not first:
            item["originalReference"] = p.id
        return item

    def body(self, spec: Spec) -> bytes:
        # The signature sits inside the body: `sign` rebuilds it, so this is the unsigned form.
        return _dumps(self._batch(self._item(spec), ""))

    @staticmethod
    def _batch(item: dict[str, Any], signature: str) -> dict[str, Any]:
        item = {**item, "additionalData": {"hmacSignature": signature}}
        return {"live": "false", "notificationItems": [{"NotificationRequestItem": item}]}

    def signed_body(self, spec: Spec, endpoint: Endpoint, wrong: bool) -> bytes:
        item = self._item(spec)
        key = _WRONG_HEX_KEY if wrong else endpoint.secrets[0].reveal()
        return _dumps(self._batch(item, adyen.sign_item(item, key)))

    def sign(
        self, body: bytes, spec: Spec, endpoint: Endpoint, now: float, wrong: bool
    ) -> dict[str, str]:
        return {}  # Adyen signs inside the body; see `signed_body`

    def persisted_ids(self, body: bytes, spec: Spec) -> tuple[str, ...]:
        psp = spec.payment.id if spec.step == "AUTHORISATION" else spec.uid
        return (f"adyen:{psp}:{spec.step}",)


class StandardWebhooksBuilder:
    provider = standard_webhooks.name

    def lifecycle(self, rng: random.Random) -> tuple[str, ...]:
        return ("invoice.created", "invoice.paid")

    def body(self, spec: Spec) -> bytes:
        p = spec.payment
        payload: dict[str, Any] = {
            "timestamp": from_epoch(spec.occurred),
            "data": {"invoice": f"in_{p.id}", "amount": p.amount, "currency": p.currency},
        }
        if not spec.poison:  # without a type the payload cannot be normalized
            payload["type"] = spec.step
        return _dumps(payload)

    def sign(
        self, body: bytes, spec: Spec, endpoint: Endpoint, now: float, wrong: bool
    ) -> dict[str, str]:
        secret = _WRONG_SECRET if wrong else endpoint.secrets[0].reveal()
        msg_id = f"msg_{spec.uid}"
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now)),
            "webhook-signature": standard_webhooks.sign(body, secret, msg_id, int(now)),
        }

    def persisted_ids(self, body: bytes, spec: Spec) -> tuple[str, ...]:
        # The processor names the event by webhook-id when it passes headers to normalize,
        # else by the body's hash: either proves the event landed.
        digest = hashlib.sha256(body).hexdigest()
        return (f"standard-webhooks:msg_{spec.uid}", f"standard-webhooks:sha256:{digest}")


class PayPalBuilder:
    provider = paypal.name

    def __init__(self, key_dir: Path) -> None:
        self._key_dir = key_dir
        self._key: Any = None

    def lifecycle(self, rng: random.Random) -> tuple[str, ...]:
        steps = ("PAYMENT.CAPTURE.COMPLETED",)
        return (*steps, "PAYMENT.CAPTURE.REFUNDED") if rng.random() < 0.3 else (*steps, *steps)

    def body(self, spec: Spec) -> bytes:
        p = spec.payment
        value = f"{p.amount // 100}.{p.amount % 100:02d}"
        money = {"currency_code": p.currency, "value": value}
        if spec.step == "PAYMENT.CAPTURE.REFUNDED":
            up = f"https://api.paypal.com/v2/payments/captures/{p.id}"
            resource: dict[str, Any] = {"id": f"RF{spec.uid}", "status": "COMPLETED"}
            resource["links"] = [{"rel": "up", "href": up, "method": "GET"}]
        else:
            resource = {"id": p.id, "status": "COMPLETED"}
        resource["amount"] = money
        event = {"id": f"WH-{spec.uid}", "event_version": "1.0", "event_type": spec.step}
        return _dumps({**event, "create_time": _occurred(spec), "resource": resource})

    def sign(
        self, body: bytes, spec: Spec, endpoint: Endpoint, now: float, wrong: bool
    ) -> dict[str, str]:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding

        if self._key is None:  # loaded once: parsing a PEM per request would dominate
            pem = (self._key_dir / "key.pem").read_bytes()
            self._key = serialization.load_pem_private_key(pem, password=None)
        webhook_id = _WRONG_WEBHOOK_ID if wrong else (endpoint.webhook_id or "")
        tid = f"{spec.uid}-{int(now * 1000)}"
        sent = from_epoch(int(now)).replace(".000000Z", "Z")
        message = paypal.signed_message(tid, sent, webhook_id, body)
        signature = self._key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return {
            "PAYPAL-TRANSMISSION-ID": tid,
            "PAYPAL-TRANSMISSION-TIME": sent,
            "PAYPAL-TRANSMISSION-SIG": _b64(signature),
            "PAYPAL-CERT-URL": (self._key_dir / "cert.pem").resolve().as_uri(),
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        }

    def persisted_ids(self, body: bytes, spec: Spec) -> tuple[str, ...]:
        return (f"paypal:WH-{spec.uid}",)


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def builders(paypal_dir: Path | None) -> dict[str, Builder]:
    """The builder of each provider; PayPal only when its dev signing key exists."""
    table: dict[str, Builder] = {
        b.provider: b
        for b in (StripeBuilder(), SquareBuilder(), AdyenBuilder(), StandardWebhooksBuilder())
    }
    if paypal_dir is not None and (paypal_dir / "key.pem").is_file():
        table[paypal.name] = PayPalBuilder(paypal_dir)
    return table
