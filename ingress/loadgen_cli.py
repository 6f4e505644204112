"""`paypipe loadgen`: realistic signed webhooks at a rate, a summary, and `--verify`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `loadgen` to `paypipe`."""
    parser = commands.add_parser(
        "loadgen",
        help="send realistic signed webhooks to ingress (or payments.raw) and check the balance",
        description=(
            "Send signed events of every configured provider (PayPal only when its dev key "
            "exists), with duplicates, out-of-order deliveries, bad signatures and poison "
            "payloads, at a target rate or as fast as possible. Prints progress and a summary; "
            "with --verify, waits for the pipeline to drain and checks that every event ended "
            "exactly once as persisted, dead-lettered or rejected."
        ),
    )
    parser.add_argument(
        "--target",
        choices=("http", "raw"),
        default="http",
        help="POST to ingress (default) or produce straight to <prefix>.raw",
    )
    parser.add_argument("--url", help="ingress base URL (default http://INGRESS_HOST:INGRESS_PORT)")
    parser.add_argument(
        "--rate",
        type=float,
        default=100.0,
        help="events per second, open loop; 0 = as fast as possible (default 100)",
    )
    parser.add_argument("--count", type=int, help="stop after this many requests")
    parser.add_argument(
        "--duration",
        type=float,
        help="stop after this many seconds (default 10 when --count is not given)",
    )
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight at most")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--mix", help="endpoint weights, e.g. stripe=4,adyen=2 (default: all)")
    parser.add_argument("--duplicates", type=float, default=0.0, help="ratio of repeated events")
    parser.add_argument(
        "--out-of-order",
        type=float,
        default=0.0,
        help="ratio of events delivered after a later event of their payment",
    )
    parser.add_argument(
        "--bad-signatures",
        type=float,
        default=0.0,
        help="ratio of events signed with a wrong secret",
    )
    parser.add_argument(
        "--poison",
        type=float,
        default=0.0,
        help="ratio of well-signed events that cannot be normalized",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed of the traffic")
    parser.add_argument("--run-id", help="tag of this run's ids (default: random)")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="wait for the pipeline to drain, then check the balance",
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=60.0,
        help="--verify gives up after this many seconds without progress",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    import asyncio

    return asyncio.run(run(args))


async def run(args: argparse.Namespace) -> int:
    """Exit 0 when the run sent something accepted and, with --verify, the balance holds."""
    import os
    import secrets

    from ingress import loadgen, loadgen_verify
    from ingress.loadgen_events import Ratios, Traffic, default_mix, parse_mix
    from ingress.loadgen_providers import builders
    from schemas.config import load_common
    from schemas.topics import Topics

    common = load_common()
    paypal_dir = common.dev_dir / "paypal"
    table = builders(paypal_dir)
    notes = []
    if "paypal" not in table:
        notes.append(
            f"PayPal skipped: no dev signing key at {paypal_dir} (run `paypipe dev-certs`)."
        )
    try:
        mix = parse_mix(args.mix) if args.mix else default_mix(common.endpoints, table)
        missing = [
            e for e in mix if e in common.endpoints and common.endpoints[e].provider not in table
        ]
        if missing:
            raise ValueError(f"No signing material for the endpoints {missing}.")
        run_id = args.run_id or f"lg{secrets.token_hex(4)}"
        traffic = Traffic(
            endpoints=common.endpoints,
            builders=table,
            mix=mix,
            ratios=Ratios(args.duplicates, args.out_of_order, args.bad_signatures, args.poison),
            run=run_id,
            seed=args.seed,
        )
    except ValueError as exc:
        sys.stderr.write(f"paypipe loadgen: {exc}\n")
        return 2
    topics = Topics(common.topic_prefix)
    duration = args.duration if args.duration is not None or args.count else 10.0
    report = loadgen.Report(run=run_id, target=args.target, notes=notes)
    host = os.environ.get("INGRESS_HOST", "127.0.0.1")
    url = args.url or f"http://{host}:{os.environ.get('INGRESS_PORT', '8080')}"
    sender: Any = (
        loadgen.HttpSender(traffic, url, args.concurrency, args.timeout)
        if args.target == "http"
        else loadgen.RawSender(traffic, common.kafka_bootstrap_servers, topics)
    )
    async with sender:
        await loadgen.drive(
            loadgen.deliveries(traffic, args.count),
            sender,
            report,
            rate=args.rate or None,
            duration=duration,
            concurrency=args.concurrency,
            progress=None if args.quiet else loadgen.show_progress,
        )
    if not args.quiet:
        sys.stderr.write("\n")
    result: dict[str, Any] = {"mix": mix, **report.summary()}
    code = 0 if report.accepted or report.rejected else 2
    if args.verify:
        if not args.quiet:
            sys.stderr.write("Waiting for the pipeline to drain…\n")
        balance = await loadgen_verify.verify(
            report,
            database_url=common.database_url,
            bootstrap=common.kafka_bootstrap_servers,
            topics=topics,
            drain_timeout=args.drain_timeout,
        )
        result["verify"] = balance.summary(report.ledger)
        code = code or (0 if result["verify"]["ok"] else 1)
    sys.stdout.write(json.dumps(result, indent=2) + "\n" if args.json else render(result))
    return code


def render(result: dict[str, Any]) -> str:
    """The summary as a few human lines."""
    lat = result["latency_ms"]
    lines = [
        f"run {result['run']} → {result['target']}: {result['seconds']} s",
        f"  sent {result['sent']:,}  accepted {result['accepted']:,}  "
        f"rejected {result['rejected']:,}  errors {result['errors']:,}  "
        f"statuses {result['statuses']}",
        f"  kinds {result['kinds']}  out of order {result['out_of_order']:,}",
        f"  throughput {result['accepted_per_second']:,} accepted/s "
        f"({result['sent_per_second']:,} sent/s)",
        "  latency ms " + "  ".join(f"{k} {v}" for k, v in lat.items()),
    ]
    lines += [f"  note: {n}" for n in result["notes"]]
    check = result.get("verify")
    if check:
        verdict = "balances" if check["ok"] else "DOES NOT BALANCE"
        lines += [
            f"verify: {verdict} after {check['waited_seconds']} s",
            f"  answered {check['answered']:,} (accepted {check['accepted']:,} + rejected at the "
            f"edge {check['edge_rejected']:,}) = persisted {check['persisted']:,} + dead-lettered "
            f"{check['dead_lettered']:,} + rejected {check['rejected']:,} {check['rejected_by_stage']}",
            "  end to end ms " + "  ".join(f"{k} {v}" for k, v in check["end_to_end_ms"].items()),
        ]
        if check["unexpected_answers"]:
            lines.append(f"  unexpected answers: {check['unexpected_answers']:,}")
        for name, problem in check["problems"].items():
            lines.append(f"  {name}: {problem['count']:,} e.g. {', '.join(problem['sample'])}")
    return "\n".join(lines) + "\n"
