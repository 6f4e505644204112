"""Known secrets, every error path, then a search of every log line, metric and topic: none.

Broker down and database down are driven with a second ingress whose broker does not answer
and a second sink whose database does not answer, so the shared test services stay up.
"""

from __future__ import annotations

import asyncio
import base64
import secrets as random_secrets
import time
import urllib.request
from pathlib import Path

import psycopg
from aiokafka import AIOKafkaProducer

from schemas import headers as h
from schemas.normalized import rfc3339
from schemas.providers import square, standard_webhooks, stripe
from schemas.topics import DEFAULT_RETRY_DELAYS, Topics
from tests.support import samples
from tests.support.http import post
from tests.support.kafka import read_topic
from tests.support.stack import Stack


def make_secrets() -> dict[str, str]:
    token = random_secrets.token_hex(12)
    raw_standard = f"hygiene-standard-{token}".encode()
    return {
        "stripe": f"whsec_hygiene_{token}",
        "stripe_old": f"whsec_rotated_{token}",
        "square": f"sqhygiene{token}",
        "standard": "whsec_" + base64.b64encode(raw_standard).decode(),
        "standard_raw": raw_standard.decode(),
        "adyen": random_secrets.token_hex(32).upper(),
    }


def write_config(path: Path, s: dict[str, str]) -> None:
    path.write_text(f"""
[endpoints.stripe]
provider = "stripe"
secrets = ["{s["stripe_old"]}", "{s["stripe"]}"]
[endpoints.paypal]
provider = "paypal"
webhook_id = "HYGIENE-WEBHOOK"
[endpoints.adyen]
provider = "adyen"
hmac_keys = ["{s["adyen"]}"]
[endpoints.square]
provider = "square"
secrets = ["{s["square"]}"]
notification_url = "http://127.0.0.1:8080/webhooks/square"
[endpoints.standard]
provider = "standard-webhooks"
secrets = ["{s["standard"]}"]
[logging]
events = true
""")


def drive_every_error_path(stack: Stack, s: dict[str, str]) -> None:
    url, now = stack.url, int(time.time())
    good = samples.stripe_event("payment_intent.succeeded", samples.payment_intent("succeeded"))
    post(f"{url}/webhooks/stripe", good, {"Stripe-Signature": stripe.sign(good, s["stripe"], now)})
    post(
        f"{url}/webhooks/stripe", good, {"Stripe-Signature": stripe.sign(good, "whsec_wrong", now)}
    )
    post(
        f"{url}/webhooks/stripe",
        good,
        {"Stripe-Signature": stripe.sign(good, s["stripe"], now - 9999)},
    )
    post(f"{url}/webhooks/stripe", good, {"Stripe-Signature": "t=garbage"})
    poison = b'{"id":"evt_poison","type":"payment_intent.succeeded","created":1,"data":{}}'
    post(
        f"{url}/webhooks/stripe",
        poison,
        {"Stripe-Signature": stripe.sign(poison, s["stripe"], now)},
    )
    body = samples.square_event("payment.updated", "payment", samples.square_payment("COMPLETED"))
    post(
        f"{url}/webhooks/square",
        body,
        {"x-square-hmacsha256-signature": square.sign(body, "nope", "x")},
    )
    post(
        f"{url}/webhooks/square",
        body,
        {
            "x-square-hmacsha256-signature": square.sign(
                body, s["square"], "http://127.0.0.1:8080/webhooks/square"
            )
        },
    )
    sw = b'{"type":"x","data":{}}'
    post(
        f"{url}/webhooks/standard",
        sw,
        {"webhook-id": "m1", "webhook-timestamp": str(now), "webhook-signature": "v1,AAAA"},
    )
    post(
        f"{url}/webhooks/standard",
        sw,
        {
            "webhook-id": "m2",
            "webhook-timestamp": str(now),
            "webhook-signature": standard_webhooks.sign(sw, s["standard"], "m2", now),
        },
    )
    post(
        f"{url}/webhooks/adyen",
        samples.adyen_body(samples.adyen_item("AUTHORISATION"), key=s["adyen"]),
        {},
    )
    post(
        f"{url}/webhooks/adyen",
        samples.adyen_body(samples.adyen_item("AUTHORISATION"), key="00" * 32),
        {},
    )
    post(f"{url}/webhooks/paypal", b"{}", {"PAYPAL-TRANSMISSION-ID": "x"})
    post(f"{url}/webhooks/nope", b"{}", {})
    post(f"{url}/webhooks/stripe", b"a" * (1024 * 1024 + 5), {"Stripe-Signature": "t=1,v1=00"})


