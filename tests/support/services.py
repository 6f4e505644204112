"""Where the tests find Kafka and PostgreSQL: environment, testcontainers, or our launcher.

Order: services named by KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL → testcontainers when a Docker
engine answers → the project's own launchers (scripts/kafka.sh, scripts/postgres.sh). A service
that cannot be had fails the run; it is never skipped.
"""

from __future__ import annotations

import os
import socket
import subprocess
import urllib.parse
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/paypipe"


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError:
        return False
    return True


def docker_engine() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


def kafka_service() -> tuple[str, Callable[[], None]]:
    """A bootstrap address and how to stop what was started for it."""
    named = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if named:
        host, _, port = named.split(",")[0].rpartition(":")
        if not reachable(host, int(port)):
            raise RuntimeError(f"KAFKA_BOOTSTRAP_SERVERS={named} does not answer")
        return named, lambda: None
    if docker_engine():
        from testcontainers.kafka import KafkaContainer

        container = KafkaContainer("apache/kafka:4.1.1").with_kraft()
        container.start()
        return container.get_bootstrap_server(), container.stop
    if reachable("127.0.0.1", 9092):
        return "127.0.0.1:9092", lambda: None
    subprocess.run([ROOT / "scripts" / "kafka.sh", "start"], check=True)
    return "127.0.0.1:9092", lambda: subprocess.run(
        [ROOT / "scripts" / "kafka.sh", "stop"], check=False
    )


def postgres_service() -> tuple[str, Callable[[], None]]:
    """A server URL (its `postgres` database) and how to stop what was started for it."""
    named = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    parts = urllib.parse.urlsplit(named)
    if reachable(parts.hostname or "127.0.0.1", parts.port or 5432):
        return named, lambda: None
    if "DATABASE_URL" in os.environ:
        raise RuntimeError("DATABASE_URL does not answer")
    if docker_engine():
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:15", driver=None)
        container.start()
        return container.get_connection_url(), container.stop
    subprocess.run([ROOT / "scripts" / "postgres.sh", "start"], check=True)
    return named, lambda: subprocess.run([ROOT / "scripts" / "postgres.sh", "stop"], check=False)


def with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
