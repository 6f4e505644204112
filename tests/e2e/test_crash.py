"""Crash tests with real processes: kill -9 a service, or restart the broker or the database,
in the middle of a stream of signed webhooks. Afterwards every event that got a 202 is in
`payment_events` exactly once, and accepted = persisted + dead-lettered + rejected.

Killing services touches only this test's own processes. Restarting the broker or the database
would hit every other test session on the machine, so those tests start a private Kafka broker
(the project's jars from `.local/kafka/libs`) and a private PostgreSQL cluster on free ports.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from processors.dead_letters import read_topic
from processors.topics import create_topics, pipeline_topics
from schemas import headers as h
from schemas.topics import DEFAULT_RETRY_DELAYS, Topics
from sinks.migrate import migrate
from tests.support.http import post_stripe, stripe_event
from tests.support.services import ROOT, with_database
from tests.support.stack import Stack, free_port


class Webhooks(threading.Thread):
    """Posts signed Stripe events at a modest rate, retrying like a provider until a 202."""

    def __init__(self, url: str, run: str, count: int, rate: float = 25.0) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.ids = [f"evt_{run}_{i:04d}" for i in range(count)]
        self.rate = rate
        self.accepted: set[str] = set()
        self.answers: dict[int | str, int] = {}
        self.sent = 0
        self.done = threading.Event()

    def run(self) -> None:
        rng = random.Random(7)  # noqa: S311 - picks which events repeat; no secrecy
        started = time.monotonic()
        for i, event_id in enumerate(self.ids):
            self._deliver(event_id, i)
            if i % 10 == 9:  # providers deliver some events twice
                earlier = rng.randrange(i)
                self._deliver(self.ids[earlier], earlier)
            time.sleep(max(0.0, started + (i + 1) / self.rate - time.monotonic()))
        self.done.set()

    def _deliver(self, event_id: str, n: int, give_up_after: float = 60.0) -> None:
        body = stripe_event(event_id, payment_id=f"pi_{event_id[:-2]}", amount=100 + n)
        deadline = time.monotonic() + give_up_after
        while time.monotonic() < deadline:
            self.sent += 1
            status: int | str
            try:
                status = post_stripe(self.url, body)[0]
            except OSError as exc:  # refused or reset while ingress is down
                status = type(exc).__name__
            self.answers[status] = self.answers.get(status, 0) + 1
            if status == 202:
                self.accepted.add(event_id)
                return
            time.sleep(0.2)


def event_ids(rows: list[tuple[str]]) -> list[str]:
    return [r[0].split(":", 1)[1] for r in rows]


def letter_ids(bootstrap: str, topic: str) -> list[str]:
    """The Stripe event ids on a DLQ or rejected topic. Raw records carry `evt_…` in the event-id
    header and `{endpoint}:evt_…` as key; the sink's dead letters carry `stripe:evt_…`."""
    found = []
    for d in asyncio.run(read_topic(bootstrap, topic)):
        event_id = d.get(h.EVENT_ID) or d.key.split(":", 1)[1]
        found.append(event_id.removeprefix("stripe:"))
    return found


def settle(
    stack: Stack, accepted: set[str], timeout: float = 60.0
) -> tuple[list[str], list[str], list[str]]:
    """Wait until every accepted event is accounted for and the counts stop moving."""
    prefix = Topics(stack.env["PAYPIPE_TOPIC_PREFIX"])
    bootstrap = stack.env["KAFKA_BOOTSTRAP_SERVERS"]
    deadline = time.monotonic() + timeout
    previous: tuple[int, int, int] | None = None
    stable_since = time.monotonic()
    while True:
        with psycopg.connect(stack.env["DATABASE_URL"]) as conn:
            persisted = event_ids(conn.execute("SELECT event_id FROM payment_events").fetchall())
        dead = letter_ids(bootstrap, prefix.dlq)
        rejected = letter_ids(bootstrap, prefix.rejected)
        counts = (len(persisted), len(dead), len(rejected))
        if counts != previous:
            previous, stable_since = counts, time.monotonic()
        covered = accepted <= set(persisted) | set(dead) | set(rejected)
        if covered and time.monotonic() - stable_since >= 3.0:
            return persisted, dead, rejected
        if time.monotonic() > deadline:
            return persisted, dead, rejected
        time.sleep(0.5)


def trace(stack: Stack, missing: set[str]) -> str:
    """Where the missing events got to: their raw positions and whether any was normalized."""
    names = Topics(stack.env["PAYPIPE_TOPIC_PREFIX"])
    bootstrap = stack.env["KAFKA_BOOTSTRAP_SERVERS"]
    raw: dict[str, list[str]] = {}
    for d in asyncio.run(read_topic(bootstrap, names.raw)):
        raw.setdefault(d.key.split(":", 1)[1], []).append(f"{d.partition}:{d.offset}")
    normalized = {
        d.get(h.EVENT_ID).removeprefix("stripe:")
        for d in asyncio.run(read_topic(bootstrap, names.normalized))
    }
    lines = [f"prefix {names.prefix}"]
    for event_id in sorted(missing)[:20]:
        where = "on normalized" if event_id in normalized else "never normalized"
        lines.append(f"{event_id}: raw at {raw.get(event_id, 'nowhere')}, {where}")
    return "\n".join(lines)


def assert_balanced(stack: Stack, stream: Webhooks) -> None:
    persisted, dead, rejected = settle(stack, stream.accepted)
    logs = "\n".join(f"--- {s}\n{stack.tail(s, 25)}" for s in Stack.SERVICES)
    missing = stream.accepted - set(persisted)
    assert not missing, (
        f"{len(missing)} of {len(stream.accepted)} accepted events never persisted:\n"
        f"{trace(stack, missing)}\n{logs}"
    )
    assert len(persisted) == len(set(persisted))
    assert set(persisted) <= set(stream.ids), "rows for events nobody sent"
    accepted = stream.accepted
    assert len(accepted) == len(accepted & set(persisted)) + len(accepted & set(dead)) + len(
        accepted & set(rejected)
    )
    assert not dead and not rejected, f"valid events dead-lettered or rejected\n{logs}"
    for service, proc in stack.procs.items():
        assert proc.poll() is None, f"{service} died:\n{stack.tail(service)}"


