"""What a failed record carries to the retry tiers, the DLQ and the rejected topic.

A failed record keeps its raw body and headers byte for byte and gains the failure context:
attempts, first and last failure time, error class and message, the stage that failed, and
where it came from. Messages are our own sentences; they never contain payloads or secrets.
"""

from __future__ import annotations

from dataclasses import dataclass

from processors.records import RawRecord
from schemas import headers as h
from schemas.failures import failure_context, safe_message
from schemas.topics import Topics


@dataclass(frozen=True, slots=True)
class Route:
    topic: str
    headers: h.Headers
    attempts: int
    kind: str  # "retry", "dlq" or "rejected"


def _context(record: RawRecord, exc: BaseException, stage: str, now: float) -> dict[str, str]:
    return failure_context(record.headers, exc, stage, record.origin_text, now)


def reject(record: RawRecord, exc: BaseException, topics: Topics, now: float) -> Route:
    context = _context(record, exc, "verify", now)
    context[h.REASON] = safe_message(exc)
    return Route(topics.rejected, h.encode(context), int(context[h.ATTEMPTS]), "rejected")


def dead_letter(
    record: RawRecord, exc: BaseException, stage: str, topics: Topics, now: float
) -> Route:
    context = _context(record, exc, stage, now)
    context.pop(h.NOT_BEFORE, None)
    return Route(topics.dlq, h.encode(context), int(context[h.ATTEMPTS]), "dlq")


def retry_later(
    record: RawRecord,
    exc: BaseException,
    stage: str,
    topics: Topics,
    delays: tuple[int, ...],
    now: float,
    jitter: float = 0.0,
) -> Route:
    """The next retry tier, or the DLQ after the last one. `jitter` in [0, 1) spreads retries."""
    context = _context(record, exc, stage, now)
    attempts = int(context[h.ATTEMPTS])
    if attempts > len(delays):
        context.pop(h.NOT_BEFORE, None)
        return Route(topics.dlq, h.encode(context), attempts, "dlq")
    delay = delays[attempts - 1]
    context[h.NOT_BEFORE] = f"{now + delay * (1 + 0.2 * jitter):.3f}"
    return Route(topics.retry(delay), h.encode(context), attempts, "retry")
