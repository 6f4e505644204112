"""`paypipe dlq list|show|replay` and `paypipe rejected list|show`: the operator's tools.

They need only Kafka: KAFKA_BOOTSTRAP_SERVERS and PAYPIPE_TOPIC_PREFIX, as every service reads
them. Modules are imported inside the handlers so `paypipe --help` stays fast.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from processors.dead_letters import DeadLetter, Filter

EXAMPLES = """examples:
  paypipe dlq list --provider stripe --since 2h
  paypipe dlq show 0:42 --body
  paypipe dlq replay --endpoint stripe2 --error-class PayloadInvalid --dry-run
  paypipe dlq replay --id 0:42 --id 3:7 --rate 50
"""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `dlq` and `rejected` to `paypipe`."""
    dlq = commands.add_parser(
        "dlq",
        help="list, show and replay dead letters (payments.dlq)",
        description="Inspect and replay the dead-letter topic. A dead letter's id is "
        "partition:offset in the topic, as `dlq list` shows it.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = dlq.add_subparsers(metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="a table of the dead letters that match the filters")
    _filters(listing)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(run=_list, which="dlq")
    show = actions.add_parser("show", help="everything about one dead letter")
    show.add_argument("id", help="partition:offset, as `dlq list` shows it")
    show.add_argument("--body", action="store_true", help="print the body too (may hold PII)")
    show.set_defaults(run=_show, which="dlq")
    replay = actions.add_parser(
        "replay",
        help="send matching dead letters back to the stage that failed",
        description="Stage verify/retry goes back to the raw topic and is verified again; "
        "stage sink goes back to the normalized topic. Replaying twice writes nothing twice.",
    )
    _filters(replay)
    replay.add_argument("--dry-run", action="store_true", help="list what would be replayed")
    replay.add_argument("--rate", type=float, help="at most N records per second")
    replay.add_argument("--all", action="store_true", help="replay every dead letter (no filter)")
    replay.set_defaults(run=_replay, which="dlq")

    rejected = commands.add_parser(
        "rejected",
        help="list and show records whose signature failed (payments.rejected)",
        description="Rejected records are never replayed: a failed signature stays failed.",
    )
    actions = rejected.add_subparsers(metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="a table of the rejected records")
    _filters(listing)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(run=_list, which="rejected")
    show = actions.add_parser("show", help="everything about one rejected record")
    show.add_argument("id", help="partition:offset, as `rejected list` shows it")
    show.add_argument("--body", action="store_true", help="print the body too (may hold PII)")
    show.set_defaults(run=_show, which="rejected")


def _filters(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("filters (repeat a flag for any of several values)")
    group.add_argument("--provider", action="append", default=[])
    group.add_argument("--endpoint", action="append", default=[])
    group.add_argument("--error-class", action="append", default=[], dest="error_class")
    group.add_argument("--stage", action="append", default=[], help="verify, retry, sink, ingress")
    group.add_argument("--key", action="append", default=[], help="the record key, exactly")
    group.add_argument("--id", action="append", default=[], help="partition:offset")
    group.add_argument("--since", help="last failure at or after: RFC 3339, a date, or 30m/2h/3d")
    group.add_argument("--until", help="last failure before: RFC 3339, a date, or 30m/2h/3d")


def _filter(args: argparse.Namespace) -> Filter:
    from processors.dead_letters import Filter, parse_id, parse_time

    now = datetime.now(UTC)
    return Filter(
        providers=frozenset(args.provider),
        endpoints=frozenset(args.endpoint),
        error_classes=frozenset(args.error_class),
        stages=frozenset(args.stage),
        keys=frozenset(args.key),
        ids=frozenset(parse_id(i) for i in args.id),
        since=parse_time(args.since, now) if args.since else None,
        until=parse_time(args.until, now) if args.until else None,
    )


def _connection(which: str) -> tuple[str, str]:
    from schemas.config import DEFAULT_KAFKA
    from schemas.topics import Topics

    names = Topics.from_env()
    topic = names.dlq if which == "dlq" else names.rejected
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_KAFKA), topic


def _read(which: str, wanted: Filter) -> list[DeadLetter]:
    from processors.dead_letters import read_topic, select

    bootstrap, topic = _connection(which)
    return select(asyncio.run(read_topic(bootstrap, topic)), wanted)


def _fail(message: str) -> int:
    sys.stderr.write(f"paypipe: {message}\n")
    return 2


def _list(args: argparse.Namespace) -> int:
    from processors.dead_letters import (
        DLQ_COLUMNS,
        REJECTED_COLUMNS,
        dlq_row,
        format_table,
        rejected_row,
    )

    try:
        letters = _read(args.which, _filter(args))
    except (ValueError, LookupError) as exc:
        return _fail(str(exc))
    if args.json:
        for d in letters:
            sys.stdout.write(json.dumps(_as_json(d), sort_keys=True) + "\n")
        return 0
    if not letters:
        sys.stdout.write(f"No {'dead letters' if args.which == 'dlq' else 'rejected records'}.\n")
        return 0
    if args.which == "dlq":
        sys.stdout.write(format_table(DLQ_COLUMNS, [dlq_row(d) for d in letters]))
    else:
        sys.stdout.write(format_table(REJECTED_COLUMNS, [rejected_row(d) for d in letters]))
    return 0


def _as_json(d: DeadLetter) -> dict[str, object]:
    return {
        "id": d.id,
        "key": d.key,
        "provider": d.provider,
        "endpoint": d.endpoint,
        "error_class": d.error_class,
        "message": d.message,
        "stage": d.stage,
        "attempts": d.attempts,
        "first_failure_at": d.first_failure.isoformat(),
        "last_failure_at": d.last_failure.isoformat(),
    }


def _show(args: argparse.Namespace) -> int:
    from processors.dead_letters import Filter, format_detail, parse_id

    try:
        found = _read(args.which, Filter(ids=frozenset({parse_id(args.id)})))
    except (ValueError, LookupError) as exc:
        return _fail(str(exc))
    if not found:
        return _fail(f"No record at {args.id}.")
    sys.stdout.write(format_detail(found[0], body=args.body))
    return 0


def _replay(args: argparse.Namespace) -> int:
    from processors.dead_letters import format_table
    from processors.replay import Progress, dry_run, plans, replay
    from schemas.topics import Topics

    try:
        wanted = _filter(args)
        if wanted == type(wanted)() and not args.all:
            return _fail("Name what to replay with a filter, or pass --all.")
        if args.rate is not None and args.rate <= 0:
            return _fail("--rate must be positive.")
        letters = _read("dlq", wanted)
    except (ValueError, LookupError) as exc:
        return _fail(str(exc))
    chosen = plans(letters, Topics.from_env(), time.time())
    if args.dry_run:
        rows = [(p.letter.id, p.letter.key, p.letter.stage, p.topic or "-") for p in chosen]
        if rows:
            sys.stdout.write(format_table(("ID", "KEY", "STAGE", "TARGET"), rows))
        sys.stdout.write(dry_run(chosen).text(dry_run=True))
        return 0
    bootstrap, _ = _connection("dlq")
    total = sum(1 for p in chosen if p.topic is not None)
    summary = asyncio.run(replay(bootstrap, chosen, args.rate, Progress(total)))
    sys.stdout.write(summary.text(dry_run=False))
    return 1 if summary.failed else 0
