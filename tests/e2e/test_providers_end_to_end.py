"""Each of the five dev endpoints, end to end: a signed event becomes its row; a tampered one
is refused (401 at the edge, or `payments.rejected` for PayPal) and writes nothing."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from schemas import headers as h
from schemas.config import load_common
from schemas.providers import paypal, square, standard_webhooks, stripe
from schemas.topics import Topics
from tests.support import samples
from tests.support.http import post
from tests.support.kafka import read_topic
from tests.support.stack import Stack

DEV = load_common({"PAYPIPE_CONFIG": "config/dev.toml"}).endpoints


def secret(endpoint: str) -> str:
    return DEV[endpoint].secrets[0].reveal()


@dataclass(frozen=True)
class Case:
    endpoint: str
    body: bytes
    sign: Callable[[bytes, Stack], dict[str, str]]
    expected: tuple[str, str, str, int, str]  # event_id, type, payment_id, amount, currency
    accepted: int = 202


def stripe_headers(body: bytes, _: Stack) -> dict[str, str]:
    return {"Stripe-Signature": stripe.sign(body, secret("stripe"), int(time.time()))}


def standard_headers(body: bytes, _: Stack) -> dict[str, str]:
    now = int(time.time())
    return {
        "webhook-id": "msg_e2e_1",
        "webhook-timestamp": str(now),
        "webhook-signature": standard_webhooks.sign(body, secret("standard"), "msg_e2e_1", now),
    }


def square_headers(body: bytes, _: Stack) -> dict[str, str]:
    url = DEV["square"].notification_url or ""
    return {"x-square-hmacsha256-signature": square.sign(body, secret("square"), url)}


def paypal_headers(body: bytes, stack: Stack) -> dict[str, str]:
    return paypal.dev_headers(
        body,
        cert_dir=Path(stack.env["PAYPIPE_DEV_DIR"]) / "paypal",
        webhook_id=DEV["paypal"].webhook_id or "",
        now=time.time(),
    )


def no_headers(_: bytes, __: Stack) -> dict[str, str]:
    return {}  # Adyen signs inside the body, item by item


CASES = [
    Case(
        "stripe",
        samples.stripe_event(
            "payment_intent.succeeded", samples.payment_intent("succeeded", 2000, "jpy")
        ),
        stripe_headers,
        ("stripe:evt_", "payment.succeeded", "pi_", 2000, "JPY"),
    ),
    Case(
        "paypal",
        samples.paypal_event(
            "PAYMENT.CAPTURE.COMPLETED", "capture", samples.paypal_capture("COMPLETED", "10.99")
        ),
        paypal_headers,
        (
            "paypal:WH-2WR32451HC0233532-67976317FL4543714",
            "payment.succeeded",
            "2GG279541U471931P",
            1099,
            "USD",
        ),
    ),
    Case(
        "adyen",
        samples.adyen_body(samples.adyen_item("AUTHORISATION", value=1130, currency="EUR")),
        no_headers,
        (
            "adyen:8816178952380553:AUTHORISATION",
            "payment.authorized",
            "8816178952380553",
            1130,
            "EUR",
        ),
        accepted=200,
    ),
    Case(
        "square",
        samples.square_event(
            "payment.updated", "payment", samples.square_payment("COMPLETED", 1099)
        ),
        square_headers,
        (
            "square:13b867cf-db3d-4b1c-90b6-2f32a9d78124",
            "payment.succeeded",
            "KkAkhdMsgzn59SM8A89WgKwekxLZY",
            1099,
            "USD",
        ),
    ),
]


def rows(url: str, timeout: float = 30.0) -> list[tuple[object, ...]]:
    deadline = time.monotonic() + timeout
    found: list[tuple[object, ...]] = []
    while time.monotonic() < deadline:
        with psycopg.connect(url) as conn:
            found = conn.execute(
                "SELECT event_id, type, payment_id, amount, currency FROM payment_events"
            ).fetchall()
        if found:
            return found
        time.sleep(0.2)
    return found


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.endpoint)
def test_signed_event_becomes_its_row(stack: Stack, case: Case) -> None:
    status, answer = post(
        f"{stack.url}/webhooks/{case.endpoint}", case.body, case.sign(case.body, stack)
    )
    assert status == case.accepted, answer
    [row] = rows(stack.env["DATABASE_URL"])
    event_id, kind, payment_id, amount, currency = case.expected
    assert str(row[0]).startswith(event_id) and str(row[2]).startswith(payment_id)
    assert row[1:2] == (kind,) and row[3:] == (amount, currency)


def test_standard_webhooks_event_is_kept_as_other(stack: Stack) -> None:
    body = b'{"type":"invoice.paid","timestamp":"2024-05-01T11:59:58Z","data":{"id":"in_1"}}'
    status, _ = post(f"{stack.url}/webhooks/standard", body, standard_headers(body, stack))
    assert status == 202
    assert rows(stack.env["DATABASE_URL"]) == [
        ("standard-webhooks:msg_e2e_1", "other", None, None, None)
    ]


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.endpoint != "paypal"], ids=lambda c: c.endpoint
)
def test_tampered_event_is_401_and_writes_nothing(
    stack: Stack, case: Case, kafka_bootstrap: str, topics: Topics
) -> None:
    headers = case.sign(case.body, stack)
    tampered = case.body.replace(b"1", b"2", 1)
    status, _ = post(f"{stack.url}/webhooks/{case.endpoint}", tampered, headers)
    assert status == 401
    [copy] = await_rejected(kafka_bootstrap, topics)
    assert copy.value == tampered
    assert rows(stack.env["DATABASE_URL"], timeout=3) == []


def test_tampered_paypal_event_is_rejected_by_the_processor(
    stack: Stack, kafka_bootstrap: str, topics: Topics
) -> None:
    body = CASES[1].body
    headers = paypal_headers(body, stack)
    tampered = body.replace(b"10.99", b"99.99")
    status, _ = post(f"{stack.url}/webhooks/paypal", tampered, headers)
    assert status == 202  # RSA proof lives in the processors, not at the edge
    [copy] = await_rejected(kafka_bootstrap, topics)
    assert h.to_dict(copy.headers)[h.ERROR_CLASS] == "SignatureInvalid"
    assert rows(stack.env["DATABASE_URL"], timeout=3) == []


def await_rejected(bootstrap: str, topics: Topics) -> list:  # type: ignore[type-arg]
    import asyncio

    return asyncio.run(read_topic(bootstrap, topics.rejected, 1))