async def bad_record_straight_to_raw(stack: Stack, topics: Topics) -> None:
    """A record no ingress would write: unknown endpoint and a bad header, for the processor's paths."""
    producer = AIOKafkaProducer(bootstrap_servers=stack.env["KAFKA_BOOTSTRAP_SERVERS"])
    await producer.start()
    try:
        headers = h.encode(
            {
                h.ENDPOINT: "ghost",
                h.PROVIDER: "stripe",
                h.RECEIVED_AT: rfc3339(
                    __import__("datetime").datetime.now(__import__("datetime").UTC)
                ),
            }
        )
        await producer.send_and_wait(topics.raw, b"{}", key=b"ghost:1", headers=headers)
    finally:
        await producer.stop()


def everything_said(stack: Stack, topics: Topics, extra_logs: list[Path]) -> list[bytes]:
    said = [
        p.read_bytes() for p in [*(stack.log(s) for s in Stack.SERVICES), *extra_logs] if p.exists()
    ]
    for port in (stack.port, stack.env["PROCESSOR_METRICS_PORT"], stack.env["SINK_METRICS_PORT"]):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            said.append(answer.read())
    names = [
        topics.raw,
        topics.normalized,
        topics.rejected,
        topics.dlq,
        *(topics.retry(d) for d in DEFAULT_RETRY_DELAYS),
    ]
    for name in names:
        for record in asyncio.run(
            read_topic(stack.env["KAFKA_BOOTSTRAP_SERVERS"], name, 10_000, wait_seconds=3)
        ):
            said += [record.key or b"", record.value or b""]
            said += [k.encode() + b"=" + v for k, v in record.headers]
    return said


def test_no_secret_reaches_logs_metrics_or_topics(
    kafka_bootstrap: str, clean_db: str, topics: Topics, tmp_path: Path
) -> None:
    s = make_secrets()
    config = tmp_path / "hygiene.toml"
    write_config(config, s)
    stack = Stack(kafka_bootstrap, clean_db, topics.prefix, tmp_path)
    stack.env["PAYPIPE_CONFIG"] = str(config)
    # Broker down: an ingress whose broker never answers. Database down: a sink whose database never answers.
    down = Stack("127.0.0.1:1", clean_db, topics.prefix, tmp_path / "down")
    (tmp_path / "down").mkdir()
    down.env["PAYPIPE_CONFIG"] = str(config)
    dead_db = Stack(
        kafka_bootstrap,
        "postgresql://postgres@127.0.0.1:1/none",
        topics.prefix,
        tmp_path / "dead-db",
    )
    (tmp_path / "dead-db").mkdir()
    dead_db.env.update(PAYPIPE_CONFIG=str(config), PAYPIPE_SINK_ID=f"{topics.prefix}-sink-dead")
    try:
        stack.start_all()
        drive_every_error_path(stack, s)
        asyncio.run(bad_record_straight_to_raw(stack, topics))
        down.procs["ingress"] = __import__("subprocess").Popen(
            [__import__("sys").executable, "-m", "schemas.cli", "ingress"],
            env=down.env,
            stdout=down.log("ingress").open("wb"),
            stderr=-2,
        )
        dead_db.start("sink")
        for _ in range(50):
            try:
                status, _ = post(
                    f"{down.url}/webhooks/stripe",
                    b"{}",
                    {"Stripe-Signature": stripe.sign(b"{}", s["stripe"], int(time.time()))},
                )
                if status == 503:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert status == 503
        time.sleep(4)  # let the dead-database sink try and back off a few times
        with psycopg.connect(clean_db) as conn:  # the good events arrived: the paths really ran
            assert conn.execute("SELECT count(*) FROM payment_events").fetchone()[0] >= 3
        said = everything_said(stack, topics, [down.log("ingress"), dead_db.log("sink")])
    finally:
        for s_ in (stack, down, dead_db):
            s_.stop_all()

    assert b"PostgreSQL is unavailable" in dead_db.log("sink").read_bytes()
    forms = {
        s["stripe"],
        s["stripe_old"],
        s["square"],
        s["standard"],
        s["standard_raw"],
        s["adyen"],
        s["adyen"].lower(),
        s["standard"].removeprefix("whsec_"),
    }
    leaks = [(form, blob[:200]) for blob in said for form in forms if form.encode() in blob]
    assert not leaks, leaks
    assert len(said) > 20  # the search really had material to search
