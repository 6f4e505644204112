"""Signed requests as providers send them, for the end-to-end tests and the load generator."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from schemas.providers.stripe import sign as stripe_sign

STRIPE_DEV_SECRET = "whsec_dev_stripe_0a1b2c3d4e5f60718293a4b5c6d7e8f9"


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any] | str]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            status, text = answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def stripe_event(
    event_id: str,
    kind: str = "payment_intent.succeeded",
    payment_id: str = "pi_e2e",
    amount: int = 1099,
    currency: str = "usd",
    created: int | None = None,
) -> bytes:
    status = kind.rsplit(".", 1)[-1]
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": kind,
            "livemode": False,
            "created": created if created is not None else int(time.time()),
            "data": {
                "object": {
                    "id": payment_id,
                    "object": "payment_intent",
                    "amount": amount,
                    "currency": currency,
                    "status": status,
                }
            },
        }
    ).encode()


def post_stripe(
    base: str,
    body: bytes,
    secret: str = STRIPE_DEV_SECRET,
    endpoint: str = "stripe",
    timestamp: int | None = None,
) -> tuple[int, dict[str, Any] | str]:
    header = stripe_sign(body, secret, timestamp if timestamp is not None else int(time.time()))
    return post(
        f"{base}/webhooks/{endpoint}",
        body,
        {"Stripe-Signature": header, "Content-Type": "application/json"},
    )
