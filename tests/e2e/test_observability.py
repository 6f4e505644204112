"""Metrics move on every service, and one webhook can be followed through all three logs."""

from __future__ import annotations

import re
import time
import urllib.request

from schemas.providers.stripe import sign
from tests.e2e.test_stripe_end_to_end import wait_for_rows
from tests.support.http import STRIPE_DEV_SECRET, post, stripe_event
from tests.support.stack import Stack


def scrape(url: str) -> dict[str, float]:
    """`name{labels}` → value, summed over label sets when asked by bare name."""
    with urllib.request.urlopen(url, timeout=5) as answer:
        text = answer.read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        series, _, value = line.rpartition(" ")
        name = re.sub(r"\{.*\}", "", series)
        values[series] = float(value)
        values[name] = values.get(name, 0.0) + float(value) if name != series else float(value)
    return values


def send(stack: Stack, event_id: str, request_id: str) -> None:
    body = stripe_event(event_id, payment_id=f"pi_{event_id}")
    headers = {
        "Stripe-Signature": sign(body, STRIPE_DEV_SECRET, int(time.time())),
        "X-Request-Id": request_id,
    }
    status, _ = post(f"{stack.url}/webhooks/stripe", body, headers)
    assert status == 202


def test_counters_move_and_end_to_end_latency_has_samples(stack: Stack) -> None:
    for n in range(3):
        send(stack, f"evt_obs_{n}", f"req-obs-{n}")
    wait_for_rows(stack.env["DATABASE_URL"], "SELECT 1 FROM payment_events", 3)
    time.sleep(1)  # metrics are updated right after the commit the rows came from

    ingress = scrape(f"{stack.url}/metrics")
    assert ingress['paypipe_ingress_requests_total{endpoint="stripe",status="202"}'] == 3
    assert ingress["paypipe_ingress_request_seconds_count"] == 3
    assert ingress["paypipe_ingress_kafka_send_seconds_count"] >= 3

    processor = scrape(f"http://127.0.0.1:{stack.env['PROCESSOR_METRICS_PORT']}/metrics")
    assert processor['paypipe_processor_events_total{outcome="normalized",stage="verify"}'] == 3
    assert processor["paypipe_processor_verify_seconds_count"] == 3

    sink = scrape(f"http://127.0.0.1:{stack.env['SINK_METRICS_PORT']}/metrics")
    assert sink['paypipe_sink_rows_written_total{table="payment_events"}'] == 3
    assert sink["paypipe_end_to_end_seconds_count"] == 3
    assert 0 < sink["paypipe_end_to_end_seconds_sum"] < 30


def test_one_request_id_is_found_in_the_logs_of_all_three_services(stack: Stack) -> None:
    send(stack, "evt_trace", "req-trace-7f3a")
    wait_for_rows(stack.env["DATABASE_URL"], "SELECT 1 FROM payment_events", 1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = {s: "request_id=req-trace-7f3a" in stack.log(s).read_text() for s in Stack.SERVICES}
        if all(found.values()):
            break
        time.sleep(0.2)
    assert found == {"ingress": True, "processor": True, "sink": True}
    for service in Stack.SERVICES:
        line = next(
            text for text in stack.log(service).read_text().splitlines() if "req-trace-7f3a" in text
        )
        assert "event_id=" in line  # the line also names the event it is about
