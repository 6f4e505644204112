"""`paypipe sink` and `paypipe migrate`."""

from __future__ import annotations

import argparse
import sys


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser(
        "sink",
        help="run a sink worker (payments.normalized → PostgreSQL)",
        description="Write normalized events in batches and keep the payments table reconciled.",
    )
    run.set_defaults(run=_run)
    migrate = commands.add_parser(
        "migrate",
        help="apply the database migrations the database lacks",
        description="Apply versioned migrations to DATABASE_URL, once each, in order.",
    )
    migrate.set_defaults(run=_migrate)


def _run(_: argparse.Namespace) -> int:
    from sinks.__main__ import main

    main()
    return 0


def _migrate(_: argparse.Namespace) -> int:
    from schemas.config import load_common
    from sinks.migrate import available, migrate

    url = load_common().database_url
    applied = migrate(url)
    sys.stdout.write(f"migrations: {len(available())} known, applied now: {applied or 'none'}\n")
    return 0
