"""Transient failures climb the retry tiers and either recover or reach the DLQ with context.

A PayPal certificate that cannot be read yet is a transient error (CertFetchFailed): one
webhook's certificate appears after its first failure and it lands in PostgreSQL from a retry
tier; another's never appears and it reaches the DLQ after the last tier.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from processors.topics import create_topics, pipeline_topics
from schemas import headers as h
from schemas.config import load_common
from schemas.providers import paypal
from schemas.topics import Topics
from tests.e2e.test_stripe_end_to_end import wait_for_rows
from tests.support import samples
from tests.support.http import post
from tests.support.kafka import read_topic
from tests.support.stack import Stack

DELAYS = (1, 2)
WEBHOOK_ID = load_common({"PAYPIPE_CONFIG": "config/dev.toml"}).endpoints["paypal"].webhook_id or ""


@pytest.fixture
def quick_tiers(
    kafka_bootstrap: str, clean_db: str, topics: Topics, tmp_path: Path
) -> Iterator[Stack]:
    asyncio.run(create_topics(kafka_bootstrap, pipeline_topics(topics, 4, DELAYS)))
    config = tmp_path / "tiers.toml"
    config.write_text(
        Path("config/dev.toml")
        .read_text()
        .replace("retry_delays_seconds = [5, 30, 120, 600, 3600]", "retry_delays_seconds = [1, 2]")
    )
    stack = Stack(kafka_bootstrap, clean_db, topics.prefix, tmp_path)
    stack.env["PAYPIPE_CONFIG"] = str(config)
    try:
        stack.start_all()
        yield stack
    finally:
        stack.stop_all()


def send_with_cert(stack: Stack, body: bytes, cert_name: str) -> None:
    certs = Path(stack.env["PAYPIPE_DEV_DIR"]) / "paypal"
    headers = paypal.dev_headers(body, cert_dir=certs, webhook_id=WEBHOOK_ID, now=time.time())
    headers["paypal-cert-url"] = (certs / cert_name).resolve().as_uri()
    status, answer = post(f"{stack.url}/webhooks/paypal", body, headers)
    assert status == 202, answer


def capture_event(event_id: str, capture_id: str) -> bytes:
    capture = {**samples.paypal_capture("COMPLETED", "25.00"), "id": capture_id}
    return samples.paypal_event("PAYMENT.CAPTURE.COMPLETED", "capture", capture).replace(
        b"WH-2WR32451HC0233532-67976317FL4543714", event_id.encode()
    )


def test_a_transient_failure_recovers_from_a_retry_tier(
    quick_tiers: Stack, kafka_bootstrap: str, topics: Topics
) -> None:
    certs = Path(quick_tiers.env["PAYPIPE_DEV_DIR"]) / "paypal"
    send_with_cert(quick_tiers, capture_event("WH-LATE-1", "CAP-LATE-1"), "late.pem")
    [first] = asyncio.run(read_topic(kafka_bootstrap, topics.retry(1), 1))
    context = h.to_dict(first.headers)
    assert context[h.ERROR_CLASS] == "CertFetchFailed" and context[h.ATTEMPTS] == "1"
    assert float(context[h.NOT_BEFORE]) > 0
    shutil.copy(certs / "cert.pem", certs / "late.pem")  # the cause goes away

    rows = wait_for_rows(
        quick_tiers.env["DATABASE_URL"], "SELECT event_id, amount FROM payment_events", 1
    )
    assert rows == [("paypal:WH-LATE-1", 2500)]
    assert asyncio.run(read_topic(kafka_bootstrap, topics.dlq, 1, wait_seconds=2)) == []


def test_a_lasting_failure_reaches_the_dlq_after_the_last_tier(
    quick_tiers: Stack, kafka_bootstrap: str, topics: Topics
) -> None:
    body = capture_event("WH-NEVER-1", "CAP-NEVER-1")
    send_with_cert(quick_tiers, body, "never.pem")
    [dead] = asyncio.run(read_topic(kafka_bootstrap, topics.dlq, 1, wait_seconds=30))
    context = h.to_dict(dead.headers)
    assert dead.value == body
    assert context[h.ERROR_CLASS] == "CertFetchFailed"
    assert context[h.ATTEMPTS] == str(len(DELAYS) + 1)
    assert context[h.STAGE] == "retry"
    assert context[h.FIRST_FAILURE_AT] < context[h.LAST_FAILURE_AT]
    assert context[h.SOURCE].startswith(f"{topics.raw}[")
    assert asyncio.run(read_topic(kafka_bootstrap, topics.retry(2), 1)) != []  # it did climb
    with psycopg.connect(quick_tiers.env["DATABASE_URL"]) as conn:
        assert conn.execute("SELECT count(*) FROM payment_events").fetchone() == (0,)


def test_a_wait_longer_than_the_poll_interval_trips_no_consumer_timeout(
    kafka_bootstrap: str, clean_db: str, topics: Topics, tmp_path: Path
) -> None:
    """A 25 s tier against a 10 s max.poll.interval: no rebalance, the record still lands."""
    asyncio.run(create_topics(kafka_bootstrap, pipeline_topics(topics, 4, (25,))))
    config = tmp_path / "slow.toml"
    config.write_text(
        Path("config/dev.toml")
        .read_text()
        .replace(
            "retry_delays_seconds = [5, 30, 120, 600, 3600]",
            "retry_delays_seconds = [25]\nmax_poll_interval_seconds = 10",
        )
    )
    stack = Stack(kafka_bootstrap, clean_db, topics.prefix, tmp_path)
    stack.env["PAYPIPE_CONFIG"] = str(config)
    try:
        stack.start_all()
        certs = Path(stack.env["PAYPIPE_DEV_DIR"]) / "paypal"
        send_with_cert(stack, capture_event("WH-SLOW-1", "CAP-SLOW-1"), "slow.pem")
        asyncio.run(read_topic(kafka_bootstrap, topics.retry(25), 1))
        shutil.copy(certs / "cert.pem", certs / "slow.pem")
        rows = wait_for_rows(
            stack.env["DATABASE_URL"], "SELECT event_id FROM payment_events", 1, timeout=60
        )
        assert rows == [("paypal:WH-SLOW-1",)]
        log = stack.log("processor").read_text()
    finally:
        stack.stop_all()
    # One assignment at start; a consumer evicted for not polling would rejoin with a new one.
    assert log.count("Executing _on_partitions_assigned") == 1, log[-3000:]
