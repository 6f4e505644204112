"""`paypipe backfill`: recover Stripe events paypipe never received (registered through entry points)."""

from __future__ import annotations

import argparse
import re
import sys
import time

_RELATIVE = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands to `paypipe`."""
    parser = commands.add_parser(
        "backfill",
        help="list a Stripe endpoint's events from the API and feed the missed ones to the pipeline",
        description=(
            "List events from Stripe's events API (the endpoint's api_key, api_base option) "
            "created since --since, and publish those not yet in payment_events to the raw topic, "
            "marked paypipe-backfilled (no signature check: fetched over TLS with the API key)."
        ),
    )
    parser.add_argument("--endpoint", required=True, help="a configured Stripe endpoint")
    parser.add_argument(
        "--since",
        required=True,
        help="RFC 3339 time, Unix seconds, or an age such as 90m, 6h, 3d",
    )
    parser.add_argument("--until", help="stop before this time (same forms as --since)")
    parser.add_argument(
        "--rate", type=float, default=20.0, help="API requests per second (default 20)"
    )
    parser.add_argument(
        "--page-size", type=int, default=100, help="events per API page, 1-100 (default 100)"
    )
    parser.add_argument("--dry-run", action="store_true", help="list and count, publish nothing")
    parser.set_defaults(run=_run)


def epoch(value: str, now: float | None = None) -> int:
    """`--since`/`--until` as Unix seconds."""
    text = value.strip()
    if text.isdigit():
        return int(text)
    relative = _RELATIVE.match(text)
    if relative:
        return int(
            (now if now is not None else time.time()) - int(relative[1]) * _UNITS[relative[2]]
        )
    from schemas.normalized import parse_rfc3339

    try:
        return int(parse_rfc3339(text.replace(" ", "T", 1)).timestamp())
    except ValueError as exc:
        raise SystemExit(f"paypipe backfill: {value!r} is not a time or an age.") from exc


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from ingress.backfill import BackfillError, backfill
    from schemas.config import ConfigError, load_common
    from schemas.logs import configure_logging
    from schemas.topics import Topics

    if not 1 <= args.page_size <= 100:
        sys.stderr.write("paypipe backfill: --page-size must lie between 1 and 100.\n")
        return 2
    try:
        common = load_common()
        configure_logging("backfill", common.log_level)
        endpoint = common.endpoints.get(args.endpoint)
        if endpoint is None:
            raise ConfigError(f"No endpoint named {args.endpoint!r} is configured.")
        summary = asyncio.run(
            backfill(
                endpoint,
                epoch(args.since),
                database_url=common.database_url,
                bootstrap_servers=common.kafka_bootstrap_servers,
                raw_topic=Topics(common.topic_prefix).raw,
                limit=args.page_size,
                rate=args.rate,
                dry_run=args.dry_run,
                until=epoch(args.until) if args.until else None,
            )
        )
    except (BackfillError, ConfigError) as exc:
        sys.stderr.write(f"paypipe backfill: {exc}\n")
        return 1
    verb = "would publish" if args.dry_run else "published"
    sys.stdout.write(
        f"backfill {endpoint.name}: {summary.listed} events listed in {summary.pages} pages, "
        f"{summary.seen} already stored, {verb} {summary.published}\n"
    )
    return 0
