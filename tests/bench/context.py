"""What every benchmark shares: the machine, the bench database, fresh topics, service processes."""

from __future__ import annotations

import asyncio
import os
import platform
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition

from ingress.loadgen_events import Ratios, Traffic, default_mix
from ingress.loadgen_providers import builders
from processors.topics import TopicSpec, create_topics, pipeline_topics
from schemas.config import DEFAULT_DATABASE_URL, DEFAULT_KAFKA, load_common
from schemas.topics import DEFAULT_RETRY_DELAYS, Topics
from sinks.migrate import migrate
from tests.support.services import ROOT, with_database
from tests.support.stack import Stack

PARTITIONS = 4
BENCH_DB = "paypipe_bench"


@dataclass
class Context:
    kafka: str
    server_url: str
    quick: bool
    duration: float
    workdir: Path

    @classmethod
    def create(cls, quick: bool, duration: float | None, workdir: Path) -> Context:
        return cls(
            kafka=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_KAFKA),
            server_url=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            quick=quick,
            duration=duration if duration is not None else (3.0 if quick else 30.0),
            workdir=workdir,
        )

    @property
    def db_url(self) -> str:
        return with_database(self.server_url, BENCH_DB)

    def prepare_database(self) -> str:
        """Create and migrate `paypipe_bench` (never the dev database), then empty it."""
        with psycopg.connect(with_database(self.server_url, "postgres"), autocommit=True) as conn:
            if not conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DB,)
            ).fetchone():
                conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
        migrate(self.db_url)
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            conn.execute("TRUNCATE payment_events, payments")
        return self.db_url

    def topics(self, name: str, extra: list[TopicSpec] | None = None) -> Topics:
        """A fresh `bench<hex>-<name>` prefix with every pipeline topic created."""
        topics = Topics(f"bench{uuid.uuid4().hex[:6]}-{name}")
        specs = pipeline_topics(topics, PARTITIONS, DEFAULT_RETRY_DELAYS) + (extra or [])
        asyncio.run(create_topics(self.kafka, specs))
        return topics

    def stack(self, topics: Topics, name: str) -> Stack:
        workdir = self.workdir / name
        workdir.mkdir(parents=True, exist_ok=True)
        stack = Stack(self.kafka, self.db_url, topics.prefix, workdir)
        # The PayPal dev key of `make up`, so the generator and the processor trust the same one.
        stack.env["PAYPIPE_DEV_DIR"] = os.environ.get("PAYPIPE_DEV_DIR", str(ROOT / ".local/dev"))
        # As in production: no per-event INFO lines (dev.toml turns them on for tracing).
        stack.env.setdefault("PAYPIPE_LOG_EVENTS", os.environ.get("PAYPIPE_LOG_EVENTS", "0"))
        return stack


def traffic(
    stack_env: dict[str, str] | None, run: str, mix: dict[str, float] | None = None
) -> Traffic:
    """The load generator's traffic over the dev endpoints (PayPal when its dev key exists)."""
    env = {**os.environ, **(stack_env or {})}
    env.setdefault("PAYPIPE_CONFIG", str(ROOT / "config" / "dev.toml"))
    common = load_common(env)
    dev_dir = Path(env.get("PAYPIPE_DEV_DIR", str(ROOT / ".local/dev")))
    table = builders(dev_dir / "paypal")
    return Traffic(
        endpoints=common.endpoints,
        builders=table,
        mix=mix or default_mix(common.endpoints, table),
        ratios=Ratios(),
        run=run,
        seed=1,
    )


def rss_kib(pid: int) -> dict[str, int]:
    """Resident memory now (VmRSS) and at its peak (VmHWM), in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


async def count_records(kafka: str, topic: str, expected: int, wait_seconds: float) -> list[int]:
    """Timestamps (ms) of the records of `topic`, once `expected` arrived or `wait_seconds` passed."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False, group_id=None)
    await consumer.start()
    stamps: list[int] = []
    try:
        parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        while len(stamps) < expected and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=500, max_records=10_000)
            stamps.extend(r.timestamp for records in batch.values() for r in records)
    finally:
        await consumer.stop()
    return stamps


def rate_from_stamps(stamps: list[int]) -> float:
    """Records per second between the first and the last output record's timestamp."""
    if len(stamps) < 2:
        return 0.0
    span = (max(stamps) - min(stamps)) / 1000
    return (len(stamps) - 1) / span if span > 0 else 0.0


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    total = re.search(r"^MemTotal:\s*(\d+)", meminfo, re.M)
    return {
        "nproc": os.cpu_count(),
        "cpu": model.group(1).strip() if model else platform.processor(),
        "memory_gib": round(int(total.group(1)) / 1024 / 1024, 1) if total else None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "kafka": _kafka_version(),
        "postgresql": _postgres_version(),
        "load_average_at_start": os.getloadavg()[0],
    }


def _kafka_version() -> str:
    libs = ROOT / ".local" / "kafka" / "libs"
    for jar in sorted(libs.glob("kafka-clients-*.jar")) if libs.exists() else ():
        return jar.stem.removeprefix("kafka-clients-")
    return "unknown"


def _postgres_version() -> str:
    try:
        url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
        with psycopg.connect(url, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "unknown"
    except psycopg.Error:
        return "unknown"
