"""Shared test material: official vectors, endpoints, realistic provider payloads, and a small
checker of normalized events against `schemas/normalized_event.v1.json`.

Payloads follow the providers' documented shapes (see shared/notes/providers-research.md);
signatures are computed with each provider module's own `sign` helper, whereas the official
vectors (shared/vectors) are the outside truth those helpers are tested against.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

import schemas
from schemas.config import Endpoint, Secret
from schemas.errors import PipelineError
from schemas.normalized import NormalizedEvent, RawRef
from schemas.providers import adyen
from schemas.providers.base import RawMeta

# CI clones the repository beside a copy of shared/, exactly as /work/main and /work/shared.
VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
if not (VECTORS / "README.md").is_file():
    raise RuntimeError(
        f"The official test vectors are missing: expected them at {VECTORS}. "
        "Check out shared/ beside the repository."
    )

META = RawMeta(
    endpoint="unit",
    received_at="2024-05-01T12:00:00.000000Z",
    raw=RawRef(topic="payments.raw", partition=0, offset=42),
)


def endpoint(provider: str, *secrets: str, **fields: Any) -> Endpoint:
    return Endpoint(
        name=f"test-{provider}",
        provider=provider,
        secrets=tuple(Secret(s) for s in secrets),
        **fields,
    )


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


# --- normalized_event.v1.json, checked without jsonschema (not installed) ---------------------

SCHEMA = json.loads(
    (Path(schemas.__file__).parent / "normalized_event.v1.json").read_text(encoding="utf-8")
)
_TYPES: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: type(v) is int,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "object": lambda v: isinstance(v, dict),
}


def schema_errors(value: Any, schema: dict[str, Any] = SCHEMA, path: str = "$") -> list[str]:
    """The keywords the v1 schema uses: type, const, enum, required, properties,
    additionalProperties, pattern, minLength, minimum, format date-time."""
    errors: list[str] = []
    kinds = schema.get("type")
    if kinds is not None:
        allowed = [kinds] if isinstance(kinds, str) else kinds
        if not any(_TYPES[k](value) for k in allowed):
            return [f"{path}: {value!r} is not of type {allowed}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} is not one of the enum")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{path}: shorter than minLength")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
        if schema.get("format") == "date-time" and not _is_datetime(value):
            errors.append(f"{path}: {value!r} is not an RFC 3339 date-time")
    if type(value) is int and value < schema.get("minimum", value):
        errors.append(f"{path}: below minimum")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        errors += [f"{path}: missing {k}" for k in schema.get("required", []) if k not in value]
        if schema.get("additionalProperties") is False:
            errors += [f"{path}: unexpected {k}" for k in value if k not in properties]
        for key, sub in properties.items():
            if key in value:
                errors += schema_errors(value[key], sub, f"{path}.{key}")
    return errors


def _is_datetime(text: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", text):
        return False
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def check(events: list[NormalizedEvent]) -> list[NormalizedEvent]:
    """Every event is valid against the v1 schema and survives its JSON round trip."""
    assert events, "normalize returned no event"
    for event in events:
        as_json = json.loads(event.to_json())
        assert schema_errors(as_json) == [], schema_errors(as_json)
        assert NormalizedEvent.from_json(event.to_json()) == event
        assert event.event_id == f"{event.provider}:{event.provider_event_id}"
        assert event.endpoint == META.endpoint and event.raw == META.raw
    return events


def one(events: list[NormalizedEvent]) -> NormalizedEvent:
    assert len(check(events)) == 1
    return events[0]


# --- strategies for the "never anything but PipelineError" properties -------------------------

# Header values reach providers decoded from HTTP or Kafka (errors="replace"): never surrogates.
header_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)
json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | header_text
json_values = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(header_text, inner, max_size=4),
    max_leaves=12,
)


def only_pipeline_errors(*calls: Callable[[], object]) -> None:
    """Each call returns or raises a PipelineError; anything else propagates and fails the test."""
    for call in calls:
        with contextlib.suppress(PipelineError):
            call()


def headers_for(names: tuple[str, ...]) -> st.SearchStrategy[dict[str, str]]:
    """Arbitrary header dicts that mostly use the provider's own header names."""
    known = st.sampled_from(names) if names else st.nothing()
    return st.dictionaries(known | header_text.map(str.lower), header_text, max_size=6)


