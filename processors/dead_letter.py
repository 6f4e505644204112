"""What a failed record carries to the retry tiers, the DLQ and the rejected topic.

A failed record keeps its raw body and headers byte for byte and gains the failure context:
attempts, first and last failure time, error class and message, the stage that failed, and
where it came from. Messages are our own sentences; they never contain payloads or secrets.
"""

from __future__ import annotations

from dataclasses import dataclass

from processors.records import RawRecord
from schemas import headers as h
from schemas.errors import error_class
from schemas.normalized import from_epoch
from schemas.topics import Topics


@dataclass(frozen=True, slots=True)
class Route:
    topic: str
    headers: h.Headers
    attempts: int
    kind: str  # "retry", "dlq" or "rejected"


def _context(record: RawRecord, exc: BaseException, stage: str, now: float) -> dict[str, str]:
    previous = record.headers
    attempts = int(previous.get(h.ATTEMPTS, "0")) + 1
    context = dict(previous)
    context.update(
        {
            h.ATTEMPTS: str(attempts),
            h.FIRST_FAILURE_AT: previous.get(h.FIRST_FAILURE_AT, from_epoch(now)),
            h.LAST_FAILURE_AT: from_epoch(now),
            h.ERROR_CLASS: error_class(exc),
            h.ERROR_MESSAGE: _message(exc),
            h.STAGE: stage,
            h.SOURCE: record.origin_text,
        }
    )
    return context


def _message(exc: BaseException) -> str:
    from schemas.errors import PipelineError

    # Our own errors speak in safe sentences; anything else may quote data, so only its class.
    text = str(exc) if isinstance(exc, PipelineError) else f"Unexpected {type(exc).__name__}."
    return text[:500]


def reject(record: RawRecord, exc: BaseException, topics: Topics, now: float) -> Route:
    context = _context(record, exc, "verify", now)
    context[h.REASON] = _message(exc)
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
