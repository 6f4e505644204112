"""Versioned migrations: `migrations/NNNN_name.sql`, applied once each, in order, under a lock."""

from __future__ import annotations

import logging
from importlib import resources

import psycopg

logger = logging.getLogger(__name__)

# Any constant shared by every process that migrates: only one applies migrations at a time.
_LOCK = 0x70617970  # "payp"


def available() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration shipped with the package, in order."""
    found = []
    for item in resources.files("sinks").joinpath("migrations").iterdir():
        if item.name.endswith(".sql"):
            version, _, name = item.name.removesuffix(".sql").partition("_")
            found.append((int(version), name, item.read_text(encoding="utf-8")))
    return sorted(found)


def migrate(database_url: str) -> list[int]:
    """Apply the migrations the database lacks; returns the versions applied."""
    applied_now = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, name, sql in available():
                if version in done:
                    continue
                with conn.transaction():
                    conn.execute(sql.encode())
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                        (version, name),
                    )
                logger.info("Applied migration %04d %s", version, name)
                applied_now.append(version)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK,))
    return applied_now
