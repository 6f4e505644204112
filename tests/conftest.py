"""Fixtures shared by the integration and end-to-end tests: real Kafka, real PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest

from processors.topics import create_topics, pipeline_topics
from schemas.topics import DEFAULT_RETRY_DELAYS, Topics
from sinks.migrate import migrate
from tests.support.services import kafka_service, postgres_service, with_database


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    try:
        address, stop = kafka_service()
    except Exception as exc:  # a missing service fails the run, it never skips
        pytest.fail(f"No Kafka broker for the tests: {exc}")
    yield address
    stop()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A freshly created and migrated test database on the real server."""
    try:
        server, stop = postgres_service()
    except Exception as exc:
        pytest.fail(f"No PostgreSQL server for the tests: {exc}")
    # One database per test session, so parallel runs on one server never meet.
    name = f"paypipe_test_{os.getpid()}"
    admin = with_database(server, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server, name)
    migrate(url)
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    stop()


@pytest.fixture
def clean_db(database_url: str) -> str:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE payment_events, payments")
    return database_url


@pytest.fixture
async def topics(kafka_bootstrap: str) -> AsyncIterator[Topics]:
    """A unique topic prefix per test, with every pipeline topic created."""
    names = Topics(f"t{uuid.uuid4().hex[:10]}")
    await create_topics(kafka_bootstrap, pipeline_topics(names, 4, DEFAULT_RETRY_DELAYS))
    yield names


@pytest.fixture(scope="session", autouse=True)
def _dev_config() -> None:
    os.environ.setdefault("PAYPIPE_CONFIG", "config/dev.toml")