def shaped(template: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """JSON bodies shaped like `template`, with each value replaced by arbitrary JSON or kept."""
    fields = {k: st.just(v) | json_values for k, v in template.items()}
    return st.fixed_dictionaries({}, optional=fields).map(dumps)


# --- Stripe ------------------------------------------------------------------------------------


def stripe_event(event_type: str, obj: dict[str, Any], **extra: Any) -> bytes:
    return dumps(
        {
            "id": "evt_1PgcJX2eZvKYlo2C0m8vQk1R",
            "object": "event",
            "api_version": "2024-06-20",
            "created": 1714564800,
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
            **extra,
        }
    )


def payment_intent(status: str, amount: int = 2000, currency: str = "usd") -> dict[str, Any]:
    return {
        "id": "pi_3PgcJX2eZvKYlo2C1a2b3c4d",
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount if status == "succeeded" else 0,
        "currency": currency,
        "status": status,
        "latest_charge": "ch_3PgcJX2eZvKYlo2C1xyz",
        "customer": None,
        "metadata": {},
    }


def charge(intent: str | None = "pi_3PgcJX2eZvKYlo2C1a2b3c4d", **fields: Any) -> dict[str, Any]:
    return {
        "id": "ch_3PgcJX2eZvKYlo2C1xyz",
        "object": "charge",
        "amount": 2000,
        "amount_captured": 2000,
        "amount_refunded": 0,
        "currency": "usd",
        "payment_intent": intent,
        "refunded": False,
        "status": "succeeded",
        **fields,
    }


def refund(status: str = "pending", **fields: Any) -> dict[str, Any]:
    return {
        "id": "re_3PgcJX2eZvKYlo2C1rfd",
        "object": "refund",
        "amount": 500,
        "charge": "ch_3PgcJX2eZvKYlo2C1xyz",
        "currency": "usd",
        "payment_intent": "pi_3PgcJX2eZvKYlo2C1a2b3c4d",
        "status": status,
        **fields,
    }


def dispute(status: str) -> dict[str, Any]:
    return {
        "id": "du_1PgcJX2eZvKYlo2Cdisp",
        "object": "dispute",
        "amount": 2000,
        "charge": "ch_3PgcJX2eZvKYlo2C1xyz",
        "currency": "usd",
        "payment_intent": "pi_3PgcJX2eZvKYlo2C1a2b3c4d",
        "reason": "fraudulent",
        "status": status,
        "is_charge_refundable": False,
    }


# --- Square ------------------------------------------------------------------------------------

SQUARE_URL = "http://127.0.0.1:8080/webhooks/square"


def square_event(event_type: str, family: str, obj: dict[str, Any]) -> bytes:
    return dumps(
        {
            "merchant_id": "6SSW7HV8K2ST5",
            "type": event_type,
            "event_id": "13b867cf-db3d-4b1c-90b6-2f32a9d78124",
            "created_at": "2024-05-01T11:59:58.123456789Z",
            "data": {"type": family, "id": obj["id"], "object": {family: obj}},
        }
    )


def square_payment(status: str, amount: int = 1099, currency: str = "USD") -> dict[str, Any]:
    return {
        "id": "KkAkhdMsgzn59SM8A89WgKwekxLZY",
        "amount_money": {"amount": amount, "currency": currency},
        "total_money": {"amount": amount, "currency": currency},
        "refunded_money": {"amount": 100, "currency": currency},
        "status": status,
        "source_type": "CARD",
        "location_id": "L88917AVBK2S5",
        "order_id": "03O3USaPaAaFnI6kkwB1JxGgBsUZY",
        "created_at": "2024-05-01T11:59:50.000Z",
        "updated_at": "2024-05-01T11:59:58.000Z",
    }


def square_refund(status: str) -> dict[str, Any]:
    return {
        "id": "KkAkhdMsgzn59SM8A89WgKwekxLZY_ptNOQ9mfw8ApMZqA8KRzmnDkyAbUJHUGCVdHZ",
        "amount_money": {"amount": 100, "currency": "USD"},
        "status": status,
        "payment_id": "KkAkhdMsgzn59SM8A89WgKwekxLZY",
        "order_id": "haOyDuHiqtAXMk0d8pDKXpL7Jg4F",
        "location_id": "L88917AVBK2S5",
    }


def square_dispute(state: str) -> dict[str, Any]:
    return {
        "id": "Lt6gYY7NtfKnLiF9tSTnDB",
        "dispute_id": "Lt6gYY7NtfKnLiF9tSTnDB",
        "amount_money": {"amount": 1099, "currency": "USD"},
        "reason": "NO_KNOWLEDGE",
        "state": state,
        "disputed_payment": {"payment_id": "KkAkhdMsgzn59SM8A89WgKwekxLZY"},
        "card_brand": "VISA",
    }


# --- Adyen -------------------------------------------------------------------------------------

ADYEN_KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
ADYEN_SLASH_KEY = "74F490DD33F7327BAECC88B2947C011FC02D014A473AAA33A8EC93E4DC069174"


def adyen_item(
    code: str,
    success: str = "true",
    psp: str = "8816178952380553",
    original: str | None = None,
    value: int | None = 1130,
    currency: str = "EUR",
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "additionalData": {},
        "eventCode": code,
        "eventDate": "2024-05-01T13:59:58+02:00",
        "merchantAccountCode": "PaypipeTestECOM",
        "merchantReference": "order-4711",
        "pspReference": psp,
        "reason": "",
        "success": success,
        "paymentMethod": "visa",
    }
    if value is not None:
        item["amount"] = {"currency": currency, "value": value}
    if original is not None:
        item["originalReference"] = original
    return item


def adyen_body(*items: dict[str, Any], key: str | None = ADYEN_KEY, live: str = "false") -> bytes:
    """A notification; each item is signed with `key` unless it is None (or already signed)."""
    wrapped = []
    for item in items:
        if key is not None and "hmacSignature" not in item.get("additionalData", {}):
            item = {**item, "additionalData": {**item.get("additionalData", {})}}
            item["additionalData"]["hmacSignature"] = adyen.sign_item(item, key)
        wrapped.append({"NotificationRequestItem": item})
    return dumps({"live": live, "notificationItems": wrapped})


# --- PayPal ------------------------------------------------------------------------------------


def paypal_event(event_type: str, resource_type: str, resource: dict[str, Any]) -> bytes:
    event_id = "WH-2WR32451HC0233532-67976317FL4543714"
    return dumps(
        {
            "id": event_id,
            "event_version": "1.0",
            "create_time": "2024-05-01T11:59:58.123Z",
            "resource_type": resource_type,
            "resource_version": "2.0",
            "event_type": event_type,
            "summary": "A PayPal event",
            "resource": resource,
            "links": [
                {
                    "href": f"https://api.paypal.com/v1/notifications/webhooks-events/{event_id}",
                    "rel": "self",
                    "method": "GET",
                }
            ],
        }
    )


def paypal_capture(status: str, value: str = "10.99", currency: str = "USD") -> dict[str, Any]:
    return {
        "id": "2GG279541U471931P",
        "status": status,
        "amount": {"currency_code": currency, "value": value},
        "final_capture": True,
        "seller_protection": {"status": "ELIGIBLE"},
        "payee": {"email_address": "merchant@example.com", "merchant_id": "7KNGBPH2U58GQ"},
        "supplementary_data": {"related_ids": {"order_id": "5O190127TN364715T"}},
        "create_time": "2024-05-01T11:59:50Z",
        "update_time": "2024-05-01T11:59:58Z",
        "links": [
            {
                "href": "https://api.paypal.com/v2/payments/captures/2GG279541U471931P",
                "rel": "self",
                "method": "GET",
            },
            {
                "href": "https://api.paypal.com/v2/payments/captures/2GG279541U471931P/refund",
                "rel": "refund",
                "method": "POST",
            },
        ],
    }


def paypal_refund(value: str = "1.00", total_refunded: str | None = "3.00") -> dict[str, Any]:
    breakdown: dict[str, Any] = {
        "gross_amount": {"currency_code": "USD", "value": value},
        "paypal_fee": {"currency_code": "USD", "value": "0.00"},
        "net_amount": {"currency_code": "USD", "value": value},
    }
    if total_refunded is not None:
        breakdown["total_refunded_amount"] = {"currency_code": "USD", "value": total_refunded}
    return {
        "id": "1JU08902781691411",
        "status": "COMPLETED",
        "amount": {"currency_code": "USD", "value": value},
        "seller_payable_breakdown": breakdown,
        "create_time": "2024-05-01T11:59:58Z",
        "links": [
            {
                "href": "https://api.paypal.com/v2/payments/refunds/1JU08902781691411",
                "rel": "self",
                "method": "GET",
            },
            {
                "href": "https://api.paypal.com/v2/payments/captures/2GG279541U471931P",
                "rel": "up",
                "method": "GET",
            },
        ],
    }


def paypal_authorization() -> dict[str, Any]:
    return {
        "id": "0VF52814937998046",
        "status": "CREATED",
        "amount": {"currency_code": "JPY", "value": "1000"},
        "expiration_time": "2024-05-30T11:59:58Z",
        "create_time": "2024-05-01T11:59:58Z",
    }


def paypal_dispute(status: str, outcome: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "dispute_id": "PP-D-27803",
        "create_time": "2024-05-01T11:59:58.000Z",
        "update_time": "2024-05-01T11:59:58.000Z",
        "disputed_transactions": [
            {
                "buyer_transaction_id": "4FA24455T8371563P",
                "seller_transaction_id": "2GG279541U471931P",
                "seller": {"merchant_id": "7KNGBPH2U58GQ"},
            }
        ],
        "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
        "status": status,
        "dispute_amount": {"currency_code": "USD", "value": "10.99"},
        "dispute_life_cycle_stage": "CHARGEBACK",
        "dispute_channel": "INTERNAL",
    }
    if outcome is not None:
        resource["dispute_outcome"] = {"outcome_code": outcome}
    return resource
