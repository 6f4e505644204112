"""Abuse limits on a running ingress: 429, 408 for slow bodies, 400 for oversized headers."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ingress.app import create_app, server_options
from ingress.settings import IngressSettings
from schemas.topics import Topics
from tests.integration.test_ingress import signed
from tests.support.http import stripe_event


@pytest.fixture
def limits_config(tmp_path: Path) -> Path:
    config = tmp_path / "limits.toml"
    dev = Path("config/dev.toml").read_text()
    config.write_text(
        dev.replace("endpoint_rate = 0", "endpoint_rate = 1000")
        .replace("source_rate = 0", "source_rate = 3\nsource_burst = 3")
        .replace("body_timeout_seconds = 10", "body_timeout_seconds = 0.5")
        .replace("max_header_bytes = 8190", "max_header_bytes = 1024")
    )
    return config


@pytest.fixture
async def limited(
    kafka_bootstrap: str, topics: Topics, limits_config: Path
) -> AsyncIterator[TestClient]:
    config = limits_config
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "PAYPIPE_TOPIC_PREFIX": topics.prefix,
        "PAYPIPE_CONFIG": str(config),
    }
    settings = IngressSettings.load(env)
    client = TestClient(TestServer(create_app(settings), **server_options(settings)))
    await client.start_server()
    for _ in range(100):
        if (await client.get("/readyz")).status == 200:
            break
        await asyncio.sleep(0.1)
    yield client
    await client.close()


async def test_a_source_over_its_rate_gets_429_with_retry_after(limited: TestClient) -> None:
    statuses = []
    for n in range(5):
        body = stripe_event(f"evt_rate_{n}")
        answer = await limited.post("/webhooks/stripe", data=body, headers=signed(body))
        statuses.append(answer.status)
        if answer.status == 429:
            assert int(answer.headers["Retry-After"]) >= 1
    assert statuses == [202, 202, 202, 429, 429]


async def test_a_slow_body_is_cut_off_with_408(limited: TestClient) -> None:
    reader, writer = await asyncio.open_connection(limited.host, limited.port)
    writer.write(
        b"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
        b"Stripe-Signature: t=1,v1=00\r\n\r\n{"
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), timeout=5)
    writer.close()
    assert b" 408 " in status_line


async def test_oversized_headers_are_refused(limited: TestClient) -> None:
    answer = await limited.post("/webhooks/stripe", data=b"{}", headers={"X-Big": "a" * 4096})
    assert answer.status in (400, 431)
