"""Dead letters and rejected records as an operator sees them: read, filter, tabulate.

A dead letter is addressed by `partition:offset` in its topic (`payments.dlq` or
`payments.rejected`). The pure part parses the failure headers into a `DeadLetter`, filters and
formats; `read_topic` is the thin I/O shell that reads a topic from its beginning to the end it
had when the read started, without a consumer group and without committing anything.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schemas import headers as h
from schemas.normalized import parse_rfc3339, rfc3339

_ID = re.compile(r"^(?P<partition>\d+):(?P<offset>\d+)$")
_AGO = re.compile(r"^(?P<n>\d+)(?P<unit>[smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One record of the DLQ or the rejected topic, with its failure context decoded."""

    topic: str
    partition: int
    offset: int
    key: str
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    timestamp: datetime  # when Kafka took the record
    # The headers decoded once: every property below reads them.
    context: dict[str, str] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "context", h.to_dict(self.headers))

    @property
    def id(self) -> str:
        return f"{self.partition}:{self.offset}"

    def get(self, name: str, default: str = "") -> str:
        return self.context.get(name, default)

    @property
    def provider(self) -> str:
        return self.get(h.PROVIDER, "-")

    @property
    def endpoint(self) -> str:
        return self.get(h.ENDPOINT, "-")

    @property
    def error_class(self) -> str:
        return self.get(h.ERROR_CLASS, "-")

    @property
    def stage(self) -> str:
        return self.get(h.STAGE, "-")

    @property
    def attempts(self) -> int:
        text = self.get(h.ATTEMPTS, "0")
        return int(text) if text.isdigit() else 0

    @property
    def message(self) -> str:
        return self.get(h.REASON) or self.get(h.ERROR_MESSAGE)

    @property
    def first_failure(self) -> datetime:
        return _moment(self.get(h.FIRST_FAILURE_AT), self.timestamp)

    @property
    def last_failure(self) -> datetime:
        return _moment(self.get(h.LAST_FAILURE_AT), self.timestamp)


def _moment(text: str, fallback: datetime) -> datetime:
    try:
        return parse_rfc3339(text) if text else fallback
    except ValueError:
        return fallback


def parse(
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    headers: Iterable[tuple[str, bytes]] | None,
    timestamp_ms: int,
) -> DeadLetter:
    """A dead letter from the parts of a Kafka record."""
    return DeadLetter(
        topic=topic,
        partition=partition,
        offset=offset,
        key=(key or b"").decode("utf-8", "replace"),
        value=value or b"",
        headers=tuple(headers or ()),
        timestamp=datetime.fromtimestamp(timestamp_ms / 1000, UTC),
    )


def parse_id(text: str) -> tuple[int, int]:
    """`partition:offset` as a pair; ValueError with a sentence otherwise."""
    match = _ID.match(text.strip())
    if not match:
        raise ValueError(f"A dead-letter id is partition:offset, like 0:42, not {text!r}.")
    return int(match["partition"]), int(match["offset"])


def parse_time(text: str, now: datetime) -> datetime:
    """RFC 3339 / ISO 8601 (a date alone means its midnight UTC), or an age like 30m, 2h, 3d."""
    match = _AGO.match(text.strip())
    if match:
        return now - timedelta(**{_UNITS[match["unit"]]: int(match["n"])})
    try:
        return parse_rfc3339(text if "T" in text or " " in text else f"{text}T00:00:00Z")
    except ValueError as exc:
        raise ValueError(
            f"Cannot read {text!r} as a time: use RFC 3339 or an age like 2h."
        ) from exc


@dataclass(frozen=True, slots=True)
class Filter:
    """What an operator selects; an empty field selects everything. Time bounds the last failure."""

    providers: frozenset[str] = frozenset()
    endpoints: frozenset[str] = frozenset()
    error_classes: frozenset[str] = frozenset()
    stages: frozenset[str] = frozenset()
    keys: frozenset[str] = frozenset()
    ids: frozenset[tuple[int, int]] = frozenset()
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, letter: DeadLetter) -> bool:
        checks = (
            (self.providers, letter.provider),
            (self.endpoints, letter.endpoint),
            (self.error_classes, letter.error_class),
            (self.stages, letter.stage),
            (self.keys, letter.key),
        )
        if any(wanted and value not in wanted for wanted, value in checks):
            return False
        if self.ids and (letter.partition, letter.offset) not in self.ids:
            return False
        moment = letter.last_failure
        if self.since is not None and moment < self.since:
            return False
        return self.until is None or moment < self.until


