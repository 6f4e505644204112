"""The load generator's traffic: realistic, signed provider events, pure and seeded.

The per-provider builders live in `ingress.loadgen_providers`. `Traffic` mixes endpoints by weight, walks interleaved payment lifecycles
and injects duplicates, out-of-order deliveries, bad signatures and poison payloads in the
requested ratios. Signatures are made at send time (`Traffic.sign`), so timestamps stay fresh.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from ingress.loadgen_providers import (
    DEFAULT_WEIGHTS,
    AdyenBuilder,
    Builder,
    Delivery,
    Kind,
    Payment,
    Spec,
)
from schemas.config import Endpoint


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
