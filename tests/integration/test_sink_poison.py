"""A record the database refuses is isolated and dead-lettered; its batch mates are written."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from aiokafka import AIOKafkaProducer

from schemas import headers as h
from schemas.topics import Topics
from tests.support.events import event
from tests.support.kafka import read_topic
from tests.support.stack import Stack


@pytest.fixture
def sink(kafka_bootstrap: str, clean_db: str, topics: Topics, tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(kafka_bootstrap, clean_db, topics.prefix, tmp_path)
    try:
        stack.start("sink")
        yield stack
    finally:
        stack.stop_all()


async def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=50)
    await producer.start()
    try:
        futures = [await producer.send(topic, value=v, key=k) for k, v in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def test_a_refused_row_and_an_unreadable_record_are_dead_lettered_alone(
    sink: Stack, kafka_bootstrap: str, topics: Topics
) -> None:
    good = [event(n, "payment.succeeded", payment_id=f"pi_poison_{n}") for n in range(6)]
    refused = dataclasses.replace(
        good[0], provider_event_id="evt_refused", currency="USDX"
    )  # char(3)
    records = [(e.key.encode(), e.to_json()) for e in good[:3]]
    records += [(refused.key.encode(), refused.to_json()), (b"stripe:garbage", b"not json at all")]
    records += [(e.key.encode(), e.to_json()) for e in good[3:]]
    asyncio.run(produce(kafka_bootstrap, topics.normalized, records))

    dead = asyncio.run(read_topic(kafka_bootstrap, topics.dlq, 2, wait_seconds=30))
    contexts = sorted(
        (h.to_dict(d.headers)[h.STAGE], h.to_dict(d.headers)[h.ERROR_CLASS], d.value) for d in dead
    )
    assert [(stage, value) for stage, _, value in contexts] == sorted(
        [("sink", refused.to_json()), ("sink", b"not json at all")]
    )
    assert any(cls == "StringDataRightTruncation" for _, cls, _ in contexts)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with psycopg.connect(sink.env["DATABASE_URL"]) as conn:
            ids = {r[0] for r in conn.execute("SELECT event_id FROM payment_events")}
        if len(ids) >= 6:
            break
        time.sleep(0.2)
    assert ids == {e.event_id for e in good}
