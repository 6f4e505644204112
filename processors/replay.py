"""Replaying dead letters: each re-enters the pipeline at the stage that failed.

    stage "verify" / "retry"  → payments.raw, raw body and original headers: verified again
    stage "sink"              → payments.normalized, the normalized JSON: written again

The failure context (attempts, errors, times, not-before) is stripped, so a replayed record gets
the whole retry ladder again; `paypipe-source` stays, so normalized events still point at the
raw record the webhook first landed in. Replaying twice writes nothing twice: the processor's
dedupe table drops a raw key it already normalized, and PostgreSQL's unique `event_id` is the
final word.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO

from aiokafka import AIOKafkaProducer

from processors.dead_letters import DeadLetter
from schemas import headers as h
from schemas.normalized import from_epoch
from schemas.topics import Topics

REPLAYED_AT = "paypipe-replayed-at"
REPLAYED_FROM = "paypipe-replayed-from"  # topic[partition]@offset of the dead letter

FAILURE_CONTEXT = frozenset(
    {
        h.ATTEMPTS,
        h.FIRST_FAILURE_AT,
        h.LAST_FAILURE_AT,
        h.ERROR_CLASS,
        h.ERROR_MESSAGE,
        h.STAGE,
        h.REASON,
        h.NOT_BEFORE,
        REPLAYED_AT,
        REPLAYED_FROM,
    }
)


@dataclass(frozen=True, slots=True)
class Plan:
    """Where one dead letter goes, and as what; `topic` is None when it cannot be replayed."""

    letter: DeadLetter
    topic: str | None
    key: bytes
    value: bytes
    headers: h.Headers
    note: str = ""


def plan(letter: DeadLetter, topics: Topics, now: float) -> Plan:
    """The record that replays `letter`: pure, the clock passed in."""
    marks = [
        (REPLAYED_AT, from_epoch(now).encode()),
        (REPLAYED_FROM, f"{letter.topic}[{letter.partition}]@{letter.offset}".encode()),
    ]
    kept = [(k, v) for k, v in letter.headers if k not in FAILURE_CONTEXT]
    key = letter.key.encode()
    if letter.stage in ("verify", "retry"):
        return Plan(letter, topics.raw, key, letter.value, kept + marks)
    if letter.stage == "sink":
        # The sink's source is a normalized position; the event's own `raw` field keeps the origin.
        kept = [(k, v) for k, v in kept if k != h.SOURCE]
        return Plan(letter, topics.normalized, key, letter.value, kept + marks)
    return Plan(letter, None, key, letter.value, [], f"stage {letter.stage} cannot be replayed")


def plans(letters: Sequence[DeadLetter], topics: Topics, now: float) -> list[Plan]:
    """One plan per distinct record: a letter that failed again after a replay is sent once."""
    latest: dict[tuple[str, str, bytes], DeadLetter] = {}
    for letter in letters:  # in failure order, so the latest failure of each record wins
        latest[(letter.stage, letter.key, letter.value)] = letter
    chosen = sorted(latest.values(), key=lambda d: (d.last_failure, d.partition, d.offset))
    return [plan(letter, topics, now) for letter in chosen]


class Progress:
    """A text progress bar on a stream (stderr): redrawn in place, finished with a newline."""

    def __init__(self, total: int, out: TextIO = sys.stderr, width: int = 30) -> None:
        self.total = total
        self.done = 0
        self.out = out
        self.width = width
        self._drawn = -1.0

    def advance(self, step: int = 1) -> None:
        self.done += step
        now = time.monotonic()
        if self.done >= self.total or now - self._drawn >= 0.1:
            self._drawn = now
            self.out.write("\r" + render_bar(self.done, self.total, self.width))
            self.out.flush()

    def finish(self) -> None:
        self.out.write("\r" + render_bar(self.done, self.total, self.width) + "\n")
        self.out.flush()


def render_bar(done: int, total: int, width: int = 30) -> str:
    share = done / total if total else 1.0
    filled = int(share * width)
    return f"replay [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {share:4.0%}"


@dataclass(slots=True)
class Summary:
    sent: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    skipped: list[Plan] = field(default_factory=list)
    seconds: float = 0.0

    def text(self, dry_run: bool) -> str:
        verb = "Would replay" if dry_run else "Replayed"
        total = sum(self.sent.values())
        where = ", ".join(f"{n} to {topic}" for topic, n in sorted(self.sent.items()))
        lines = [f"{verb} {total} dead letter(s){': ' + where if where else ''}."]
        if self.failed:
            lines.append(f"{self.failed} could not be sent; run the replay again.")
        for skipped in self.skipped:
            lines.append(f"Skipped {skipped.letter.id}: {skipped.note}.")
        if not dry_run:
            lines.append(f"Took {self.seconds:.1f} s.")
        return "\n".join(lines) + "\n"


async def replay(
    bootstrap: str,
    chosen: Sequence[Plan],
    rate: float | None = None,
    progress: Progress | None = None,
) -> Summary:
    """Send the plans (acks=all), at most `rate` records per second; wait for every ack."""
    summary = Summary(skipped=[p for p in chosen if p.topic is None])
    sendable = [p for p in chosen if p.topic is not None]
    started = time.monotonic()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        client_id="paypipe-replay",
    )
    await producer.start()
    try:
        futures: list[tuple[Plan, asyncio.Future[object]]] = []
        for i, item in enumerate(sendable):
            if rate:
                await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            assert item.topic is not None
            future = await producer.send(
                item.topic, value=item.value, key=item.key, headers=list(item.headers)
            )
            if progress is not None:
                future.add_done_callback(lambda _: progress.advance())
            futures.append((item, future))
        results = await asyncio.gather(*(f for _, f in futures), return_exceptions=True)
    finally:
        await producer.stop()
    for (item, _), result in zip(futures, results, strict=True):
        if isinstance(result, BaseException):
            summary.failed += 1
        else:
            assert item.topic is not None
            summary.sent[item.topic] = summary.sent.get(item.topic, 0) + 1
    if progress is not None:
        progress.finish()
    summary.seconds = time.monotonic() - started
    return summary


def dry_run(chosen: Sequence[Plan]) -> Summary:
    summary = Summary(skipped=[p for p in chosen if p.topic is None])
    for item in chosen:
        if item.topic is not None:
            summary.sent[item.topic] = summary.sent.get(item.topic, 0) + 1
    return summary
