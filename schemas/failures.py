"""The failure context a record carries to a retry tier, the DLQ or the rejected topic.

Processors and sinks both dead-letter; they may not import each other, so the one definition of
what a failed record carries lives here. Messages are our own sentences: an error that is not
ours may quote data, so only its class is kept.
"""

from __future__ import annotations

from collections.abc import Mapping

from schemas import headers as h
from schemas.errors import PipelineError, error_class
from schemas.normalized import from_epoch


def safe_message(exc: BaseException) -> str:
    """What may be recorded about `exc`: our own sentence, or only the class of anything else."""
    text = str(exc) if isinstance(exc, PipelineError) else f"Unexpected {type(exc).__name__}."
    return text[:500]


def failure_context(
    headers: Mapping[str, str],
    exc: BaseException,
    stage: str,
    source: str,
    now: float,
    message: str | None = None,
) -> dict[str, str]:
    """`headers` plus one more failure: attempts, first and last failure, error, stage, origin."""
    context = dict(headers)
    context.update(
        {
            h.ATTEMPTS: str(int(headers.get(h.ATTEMPTS, "0")) + 1),
            h.FIRST_FAILURE_AT: headers.get(h.FIRST_FAILURE_AT, from_epoch(now)),
            h.LAST_FAILURE_AT: from_epoch(now),
            h.ERROR_CLASS: error_class(exc),
            h.ERROR_MESSAGE: message if message is not None else safe_message(exc),
            h.STAGE: stage,
            h.SOURCE: source,
        }
    )
    return context
