"""An insider who edits a dead letter and replays it gains nothing: it is verified again.

The DLQ keeps the raw body and the provider's signature headers. Someone with access to the
operator tools could alter the body (say, the amount) and replay it; the replayed record goes
back before verification, fails its signature, and lands on `payments.rejected`, not in
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import UTC, datetime

import psycopg
from aiokafka import AIOKafkaProducer

from schemas import headers as h
from schemas.normalized import rfc3339
from schemas.providers.stripe import sign
from schemas.topics import Topics
from tests.support.http import STRIPE_DEV_SECRET, stripe_event
from tests.support.kafka import read_topic
from tests.support.services import ROOT
from tests.support.stack import Stack


async def plant_dead_letter(
    bootstrap: str, topic: str, body: bytes, headers: dict[str, str]
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            topic, value=body, key=b"stripe:evt_insider", headers=h.encode(headers)
        )
    finally:
        await producer.stop()


def test_a_tampered_dead_letter_is_verified_again_and_rejected(
    stack: Stack, kafka_bootstrap: str, topics: Topics
) -> None:
    original = stripe_event("evt_insider", payment_id="pi_insider", amount=1000)
    now = datetime.now(UTC)
    signature = sign(original, STRIPE_DEV_SECRET, int(now.timestamp()))
    tampered = original.replace(b'"amount": 1000', b'"amount": 900000')
    assert tampered != original
    context = {
        h.ENDPOINT: "stripe",
        h.PROVIDER: "stripe",
        h.REQUEST_ID: "req-insider",
        h.RECEIVED_AT: rfc3339(now),
        h.EVENT_ID: "evt_insider",
        "http-stripe-signature": signature,
        h.ATTEMPTS: "1",
        h.FIRST_FAILURE_AT: rfc3339(now),
        h.LAST_FAILURE_AT: rfc3339(now),
        h.ERROR_CLASS: "CertFetchFailed",
        h.ERROR_MESSAGE: "The certificate could not be fetched.",
        h.STAGE: "verify",
        h.SOURCE: f"{topics.raw}[0]@0",
    }
    asyncio.run(plant_dead_letter(kafka_bootstrap, topics.dlq, tampered, context))

    result = subprocess.run(
        [sys.executable, "-m", "schemas.cli", "dlq", "replay", "--key", "stripe:evt_insider"],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    [rejected] = asyncio.run(read_topic(kafka_bootstrap, topics.rejected, 1, wait_seconds=30))
    assert rejected.value == tampered
    assert h.to_dict(rejected.headers)[h.ERROR_CLASS] == "SignatureInvalid"
    time.sleep(2)
    with psycopg.connect(stack.env["DATABASE_URL"]) as conn:
        assert conn.execute("SELECT count(*) FROM payment_events").fetchone() == (0,)
