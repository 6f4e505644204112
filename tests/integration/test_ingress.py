"""The ingress against a real broker: every answer of the contract's HTTP table."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ingress.app import create_app
from ingress.settings import IngressSettings
from schemas import headers as h
from schemas.providers.stripe import sign
from schemas.topics import Topics
from tests.support.http import STRIPE_DEV_SECRET, stripe_event
from tests.support.kafka import read_topic


def settings_for(bootstrap: str, topics: Topics, **overrides: str) -> IngressSettings:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "PAYPIPE_TOPIC_PREFIX": topics.prefix,
        "PAYPIPE_CONFIG": "config/dev.toml",
        **overrides,
    }
    return IngressSettings.load(env)


async def started(settings: IngressSettings, wait_ready: bool = True) -> TestClient:
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    if wait_ready:
        for _ in range(100):
            if (await client.get("/readyz")).status == 200:
                break
            await asyncio.sleep(0.1)
    return client


@pytest.fixture
async def client(kafka_bootstrap: str, topics: Topics) -> AsyncIterator[TestClient]:
    c = await started(settings_for(kafka_bootstrap, topics))
    yield c
    await c.close()


def signed(body: bytes, secret: str = STRIPE_DEV_SECRET) -> dict[str, str]:
    return {
        "Stripe-Signature": sign(body, secret, int(time.time())),
        "Content-Type": "application/json",
    }


async def test_accepted_body_lands_on_raw_byte_for_byte(
    client: TestClient, kafka_bootstrap: str, topics: Topics
) -> None:
    body = stripe_event("evt_ing_1") + b"  \n"  # trailing bytes must survive untouched
    answer = await client.post(
        "/webhooks/stripe", data=body, headers={**signed(body), "X-Request-Id": "req-1"}
    )
    assert answer.status == 202
    assert (await answer.json()) == {"status": "accepted", "request_id": "req-1"}

    [record] = await read_topic(kafka_bootstrap, topics.raw, 1)
    assert record.key == b"stripe:evt_ing_1"
    assert record.value == body
    headers = h.to_dict(record.headers)
    assert headers[h.ENDPOINT] == "stripe"
    assert headers[h.PROVIDER] == "stripe"
    assert headers[h.REQUEST_ID] == "req-1"
    assert headers["http-stripe-signature"] == signed(body)["Stripe-Signature"]
    assert headers[h.RECEIVED_AT].endswith("Z")


async def test_unknown_endpoint_is_404(client: TestClient) -> None:
    answer = await client.post("/webhooks/nope", data=b"{}")
    assert answer.status == 404


async def test_body_over_the_limit_is_413(client: TestClient) -> None:
    body = b"x" * (1024 * 1024 + 1)
    answer = await client.post("/webhooks/stripe", data=body, headers=signed(body))
    assert answer.status == 413


async def test_missing_signature_header_is_400(
    client: TestClient, kafka_bootstrap: str, topics: Topics
) -> None:
    answer = await client.post("/webhooks/stripe", data=stripe_event("evt_nosig"))
    assert answer.status == 400
    assert await read_topic(kafka_bootstrap, topics.raw, 1, wait_seconds=2) == []


async def test_malformed_signature_header_is_400(client: TestClient) -> None:
    answer = await client.post(
        "/webhooks/stripe", data=b"{}", headers={"Stripe-Signature": "t=abc"}
    )
    assert answer.status == 400


async def test_wrong_signature_is_401_with_a_copy_on_rejected(
    client: TestClient, kafka_bootstrap: str, topics: Topics
) -> None:
    body = stripe_event("evt_forged")
    answer = await client.post(
        "/webhooks/stripe", data=body, headers=signed(body, "whsec_attacker")
    )
    assert answer.status == 401
    [copy] = await read_topic(kafka_bootstrap, topics.rejected, 1)
    assert copy.value == body
    assert h.to_dict(copy.headers)[h.REASON]
    assert await read_topic(kafka_bootstrap, topics.raw, 1, wait_seconds=2) == []


async def test_secret_never_appears_in_answers(client: TestClient) -> None:
    body = stripe_event("evt_secret")
    answer = await client.post(
        "/webhooks/stripe", data=body, headers=signed(body, "whsec_attacker")
    )
    assert STRIPE_DEV_SECRET not in await answer.text()
    metrics = await (await client.get("/metrics")).text()
    assert STRIPE_DEV_SECRET not in metrics


async def test_health_ready_metrics(client: TestClient) -> None:
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/readyz")).status == 200
    body = stripe_event("evt_metrics")
    await client.post("/webhooks/stripe", data=body, headers=signed(body))
    text = await (await client.get("/metrics")).text()
    assert 'paypipe_ingress_requests_total{endpoint="stripe",status="202"}' in text


async def test_broker_unreachable_is_503_with_retry_after(topics: Topics) -> None:
    # Nothing listens on port 1: the producer never connects.
    client = await started(settings_for("127.0.0.1:1", topics), wait_ready=False)
    try:
        assert (await client.get("/readyz")).status == 503
        body = stripe_event("evt_down")
        answer = await client.post("/webhooks/stripe", data=body, headers=signed(body))
        assert answer.status == 503
        assert int(answer.headers["Retry-After"]) > 0
        assert "error" in json.loads(await answer.text())
    finally:
        await client.close()
