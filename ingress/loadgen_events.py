"""The load generator's traffic: realistic, signed provider events, pure and seeded.

One builder per provider in `BUILDERS` (adding a provider is adding a builder): it writes the
body of one lifecycle step, signs it as the provider would (with the provider module's own sign
helper and the endpoint's configured secret) or with a wrong secret, and names the event id the
pipeline will persist. `Traffic` mixes endpoints by weight, walks interleaved payment lifecycles
and injects duplicates, out-of-order deliveries, bad signatures and poison payloads in the
requested ratios. Signatures are made at send time (`Traffic.sign`), so timestamps stay fresh.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
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


@dataclass(frozen=True, slots=True)
class Ratios:
    """Fractions of all deliveries."""

    duplicates: float = 0.0
    out_of_order: float = 0.0
    bad_signatures: float = 0.0
    poison: float = 0.0

    def check(self) -> None:
        values = (self.duplicates, self.out_of_order, self.bad_signatures, self.poison)
        if any(v < 0 for v in values):
            raise ValueError("Ratios cannot be negative.")
        # An out-of-order swap spends two deliveries, so it counts twice against the budget.
        if self.duplicates + self.bad_signatures + self.poison + 2 * self.out_of_order > 1:
            raise ValueError("The ratios leave no room for ordinary deliveries.")


@dataclass
class _Open:
    payment: Payment
    endpoint: str
    next_step: int = 0


@dataclass
class Traffic:
    """An endless, seeded stream of deliveries over `endpoints`, mixed by `mix` weights."""

    endpoints: Mapping[str, Endpoint]
    builders: Mapping[str, Builder]
    mix: Mapping[str, float]
    ratios: Ratios
    run: str
    seed: int = 0
    clock: float = 1_767_225_600.0  # occurred-at of the first event; steps move it forward
    concurrent_payments: int = 64
    _rng: random.Random = field(init=False)
    _open: list[_Open] = field(init=False, default_factory=list)
    _queue: deque[Delivery] = field(init=False, default_factory=deque)
    _recent: deque[Delivery] = field(init=False, default_factory=lambda: deque(maxlen=2048))
    _seq: int = field(init=False, default=0)
    _uids: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.ratios.check()
        # A seeded generator makes the load reproducible; nothing secret depends on it.
        self._rng = random.Random(self.seed)  # noqa: S311  # nosec B311
        unknown = [e for e in self.mix if e not in self.endpoints]
        if unknown:
            raise ValueError(f"The mix names endpoints that are not configured: {unknown}.")
        self._names = [e for e, w in self.mix.items() if w > 0]
        self._weights = [self.mix[e] for e in self._names]
        if not self._names:
            raise ValueError("The mix has no endpoint with a positive weight.")
        # Each draw yields 1 delivery, or 2 for an out-of-order swap: scale so that the
        # ratios hold over deliveries (E = 1 / (1 - out_of_order) deliveries per draw).
        scale = 1 / (1 - self.ratios.out_of_order)
        r = self.ratios
        self._cuts = (r.duplicates * scale, r.bad_signatures * scale, r.poison * scale)
        self._swap = r.out_of_order * scale

    def __iter__(self) -> Traffic:
        return self

    def __next__(self) -> Delivery:
        if not self._queue:
            self._draw()
        return self._queue.popleft()

    def builder(self, endpoint: str) -> Builder:
        return self.builders[self.endpoints[endpoint].provider]

    def sign(self, delivery: Delivery, now: float) -> tuple[bytes, dict[str, str]]:
        """The body and HTTP headers as the provider would send them at `now`."""
        endpoint = self.endpoints[delivery.endpoint]
        wrong = delivery.kind == "bad_signature"
        builder = self.builder(delivery.endpoint)
        if isinstance(builder, AdyenBuilder):
            return builder.signed_body(delivery.spec, endpoint, wrong), _JSON
        headers = builder.sign(delivery.body, delivery.spec, endpoint, now, wrong)
        return delivery.body, {**_JSON, **headers}

    def _draw(self) -> None:
        roll = self._rng.random()
        dup, bad, poison = self._cuts
        if roll < dup:
            if not self._recent:  # nothing to repeat yet
                return self._emit_step(swap=False)
            original = self._rng.choice(self._recent)
            self._emit(original.endpoint, original.spec, "duplicate", body=original.body)
        elif roll < dup + bad:
            self._emit_one_off("bad_signature")
        elif roll < dup + bad + poison:
            self._emit_one_off("poison")
        else:
            self._emit_step(swap=roll < dup + bad + poison + self._swap)

    def _emit_one_off(self, kind: Kind) -> None:
        endpoint = self._rng.choices(self._names, self._weights)[0]
        payment = self._payment(endpoint)
        spec = self._spec(payment, 0, poison=kind == "poison")
        self._emit(endpoint, spec, kind)

    def _emit_step(self, swap: bool) -> None:
        while len(self._open) < self.concurrent_payments:
            self._open.append(self._new_open())
        roomy = [o for o in self._open if o.next_step + 1 < len(o.payment.steps)] if swap else []
        if swap and not roomy:  # every new payment has two steps or more
            self._open.append(self._new_open())
            roomy = self._open[-1:]
        current = self._rng.choice(roomy or self._open)
        steps = current.payment.steps
        if swap:
            early = self._spec(current.payment, current.next_step)
            later = self._spec(current.payment, current.next_step + 1)
            self._emit(current.endpoint, later, "good")
            self._emit(current.endpoint, early, "good", late=True)
            current.next_step += 2
        else:
            self._emit(current.endpoint, self._spec(current.payment, current.next_step), "good")
            current.next_step += 1
        if current.next_step >= len(steps):
            self._open.remove(current)

    def _new_open(self) -> _Open:
        endpoint = self._rng.choices(self._names, self._weights)[0]
        return _Open(self._payment(endpoint), endpoint)

    def _payment(self, endpoint: str) -> Payment:
        rng = self._rng
        currency = rng.choice(("USD", "EUR", "GBP"))
        self._uids += 1
        steps = self.builder(endpoint).lifecycle(rng)
        return Payment(f"{self.run}p{self._uids}", rng.randrange(100, 100_000), currency, steps)

    def _spec(self, payment: Payment, step: int, poison: bool = False) -> Spec:
        self._uids += 1
        self.clock += 0.001
        occurred = self.clock + step  # later steps happen later, whatever the delivery order
        return Spec(f"{self.run}e{self._uids}", payment.steps[step], payment, occurred, poison)

    def _emit(
        self, endpoint: str, spec: Spec, kind: Kind, body: bytes | None = None, late: bool = False
    ) -> None:
        builder = self.builder(endpoint)
        body = body if body is not None else builder.body(spec)
        self._seq += 1
        delivery = Delivery(
            seq=self._seq,
            request_id=f"{self.run}-{self._seq}",
            endpoint=endpoint,
            provider=builder.provider,
            kind=kind,
            spec=spec,
            body=body,
            key=f"{endpoint}:{spec.uid}",
            persisted_ids=builder.persisted_ids(body, spec),
            late=late,
        )
        if kind == "good":
            self._recent.append(delivery)
        self._queue.append(delivery)


_JSON = {"Content-Type": "application/json"}


def parse_mix(text: str) -> dict[str, float]:
    """`stripe=4,adyen=2` → {"stripe": 4.0, "adyen": 2.0}; weights need not sum to one."""
    mix: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, weight = part.partition("=")
        try:
            mix[name.strip()] = float(weight) if sep else 1.0
        except ValueError as exc:
            raise ValueError(f"The mix entry {part!r} is not name=weight.") from exc
    return mix


def default_mix(
    endpoints: Mapping[str, Endpoint], available: Mapping[str, Builder]
) -> dict[str, float]:
    """Every configured endpoint whose provider has a builder, weighted by DEFAULT_WEIGHTS."""
    return {
        name: float(DEFAULT_WEIGHTS.get(e.provider, 1))
        for name, e in endpoints.items()
        if e.provider in available
    }
