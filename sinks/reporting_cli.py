"""`paypipe reconcile` and `paypipe report` (registered through `paypipe.commands`).

Modules are imported inside the commands, so `paypipe --help` stays fast and light.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

EXIT_DIFFERENCES = 1
EXIT_UNUSABLE = 2


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands to `paypipe`."""
    reconcile = commands.add_parser(
        "reconcile",
        help="compare a provider report with paypipe's payments and classify every difference",
        description=(
            "Compare a provider's report (Stripe itemized balance change, PayPal activity "
            "download, or any CSV with --map) with the payments of ENDPOINT. Stores the run in "
            "reconciliation_runs/reconciliation_items and prints the differences. Exit status: "
            "0 no difference, 1 differences found, 2 the report or options cannot be used."
        ),
    )
    reconcile.add_argument("--endpoint", required=True, help="configured endpoint name")
    reconcile.add_argument("--report", required=True, help="the report file (CSV)")
    reconcile.add_argument(
        "--format",
        choices=("stripe", "paypal", "generic"),
        help="report format (default: the endpoint's provider if stripe or paypal, else generic)",
    )
    reconcile.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="generic format: payment_id=…, amount=…, currency=…, status=…, amount_refunded=…, "
        "occurred_at=…, kind=…, reference=… (repeat or comma-separate)",
    )
    reconcile.add_argument(
        "--minor-units",
        action="store_true",
        help="generic format: amounts are integer minor units, not decimal major units",
    )
    reconcile.add_argument(
        "--from", dest="start", help="window start, inclusive (RFC 3339 or date)"
    )
    reconcile.add_argument("--to", dest="stop", help="window end, exclusive (RFC 3339 or date)")
    reconcile.add_argument("--csv", dest="csv_path", help="also write the differences to this CSV")
    reconcile.add_argument(
        "--metrics-file",
        help="write paypipe_reconciliation_differences in Prometheus text format to this path "
        "(node-exporter textfile collector)",
    )
    reconcile.add_argument(
        "--output", choices=("table", "csv", "json"), default="table", help="stdout format"
    )
    reconcile.set_defaults(run=_reconcile)

    report = commands.add_parser(
        "report",
        help="totals by day or hour, provider and currency: volumes, failures, disputes",
        description=(
            "Succeeded and refunded volume, failures and failure rate, disputes opened/won/lost, "
            "per UTC day (or hour), provider and currency, from the views report_daily and "
            "report_hourly. Volumes are minor units in CSV and JSON, major units in the table."
        ),
    )
    report.add_argument("--interval", choices=("day", "hour"), default="day")
    report.add_argument("--from", dest="start", help="first bucket, inclusive (RFC 3339 or date)")
    report.add_argument("--to", dest="stop", help="end, exclusive (RFC 3339 or date)")
    report.add_argument("--provider", help="only this provider")
    report.add_argument("--currency", help="only this currency (ISO 4217)")
    report.add_argument("--output", choices=("table", "csv", "json"), default="table")
    report.set_defaults(run=_report)


def moment(value: str | None) -> datetime | None:
    """`--from`/`--to`: RFC 3339, `YYYY-MM-DD HH:MM:SS` or a date, UTC unless an offset says."""
    if not value:
        return None
    from schemas.normalized import parse_rfc3339

    try:
        return parse_rfc3339(value.replace(" ", "T", 1))
    except ValueError as exc:
        raise SystemExit(f"paypipe: {value!r} is not an RFC 3339 time or a date.") from exc


def _reconcile(args: argparse.Namespace) -> int:
    from schemas.config import ConfigError

    try:
        return _reconcile_run(args)
    except (ValueError, ConfigError, OSError) as exc:  # each speaks in sentences
        sys.stderr.write(f"paypipe reconcile: {exc}\n")
        return EXIT_UNUSABLE


def _reconcile_run(args: argparse.Namespace) -> int:
    import hashlib
    import time
    from datetime import UTC
    from pathlib import Path

    import psycopg

    from schemas.config import ConfigError, load_common
    from sinks import reconcile_store as store
    from sinks.reconcile import compare
    from sinks.report_formats import parse, parse_mapping
    from sinks.reporting import render

    started = datetime.now(UTC)
    common = load_common()
    endpoint = common.endpoints.get(args.endpoint)
    if endpoint is None:
        raise ConfigError(f"No endpoint named {args.endpoint!r} is configured.")
    fmt = args.format or (
        endpoint.provider if endpoint.provider in ("stripe", "paypal") else "generic"
    )
    data = Path(args.report).read_bytes()
    mapping = parse_mapping(args.map) if args.map else None
    rows = parse(fmt, data.decode("utf-8-sig"), mapping, args.minor_units)
    start, stop = moment(args.start), moment(args.stop)
    rows = [
        r
        for r in rows
        if r.occurred_at is None
        or ((start is None or r.occurred_at >= start) and (stop is None or r.occurred_at < stop))
    ]
    with psycopg.connect(common.database_url) as conn:
        payments = store.load_payments(conn, endpoint.provider, endpoint.name, start, stop)
        lists_refunds = fmt != "generic" or bool(
            mapping and {"kind", "amount_refunded"} & set(mapping)
        )
        outcome = compare(rows, payments, lists_refunds)
        run = store.Run(
            endpoint=endpoint.name,
            provider=endpoint.provider,
            report_format=fmt,
            report_name=Path(args.report).name,
            report_sha256=hashlib.sha256(data).hexdigest(),
            window_from=start,
            window_to=stop,
            report_rows=len(rows),
            started_at=started,
        )
        run_id = store.save_run(conn, run, outcome)
    store.record_metrics(endpoint.name, outcome.counts, time.time())
    if args.metrics_file:
        store.write_metrics_file(Path(args.metrics_file))
    items = [
        {
            "kind": d.kind,
            "payment_id": d.payment_id,
            "report": d.report_value,
            "paypipe": d.paypipe_value,
            "detail": d.detail,
        }
        for d in outcome.differences
    ]
    columns = ("kind", "payment_id", "report", "paypipe", "detail")
    if args.csv_path:
        Path(args.csv_path).write_text(render(items, columns, "csv"), encoding="utf-8")
    if items or args.output != "table":
        sys.stdout.write(render(items, columns, args.output))
    if args.output == "table":
        found = ", ".join(f"{k} {n}" for k, n in outcome.counts.items() if n) or "none"
        sys.stdout.write(
            f"run {run_id}: {endpoint.name} ({fmt}), {outcome.report_payments} payments in the "
            f"report, {outcome.paypipe_payments} in paypipe's window, {outcome.matched} matched; "
            f"differences: {found}\n"
        )
    return EXIT_DIFFERENCES if outcome.differences else 0


def _report(args: argparse.Namespace) -> int:
    import psycopg

    from schemas.config import load_common
    from sinks.reporting import COLUMNS, query_report, render

    common = load_common()
    with psycopg.connect(common.database_url) as conn:
        rows = query_report(
            conn,
            args.interval,
            moment(args.start),
            moment(args.stop),
            args.provider,
            args.currency.upper() if args.currency else None,
        )
    sys.stdout.write(render(rows, COLUMNS, args.output))
    return 0
