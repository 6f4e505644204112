"""The normalized event, schema version 1: what `payments.normalized` carries.

The JSON Schema twin lives in `normalized_event.v1.json`; a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

SCHEMA_VERSION = 1

EVENT_TYPES = frozenset(
    {
        "payment.created",
        "payment.authorized",
        "payment.succeeded",
        "payment.failed",
        "payment.canceled",
        "refund.created",
        "refund.succeeded",
        "refund.failed",
        "dispute.opened",
        "dispute.updated",
        "dispute.won",
        "dispute.lost",
        "other",
    }
)

PROVIDERS = frozenset({"stripe", "paypal", "adyen", "square", "standard-webhooks"})


@dataclass(frozen=True, slots=True)
class RawRef:
    """Where the raw record an event came from sits in Kafka."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class NormalizedEvent:
    provider: str
    endpoint: str
    provider_event_id: str
    provider_event_type: str
    type: str
    payment_id: str | None
    amount: int | None
    currency: str | None
    amount_refunded: int | None
    status: str | None
    occurred_at: str
    received_at: str
    livemode: bool | None
    account: str | None
    raw: RawRef
    schema_version: int = SCHEMA_VERSION
    event_id: str = field(default="")

    def __post_init__(self) -> None:
        if not self.event_id:
            object.__setattr__(self, "event_id", f"{self.provider}:{self.provider_event_id}")
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown normalized type {self.type!r}")
        for name in ("amount", "amount_refunded"):
            value = getattr(self, name)
            # bool is an int subclass; money is never a float nor a flag.
            if value is not None and (type(value) is not int):
                raise TypeError(f"{name} must be an int of minor units")

    @property
    def key(self) -> str:
        """The `payments.normalized` key: all of a payment's events share a partition."""
        return f"{self.provider}:{self.payment_id or self.provider_event_id}"

    def to_dict(self) -> dict[str, Any]:
        # Built by hand: dataclasses.asdict deep-copies every field and was half the
        # processor's per-event time.
        raw = self.raw
        return {
            "account": self.account,
            "amount": self.amount,
            "amount_refunded": self.amount_refunded,
            "currency": self.currency,
            "endpoint": self.endpoint,
            "event_id": self.event_id,
            "livemode": self.livemode,
            "occurred_at": self.occurred_at,
            "payment_id": self.payment_id,
            "provider": self.provider,
            "provider_event_id": self.provider_event_id,
            "provider_event_type": self.provider_event_type,
            "raw": {"topic": raw.topic, "partition": raw.partition, "offset": raw.offset},
            "received_at": self.received_at,
            "schema_version": self.schema_version,
            "status": self.status,
            "type": self.type,
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NormalizedEvent:
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"unsupported schema_version {data.get('schema_version')!r}")
        fields = dict(data)
        fields["raw"] = RawRef(**fields["raw"])
        return cls(**fields)

    @classmethod
    def from_json(cls, payload: bytes) -> NormalizedEvent:
        return cls.from_dict(orjson.loads(payload))


def rfc3339(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds and a `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_epoch(seconds: float) -> str:
    return rfc3339(datetime.fromtimestamp(seconds, UTC))


def parse_rfc3339(text: str) -> datetime:
    """Parse RFC 3339 (`Z` or offset, any fraction precision) into an aware UTC datetime."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    # Python 3.11 takes up to microseconds; providers send nanoseconds (Square).
    if "." in value:
        head, _, rest = value.partition(".")
        digits = ""
        for ch in rest:
            if not ch.isdigit():
                break
            digits += ch
        value = f"{head}.{digits[:6].ljust(6, '0')}{rest[len(digits) :]}"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