def run_stream(
    stack: Stack, disrupt: Callable[[], None], count: int = 300, at: float = 4.0
) -> Webhooks:
    stream = Webhooks(stack.url, uuid.uuid4().hex[:6], count)
    stream.start()
    time.sleep(at)
    disrupt()
    stream.join(120)
    assert stream.done.is_set(), "the webhook stream did not finish"
    assert stream.accepted, stream.answers
    return stream


@pytest.mark.parametrize("service", Stack.SERVICES)
def test_kill_9_during_a_stream_loses_and_duplicates_nothing(stack: Stack, service: str) -> None:
    def crash() -> None:
        stack.kill(service)
        time.sleep(1.0)
        stack.start(service)

    stream = run_stream(stack, crash)
    assert_balanced(stack, stream)


# Broker and database restarts, on private instances so no other test session is disturbed.


class PrivatePostgres:
    """A throwaway PostgreSQL cluster from the OS packages, on a free port."""

    def __init__(self) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
        if not found:
            pytest.fail(
                "PostgreSQL server binaries are not installed (scripts/postgres.sh does it)"
            )
        self.bin = found[-1]
        self.port = free_port()
        # Not under pytest's tmp_path: the server runs as `postgres`, which cannot enter root's.
        self.dir = Path(tempfile.mkdtemp(prefix="paypipe-pg-"))
        self.data = self.dir / "data"
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._as_owner("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust")

    def _as_owner(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if os.getuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir}"
        )
        log = str(self.dir / "server.log")
        self._as_owner("pg_ctl", "-D", str(self.data), "-l", log, "-w", "-o", options, "start")

    def stop(self) -> None:
        self._as_owner("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self.stop()
        time.sleep(2.0)  # an outage, not a blip
        self.start()

    def remove(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self._as_owner("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


LOG4J = """Configuration:
  Appenders:
    Console: {name: STDOUT, PatternLayout: {pattern: "[%d] %p %m (%c)%n"}}
  Loggers:
    Root: {level: INFO, AppenderRef: [{ref: STDOUT}]}
"""


class PrivateKafka:
    """A throwaway single-node KRaft broker from the jars `scripts/kafka.sh` fetched."""

    def __init__(self, workdir: Path) -> None:
        self.libs = ROOT / ".local" / "kafka" / "libs"
        if not (self.libs / ".complete").exists():
            pytest.fail(
                "No Kafka jars under .local/kafka/libs (scripts/kafka.sh start fetches them)"
            )
        self.port, self.controller = free_port(), free_port()
        self.dir = workdir / "kafka"
        self.dir.mkdir()
        self.config = self.dir / "server.properties"
        self.config.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{self.controller}",
                    f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                    f"log.dirs={self.dir / 'data'}",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=4",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=false",
                ]
            )
            + "\n"
        )
        self.logging = self.dir / "log4j2.yaml"
        self.logging.write_text(LOG4J)
        cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        self._java("kafka.tools.StorageTool", "format", "-t", cluster)
        self.proc: subprocess.Popen[bytes] | None = None

    def _java(self, main: str, *args: str) -> None:
        classpath = f"{self.libs}/*"
        subprocess.run(
            ["java", "-cp", classpath, main, *args, "-c", str(self.config)],
            check=True,
            capture_output=True,
            timeout=120,
        )

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.dir / "server.log"
        marker = log.stat().st_size if log.exists() else 0
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    "java",
                    "-Xmx512m",
                    f"-Dlog4j2.configurationFile={self.logging}",
                    "-cp",
                    f"{self.libs}/*",
                    "kafka.Kafka",
                    str(self.config),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 90
        while b"Kafka Server started" not in log.read_bytes()[marker:]:
            assert self.proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the private broker did not start"
            time.sleep(0.3)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        time.sleep(2.0)
        self.start()


@pytest.fixture
def private_stack(tmp_path: Path) -> Iterator[tuple[Stack, PrivateKafka, PrivatePostgres]]:
    kafka, postgres = PrivateKafka(tmp_path), PrivatePostgres()
    stack: Stack | None = None
    try:
        kafka.start()
        postgres.start()
        with psycopg.connect(postgres.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE paypipe")
        database = with_database(postgres.url, "paypipe")
        migrate(database)
        names = Topics(f"c{uuid.uuid4().hex[:10]}")
        asyncio.run(create_topics(kafka.bootstrap, pipeline_topics(names, 4, DEFAULT_RETRY_DELAYS)))
        stack = Stack(kafka.bootstrap, database, names.prefix, tmp_path)
        stack.start_all()
        yield stack, kafka, postgres
    finally:
        if stack is not None:
            stack.stop_all()
        kafka.stop()
        postgres.remove()


def test_a_database_restart_during_a_stream_loses_and_duplicates_nothing(
    private_stack: tuple[Stack, PrivateKafka, PrivatePostgres],
) -> None:
    stack, _, postgres = private_stack
    stream = run_stream(stack, postgres.restart)
    assert_balanced(stack, stream)


def test_a_broker_restart_during_a_stream_loses_and_duplicates_nothing(
    private_stack: tuple[Stack, PrivateKafka, PrivatePostgres],
) -> None:
    stack, kafka, _ = private_stack
    stream = run_stream(stack, kafka.restart)
    assert_balanced(stack, stream)
