"""The operator's loop end to end: a poison record lands in the DLQ with its reason, `paypipe dlq
list` shows it, and once the cause is fixed `paypipe dlq replay` brings it into PostgreSQL exactly
once, however often it is replayed. `paypipe rejected list` shows a forged request.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from processors.dead_letters import DeadLetter, read_topic
from schemas import headers as h
from schemas.normalized import rfc3339
from schemas.providers.stripe import sign
from schemas.topics import Topics
from tests.support.http import STRIPE_DEV_SECRET, post_stripe, stripe_event
from tests.support.services import ROOT
from tests.support.stack import Stack


def paypipe(stack: Stack, *args: str) -> str:
    """Run the CLI as an operator would, against the stack's broker and topics."""
    done = subprocess.run(
        [sys.executable, "-m", "schemas.cli", *args],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"paypipe {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def wait_for_letter(stack: Stack, topic: str, key: str, timeout: float = 30.0) -> DeadLetter:
    bootstrap = stack.env["KAFKA_BOOTSTRAP_SERVERS"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [d for d in asyncio.run(read_topic(bootstrap, topic)) if d.key == key]
        if found:
            return found[-1]
        time.sleep(0.5)
    raise AssertionError(f"{key} never reached {topic}:\n{stack.tail('processor')}")


def rows(stack: Stack, event_id: str) -> list[tuple[object, ...]]:
    with psycopg.connect(stack.env["DATABASE_URL"]) as conn:
        return conn.execute(
            "SELECT event_id, endpoint, persisted_at FROM payment_events WHERE event_id = %s",
            (event_id,),
        ).fetchall()


def wait_for_row(stack: Stack, event_id: str, timeout: float = 30.0) -> list[tuple[object, ...]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := rows(stack, event_id):
            return found
        time.sleep(0.2)
    raise AssertionError(f"{event_id} never reached PostgreSQL:\n{stack.tail('processor')}")


def produce_raw(stack: Stack, endpoint: str, body: bytes, partition: int | None = None) -> None:
    """A signed Stripe record put on payments.raw directly, as ingress would have written it."""
    event_id = json.loads(body)["id"]
    headers = {
        h.ENDPOINT: endpoint,
        h.PROVIDER: "stripe",
        h.REQUEST_ID: f"req-{event_id}",
        h.RECEIVED_AT: rfc3339(datetime.now(UTC)),
        h.EVENT_ID: event_id,
        h.http_header("stripe-signature"): sign(body, STRIPE_DEV_SECRET, int(time.time())),
    }
    topic = Topics(stack.env["PAYPIPE_TOPIC_PREFIX"]).raw

    async def send() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=stack.env["KAFKA_BOOTSTRAP_SERVERS"], acks="all"
        )
        await producer.start()
        try:
            await producer.send_and_wait(
                topic,
                body,
                key=f"{endpoint}:{event_id}".encode(),
                headers=h.encode(headers),
                partition=partition,
            )
        finally:
            await producer.stop()

    asyncio.run(send())


def restart_processor_with_stripe2(stack: Stack, workdir: Path) -> None:
    """The operator's fix: configure the endpoint the records name, then restart the processor."""
    config = workdir / "with-stripe2.toml"
    config.write_text(
        (ROOT / "config" / "dev.toml").read_text()
        + f'\n[endpoints.stripe2]\nprovider = "stripe"\nsecrets = ["{STRIPE_DEV_SECRET}"]\n'
    )
    proc = stack.procs.pop("processor")
    proc.terminate()
    proc.wait(60)
    stack.env["PAYPIPE_CONFIG"] = str(config)
    stack.start("processor")


def test_a_signed_but_unparseable_webhook_is_listed_in_the_dlq(stack: Stack) -> None:
    body = json.dumps(
        {"id": "evt_poison_1", "object": "event", "type": "payment_intent.succeeded"}
        | {"created": int(time.time()), "data": {}}
    ).encode()
    status, answer = post_stripe(stack.url, body)
    assert status == 202, answer
    letter = wait_for_letter(
        stack, Topics(stack.env["PAYPIPE_TOPIC_PREFIX"]).dlq, "stripe:evt_poison_1"
    )
    assert (letter.error_class, letter.stage) == ("PayloadInvalid", "verify")
    assert letter.value == body  # byte for byte

    table = paypipe(stack, "dlq", "list")
    header, *lines = table.splitlines()
    assert header.split()[:7] == ["ID", "KEY", "PROVIDER", "ENDPOINT", "ERROR", "STAGE", "ATTEMPTS"]
    (line,) = [line for line in lines if "stripe:evt_poison_1" in line]
    expected = f"{letter.id} stripe:evt_poison_1 stripe stripe PayloadInvalid verify 1"
    assert line.split()[:7] == expected.split()
    shown = paypipe(stack, "dlq", "show", letter.id)
    assert "The Stripe event has no data.object." in shown
    assert "no data.object" not in paypipe(stack, "dlq", "list", "--error-class", "SinkUnavailable")


def test_replay_after_the_fix_persists_once_however_often_it_runs(
    stack: Stack, tmp_path: Path
) -> None:
    body = stripe_event("evt_fix_1", payment_id="pi_fix_1", amount=2500)
    produce_raw(stack, "stripe2", body)
    dlq = Topics(stack.env["PAYPIPE_TOPIC_PREFIX"]).dlq
    letter = wait_for_letter(stack, dlq, "stripe2:evt_fix_1")
    assert (letter.error_class, letter.stage, letter.endpoint) == (
        "PayloadInvalid",
        "verify",
        "stripe2",
    )
    assert "stripe2:evt_fix_1" in paypipe(stack, "dlq", "list", "--endpoint", "stripe2")

    dry = paypipe(stack, "dlq", "replay", "--endpoint", "stripe2", "--dry-run")
    assert "Would replay 1 dead letter(s)" in dry and rows(stack, "stripe:evt_fix_1") == []

    restart_processor_with_stripe2(stack, tmp_path)
    assert "Replayed 1 dead letter(s): 1 to" in paypipe(
        stack, "dlq", "replay", "--endpoint", "stripe2"
    )
    (first,) = wait_for_row(stack, "stripe:evt_fix_1")
    assert first[1] == "stripe2"

    assert "Replayed 1" in paypipe(stack, "dlq", "replay", "--id", letter.id, "--rate", "5")
    # A later record on the same raw partition and payment proves the replay has drained.
    partition = DefaultPartitioner()(b"stripe2:evt_fix_1", [0, 1, 2, 3], [0, 1, 2, 3])
    marker = stripe_event("evt_fix_marker", payment_id="pi_fix_1")
    produce_raw(stack, "stripe2", marker, partition)
    wait_for_row(stack, "stripe:evt_fix_marker")
    assert rows(stack, "stripe:evt_fix_1") == [first]  # one row, untouched
    assert [d.key for d in asyncio.run(read_topic(stack.env["KAFKA_BOOTSTRAP_SERVERS"], dlq))] == [
        "stripe2:evt_fix_1"
    ]


def test_a_sink_dead_letter_replayed_twice_is_written_once(stack: Stack) -> None:
    """Past the processor's dedupe table, PostgreSQL's unique event_id keeps replays idempotent."""
    marker = stripe_event("evt_sink_seed", payment_id="pi_sink_1")
    assert post_stripe(stack.url, marker)[0] == 202
    wait_for_row(stack, "stripe:evt_sink_seed")
    with psycopg.connect(stack.env["DATABASE_URL"]) as conn:
        (event,) = conn.execute(
            "SELECT event FROM payment_events WHERE event_id = 'stripe:evt_sink_seed'"
        ).fetchone() or (None,)
        conn.execute("DELETE FROM payment_events WHERE event_id = 'stripe:evt_sink_seed'")
    assert isinstance(event, dict)
    normalized = json.dumps(event, sort_keys=True).encode()
    names = Topics(stack.env["PAYPIPE_TOPIC_PREFIX"])
    context = {h.EVENT_ID: event["event_id"], h.STAGE: "sink", h.ATTEMPTS: "1"}
    context |= {h.ERROR_CLASS: "CheckViolation", h.LAST_FAILURE_AT: rfc3339(datetime.now(UTC))}

    async def dead_letter() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=stack.env["KAFKA_BOOTSTRAP_SERVERS"])
        await producer.start()
        try:
            await producer.send_and_wait(
                names.dlq, normalized, key=b"stripe:pi_sink_1", headers=h.encode(context)
            )
        finally:
            await producer.stop()

    asyncio.run(dead_letter())
    for _ in range(2):
        assert "1 to " + names.normalized in paypipe(stack, "dlq", "replay", "--stage", "sink")
    (row,) = wait_for_row(stack, "stripe:evt_sink_seed")
    assert post_stripe(stack.url, stripe_event("evt_sink_after", payment_id="pi_sink_1"))[0] == 202
    wait_for_row(stack, "stripe:evt_sink_after")
    assert rows(stack, "stripe:evt_sink_seed") == [row]


def test_rejected_list_shows_a_forged_request(stack: Stack) -> None:
    body = stripe_event("evt_forged_1", payment_id="pi_forged_1")
    status, _ = post_stripe(stack.url, body, secret="whsec_forged")
    assert status == 401
    rejected = Topics(stack.env["PAYPIPE_TOPIC_PREFIX"]).rejected
    letter = wait_for_letter(stack, rejected, "stripe:evt_forged_1")
    table = paypipe(stack, "rejected", "list")
    (line,) = [line for line in table.splitlines() if "stripe:evt_forged_1" in line]
    expected = f"{letter.id} stripe:evt_forged_1 stripe stripe SignatureInvalid ingress"
    assert line.split()[:6] == expected.split()
    assert "No Stripe signature matches" in paypipe(stack, "rejected", "show", letter.id)
    assert "No dead letters." in paypipe(stack, "dlq", "list")
