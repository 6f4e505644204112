"""Dead letters as operators see them: parsing, filters, tables, and replay plans (all pure)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from processors.dead_letters import (
    DLQ_COLUMNS,
    DeadLetter,
    Filter,
    dlq_row,
    format_detail,
    format_table,
    parse,
    parse_id,
    parse_time,
    rejected_row,
    select,
)
from processors.replay import REPLAYED_AT, REPLAYED_FROM, Progress, plan, plans, render_bar
from schemas import headers as h
from schemas.topics import Topics

TOPICS = Topics("payments")
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
BODY = b'{"id":"evt_1","type":"payment_intent.succeeded"}'


def letter(
    offset: int = 7,
    partition: int = 2,
    key: str = "stripe:evt_1",
    stage: str = "verify",
    error: str = "PayloadInvalid",
    endpoint: str = "stripe",
    provider: str = "stripe",
    last: datetime = T0,
    value: bytes = BODY,
    extra: dict[str, str] | None = None,
) -> DeadLetter:
    headers = {
        h.ENDPOINT: endpoint,
        h.PROVIDER: provider,
        h.REQUEST_ID: "req-1",
        h.RECEIVED_AT: "2025-03-01T11:59:00.000000Z",
        "http-stripe-signature": "t=1,v1=abc",
        h.ATTEMPTS: "2",
        h.FIRST_FAILURE_AT: "2025-03-01T11:59:30.000000Z",
        h.LAST_FAILURE_AT: last.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        h.ERROR_CLASS: error,
        h.ERROR_MESSAGE: "The Stripe event has no data.object.",
        h.STAGE: stage,
        h.SOURCE: "payments.raw[1]@99",
        h.NOT_BEFORE: "1740830400.000",
        **(extra or {}),
    }
    return parse(
        "payments.dlq",
        partition,
        offset,
        key.encode(),
        value,
        h.encode(headers),
        int(last.timestamp() * 1000) + 5,
    )


def test_failure_headers_are_decoded() -> None:
    d = letter()
    assert (d.id, d.key, d.provider, d.endpoint) == ("2:7", "stripe:evt_1", "stripe", "stripe")
    assert (d.error_class, d.stage, d.attempts) == ("PayloadInvalid", "verify", 2)
    assert d.first_failure == datetime(2025, 3, 1, 11, 59, 30, tzinfo=UTC)
    assert d.last_failure == T0
    assert d.message == "The Stripe event has no data.object."


def test_a_record_without_failure_headers_falls_back_to_its_kafka_time() -> None:
    d = parse("payments.rejected", 0, 1, None, b"", [(h.STAGE, b"ingress")], 1740830400000)
    assert d.first_failure == d.last_failure == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert (d.key, d.provider, d.attempts) == ("", "-", 0)


def test_ids_are_partition_colon_offset() -> None:
    assert parse_id("3:42") == (3, 42)
    with pytest.raises(ValueError, match="partition:offset"):
        parse_id("3-42")


def test_times_are_rfc3339_dates_or_ages() -> None:
    assert parse_time("2h", T0) == T0 - timedelta(hours=2)
    assert parse_time("3d", T0) == T0 - timedelta(days=3)
    assert parse_time("2025-03-01", T0) == datetime(2025, 3, 1, tzinfo=UTC)
    assert parse_time("2025-03-01T10:00:00+01:00", T0) == datetime(2025, 3, 1, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match="as a time"):
        parse_time("yesterday", T0)


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        (Filter(), {"a", "b", "c"}),
        (Filter(providers=frozenset({"adyen"})), {"b"}),
        (Filter(endpoints=frozenset({"stripe2"})), {"c"}),
        (Filter(error_classes=frozenset({"SinkUnavailable"})), {"b"}),
        (Filter(stages=frozenset({"sink"})), {"b"}),
        (Filter(keys=frozenset({"stripe2:evt_3"})), {"c"}),
        (Filter(ids=frozenset({(0, 1)})), {"a"}),
        (Filter(since=T0 + timedelta(minutes=1)), {"b", "c"}),
        (Filter(until=T0 + timedelta(minutes=1)), {"a"}),
        (Filter(providers=frozenset({"stripe"}), endpoints=frozenset({"stripe"})), {"a"}),
    ],
)
def test_filters_select_by_each_field(wanted: Filter, expected: set[str]) -> None:
    letters = {
        "a": letter(offset=1, partition=0, key="stripe:evt_1"),
        "b": letter(
            offset=2,
            key="adyen:psp_2",
            provider="adyen",
            endpoint="adyen",
            stage="sink",
            error="SinkUnavailable",
            last=T0 + timedelta(minutes=2),
        ),
        "c": letter(
            offset=3, key="stripe2:evt_3", endpoint="stripe2", last=T0 + timedelta(hours=1)
        ),
    }
    chosen = select(letters.values(), wanted)
    assert {name for name, d in letters.items() if d in chosen} == expected


def test_selection_is_in_failure_order() -> None:
    late = letter(offset=1, last=T0 + timedelta(hours=1))
    early = letter(offset=2, last=T0)
    assert select([late, early], Filter()) == [early, late]


def test_table_aligns_columns_and_shows_every_field() -> None:
    text = format_table(DLQ_COLUMNS, [dlq_row(letter())])
    head, row = text.splitlines()
    assert head.split() == list(DLQ_COLUMNS)
    assert row.split() == [
        "2:7",
        "stripe:evt_1",
        "stripe",
        "stripe",
        "PayloadInvalid",
        "verify",
        "2",
        "2025-03-01",
        "11:59:30Z",
        "2025-03-01",
        "12:00:00Z",
    ]
    assert head.index("PROVIDER") == row.index(" stripe ") + 1


def test_long_keys_are_clipped_in_the_table() -> None:
    row = dlq_row(letter(key="stripe:" + "x" * 200))
    assert len(row[1]) == 60 and row[1].endswith("…")


def test_rejected_rows_carry_the_reason() -> None:
    d = parse(
        "payments.rejected",
        1,
        0,
        b"stripe:evt_9",
        b"{}",
        h.encode({h.STAGE: "ingress", h.ERROR_CLASS: "SignatureInvalid", h.REASON: "No match."}),
        1740830400000,
    )
    assert rejected_row(d)[-3:] == ("ingress", "2025-03-01 12:00:00Z", "No match.")


def test_detail_hides_the_body_unless_asked() -> None:
    assert "data.object" in format_detail(letter())  # the message, not the body
    assert BODY.decode() not in format_detail(letter())
    assert BODY.decode() in format_detail(letter(), body=True)


def test_a_verify_failure_replays_to_raw_without_failure_context() -> None:
    p = plan(letter(), TOPICS, now=1740830500.0)
    assert (p.topic, p.key, p.value) == ("payments.raw", b"stripe:evt_1", BODY)
    names = [k for k, _ in p.headers]
    assert h.SOURCE in names and "http-stripe-signature" in names and h.RECEIVED_AT in names
    for gone in (h.ATTEMPTS, h.ERROR_CLASS, h.ERROR_MESSAGE, h.STAGE, h.NOT_BEFORE):
        assert gone not in names
    marks = dict(p.headers)
    assert marks[REPLAYED_FROM] == b"payments.dlq[2]@7"
    assert marks[REPLAYED_AT].startswith(b"2025-03-01T12:01:40")


def test_a_retry_failure_replays_to_raw_and_a_sink_failure_to_normalized() -> None:
    assert plan(letter(stage="retry"), TOPICS, 0).topic == "payments.raw"
    sink = plan(letter(stage="sink"), TOPICS, 0)
    assert sink.topic == "payments.normalized"
    assert h.SOURCE not in dict(sink.headers)


def test_an_unknown_stage_is_not_replayed() -> None:
    p = plan(letter(stage="ingress"), TOPICS, 0)
    assert p.topic is None and "cannot be replayed" in p.note


def test_a_record_that_failed_again_after_a_replay_is_planned_once() -> None:
    first = letter(offset=1, last=T0)
    again = letter(offset=9, last=T0 + timedelta(hours=1), extra={REPLAYED_AT: "x"})
    other = letter(offset=3, key="stripe:evt_2")
    chosen = plans([first, other, again], TOPICS, 0)
    assert [p.letter.id for p in chosen] == ["2:3", "2:9"]


def test_the_progress_bar_ends_full_on_its_own_line() -> None:
    out = io.StringIO()
    bar = Progress(4, out, width=8)
    for _ in range(4):
        bar.advance()
    bar.finish()
    assert out.getvalue().endswith("\rreplay [########] 4/4 100%\n")
    assert render_bar(1, 4, 8) == "replay [##......] 1/4  25%"
    assert render_bar(0, 0, 4) == "replay [####] 0/0 100%"
