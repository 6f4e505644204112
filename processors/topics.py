"""Creating the pipeline's topics, with retention that limits how long payloads are kept."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from schemas.topics import Topics

logger = logging.getLogger(__name__)

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    retention_ms: int


def pipeline_topics(
    topics: Topics, partitions: int, retry_delays: tuple[int, ...]
) -> list[TopicSpec]:
    """Every topic the pipeline writes, with its retention (raw payloads are not kept for ever)."""
    specs = [
        # Raw bodies hold personal data: a week covers replays after any outage we plan for.
        TopicSpec(topics.raw, partitions, 7 * DAY_MS),
        TopicSpec(topics.normalized, partitions, 30 * DAY_MS),
        TopicSpec(topics.rejected, partitions, 7 * DAY_MS),
        TopicSpec(topics.dlq, partitions, 30 * DAY_MS),
    ]
    specs += [TopicSpec(topics.retry(d), partitions, 7 * DAY_MS) for d in retry_delays]
    return specs


async def create_topics(bootstrap: str, specs: list[TopicSpec], attempts: int = 30) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="paypipe-admin")
    for attempt in range(attempts):
        try:
            await admin.start()
            break
        except KafkaConnectionError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(1)
    try:
        existing = set(await admin.list_topics())
        wanted = [s for s in specs if s.name not in existing]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process won the race
                await admin.create_topics(
                    [
                        NewTopic(
                            s.name,
                            s.partitions,
                            1,
                            topic_configs={"retention.ms": str(s.retention_ms)},
                        )
                        for s in wanted
                    ]
                )
        return [s.name for s in wanted]
    finally:
        await admin.close()
