"""The processor baseline: a plain aiokafka consume → HMAC verify → produce loop.

`python -m tests.bench.raw_loop BOOTSTRAP SOURCE DEST COUNT` reads COUNT Stripe raw records from
SOURCE (its own consumer group), verifies each signature with the same provider code the
processor uses, produces the body to DEST (acks=all) and commits after each batch is acknowledged.
"""

from __future__ import annotations

import asyncio
import sys
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas import headers as h
from schemas.config import load_common
from schemas.normalized import parse_rfc3339
from schemas.providers import stripe


async def loop(bootstrap: str, source: str, dest: str, count: int) -> None:
    endpoint = load_common().endpoints["stripe"]
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=f"bench-raw-loop-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    await consumer.start()
    await producer.start()
    done = 0
    try:
        while done < count:
            batch = await consumer.getmany(timeout_ms=500, max_records=500)
            futures = []
            for records in batch.values():
                for record in records:
                    headers = h.to_dict(record.headers)
                    received = parse_rfc3339(headers[h.RECEIVED_AT]).timestamp()
                    stripe.verify(
                        record.value or b"", h.provider_headers(headers), endpoint, received
                    )
                    futures.append(await producer.send(dest, value=record.value, key=record.key))
            await asyncio.gather(*futures)
            await consumer.commit()
            done += len(futures)
    finally:
        await producer.stop()
        await consumer.stop()


if __name__ == "__main__":
    asyncio.run(loop(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
