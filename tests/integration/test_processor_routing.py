"""The processor as a process on a real broker: every raw record ends in exactly one place."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from schemas import headers as h
from schemas.normalized import rfc3339
from schemas.providers.stripe import sign
from schemas.topics import Topics
from tests.support.http import STRIPE_DEV_SECRET, stripe_event
from tests.support.kafka import read_topic
from tests.support.stack import Stack


@pytest.fixture
def processor(
    kafka_bootstrap: str, database_url: str, topics: Topics, tmp_path: Path
) -> Iterator[Stack]:
    stack = Stack(kafka_bootstrap, database_url, topics.prefix, tmp_path)
    try:
        stack.start("processor")
        yield stack
    finally:
        stack.stop_all()


def raw_headers(
    body: bytes, secret: str = STRIPE_DEV_SECRET, request_id: str = "r"
) -> list[tuple[str, bytes]]:
    from datetime import UTC, datetime

    return h.encode(
        {
            h.ENDPOINT: "stripe",
            h.PROVIDER: "stripe",
            h.REQUEST_ID: request_id,
            h.RECEIVED_AT: rfc3339(datetime.now(UTC)),
            "http-stripe-signature": sign(body, secret, int(time.time())),
        }
    )


async def produce(
    bootstrap: str, topic: str, records: list[tuple[bytes, bytes, list[tuple[str, bytes]]]]
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value, headers in records:
            await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()


async def test_good_forged_and_poison_records_each_end_in_their_place(
    processor: Stack, kafka_bootstrap: str, topics: Topics
) -> None:
    good = stripe_event("evt_route_good", payment_id="pi_route")
    forged = stripe_event("evt_route_forged")
    poison = json.dumps({"id": "evt_route_poison", "type": "payment_intent.succeeded"}).encode()
    await produce(
        kafka_bootstrap,
        topics.raw,
        [
            (b"stripe:evt_route_good", good, raw_headers(good, request_id="req-good")),
            (b"stripe:evt_route_good", good, raw_headers(good)),  # a duplicate delivery
            (b"stripe:evt_route_forged", forged, raw_headers(forged, secret="whsec_forger")),
            (b"stripe:evt_route_poison", poison, raw_headers(poison)),
        ],
    )

    [normalized] = await read_topic(kafka_bootstrap, topics.normalized, 1)
    assert normalized.key == b"stripe:pi_route"
    event = json.loads(normalized.value)
    assert event["event_id"] == "stripe:evt_route_good" and event["type"] == "payment.succeeded"
    assert event["raw"]["topic"] == topics.raw
    assert h.to_dict(normalized.headers)[h.REQUEST_ID] == "req-good"

    [rejected] = await read_topic(kafka_bootstrap, topics.rejected, 1)
    assert rejected.value == forged
    assert "signature" in h.to_dict(rejected.headers)[h.REASON].lower()

    [dead] = await read_topic(kafka_bootstrap, topics.dlq, 1)
    context = h.to_dict(dead.headers)
    assert dead.value == poison  # byte for byte, ready for replay
    assert context[h.ERROR_CLASS] == "PayloadInvalid"
    assert context[h.STAGE] == "verify" and context[h.ATTEMPTS] == "1"
    assert context[h.SOURCE].startswith(f"{topics.raw}[")

    # The duplicate produced nothing more anywhere.
    assert len(await read_topic(kafka_bootstrap, topics.normalized, 2, wait_seconds=3)) == 1


async def test_a_record_for_an_unknown_endpoint_is_dead_lettered(
    processor: Stack, kafka_bootstrap: str, topics: Topics
) -> None:
    body = stripe_event("evt_ghost")
    headers = [(k, v) for k, v in raw_headers(body) if k != h.ENDPOINT] + [(h.ENDPOINT, b"ghost")]
    await produce(kafka_bootstrap, topics.raw, [(b"ghost:evt_ghost", body, headers)])
    [dead] = await read_topic(kafka_bootstrap, topics.dlq, 1)
    assert h.to_dict(dead.headers)[h.ERROR_CLASS] == "PayloadInvalid"


async def test_bursts_across_partitions_lose_and_double_nothing(
    processor: Stack, kafka_bootstrap: str, topics: Topics
) -> None:
    # Regression: binding batch events by changing the stream's current_event made take_events
    # attach an old event to a newly buffered record, which was then acked unprocessed.
    records = []
    for n in range(300):
        body = stripe_event(f"evt_burst_{n}", payment_id=f"pi_burst_{n}")
        records.append((f"stripe:evt_burst_{n}".encode(), body, raw_headers(body)))
    for start in range(0, len(records), 50):  # bursts, so batches fill while others are handled
        await produce(kafka_bootstrap, topics.raw, records[start : start + 50])
    normalized = await read_topic(kafka_bootstrap, topics.normalized, 300, wait_seconds=60)
    ids = [json.loads(r.value)["event_id"] for r in normalized]
    assert len(ids) == len(set(ids)) == 300