def select(letters: Iterable[DeadLetter], wanted: Filter) -> list[DeadLetter]:
    """The matching letters in failure order (then by position, so the order is stable)."""
    chosen = [letter for letter in letters if wanted.matches(letter)]
    return sorted(chosen, key=lambda d: (d.last_failure, d.partition, d.offset))


DLQ_COLUMNS = ("ID", "KEY", "PROVIDER", "ENDPOINT", "ERROR", "STAGE", "ATTEMPTS", "FIRST", "LAST")
REJECTED_COLUMNS = ("ID", "KEY", "PROVIDER", "ENDPOINT", "ERROR", "STAGE", "AT", "REASON")


def _short(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def dlq_row(d: DeadLetter) -> tuple[str, ...]:
    return (
        d.id,
        _clip(d.key, 60),
        d.provider,
        d.endpoint,
        d.error_class,
        d.stage,
        str(d.attempts),
        _short(d.first_failure),
        _short(d.last_failure),
    )


def rejected_row(d: DeadLetter) -> tuple[str, ...]:
    return (
        d.id,
        _clip(d.key, 60),
        d.provider,
        d.endpoint,
        d.error_class,
        d.stage,
        _short(d.last_failure),
        _clip(d.message, 60),
    )


def format_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns, two spaces apart, a header line; one line per row."""
    widths = [len(c) for c in columns]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = [columns, *rows]
    return "".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() + "\n"
        for line in lines
    )


def format_detail(d: DeadLetter, body: bool = False) -> str:
    """Everything about one letter: position, failure context, headers; the body on request."""
    lines = [
        f"id:            {d.id}",
        f"topic:         {d.topic}[{d.partition}]@{d.offset}",
        f"key:           {d.key}",
        f"provider:      {d.provider}",
        f"endpoint:      {d.endpoint}",
        f"stage:         {d.stage}",
        f"error class:   {d.error_class}",
        f"message:       {d.message or '-'}",
        f"attempts:      {d.attempts}",
        f"first failure: {rfc3339(d.first_failure)}",
        f"last failure:  {rfc3339(d.last_failure)}",
        f"source:        {d.get(h.SOURCE, '-')}",
        f"body bytes:    {len(d.value)}",
        "headers:",
    ]
    lines += [f"  {name}: {value}" for name, value in sorted(d.context.items())]
    if body:
        lines += ["body:", d.value.decode("utf-8", "replace")]
    return "\n".join(lines) + "\n"


async def _partitions(bootstrap: str, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="paypipe-operator")
    await admin.start()
    try:
        (found,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if found["error_code"] or not found["partitions"]:
        raise LookupError(f"Topic {topic} does not exist.")
    return sorted(p["partition"] for p in found["partitions"])


async def read_topic(bootstrap: str, topic: str, stall_seconds: float = 30.0) -> list[DeadLetter]:
    """Every record of `topic` up to the end it had when the read started; commits nothing."""
    assigned = [TopicPartition(topic, p) for p in await _partitions(bootstrap, topic)]
    # A throwaway group with manual assignment: no join, no rebalance, no offsets committed.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=f"paypipe-operator-{uuid.uuid4().hex[:12]}",
        enable_auto_commit=False,
        client_id="paypipe-operator",
    )
    await consumer.start()
    try:
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        letters: list[DeadLetter] = []
        remaining = {tp for tp in assigned if ends[tp] > await consumer.position(tp)}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=int(stall_seconds * 1000))
            if not batch:
                raise TimeoutError(f"Reading {topic} stalled before its end.")
            for tp, records in batch.items():
                letters += [
                    parse(r.topic, r.partition, r.offset, r.key, r.value, r.headers, r.timestamp)
                    for r in records
                    if r.offset < ends[tp]
                ]
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
        return letters
    finally:
        await consumer.stop()
