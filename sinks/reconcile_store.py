"""The I/O shell of reconciliation: paypipe's payments in, runs and differences out, a metric.

`payments` has no endpoint column; a payment belongs to an endpoint when one of its events
arrived there. The window (`--from`/`--to`) picks paypipe's payments with an event inside it;
payments the report names are always looked up, so an event just outside the window never
makes a payment look missing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from prometheus_client import REGISTRY, CollectorRegistry, Gauge, write_to_textfile

from sinks.reconcile import KINDS, Outcome, PaypipePayment

logger = logging.getLogger(__name__)

DIFFERENCES = Gauge(
    "paypipe_reconciliation_differences",
    "Differences the last reconciliation of an endpoint found, by kind.",
    ["endpoint", "kind"],
    registry=None,
)
LAST_RUN = Gauge(
    "paypipe_reconciliation_last_run_timestamp_seconds",
    "When the last reconciliation of an endpoint finished (Unix time).",
    ["endpoint"],
    registry=None,
)
# Registered with the process registry like every paypipe metric; the textfile gets only these,
# because node-exporter refuses a textfile whose process_* metrics collide with its own.
for _metric in (DIFFERENCES, LAST_RUN):
    REGISTRY.register(_metric)

_PAYMENTS = """
SELECT p.payment_id, p.status, p.amount, p.currency, p.amount_refunded,
       EXISTS (SELECT 1 FROM payment_events w
               WHERE w.provider = p.provider AND w.payment_id = p.payment_id
                 AND w.endpoint = %(endpoint)s
                 AND (%(start)s::timestamptz IS NULL OR w.occurred_at >= %(start)s)
                 AND (%(stop)s::timestamptz IS NULL OR w.occurred_at < %(stop)s)) AS in_window
FROM payments p
WHERE p.provider = %(provider)s
  AND EXISTS (SELECT 1 FROM payment_events e
              WHERE e.provider = p.provider AND e.payment_id = p.payment_id
                AND e.endpoint = %(endpoint)s)
"""

_RUN = """
INSERT INTO reconciliation_runs (endpoint, provider, report_format, report_name, report_sha256,
    window_from, window_to, report_rows, report_payments, paypipe_payments, matched, differences,
    started_at)
VALUES (%(endpoint)s, %(provider)s, %(format)s, %(name)s, %(sha256)s, %(start)s, %(stop)s,
    %(rows)s, %(report_payments)s, %(paypipe_payments)s, %(matched)s, %(differences)s, %(started)s)
RETURNING run_id
"""

_ITEM = """
INSERT INTO reconciliation_items (run_id, item_no, kind, provider, payment_id, report_value,
    paypipe_value, detail)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
"""


@dataclass(frozen=True, slots=True)
class Run:
    endpoint: str
    provider: str
    report_format: str
    report_name: str
    report_sha256: str
    window_from: datetime | None
    window_to: datetime | None
    report_rows: int
    started_at: datetime


def load_payments(
    conn: psycopg.Connection[Any],
    provider: str,
    endpoint: str,
    start: datetime | None,
    stop: datetime | None,
) -> list[PaypipePayment]:
    """The endpoint's payments, each flagged when one of its events lies in the window."""
    rows = conn.execute(
        _PAYMENTS, {"provider": provider, "endpoint": endpoint, "start": start, "stop": stop}
    ).fetchall()
    return [
        PaypipePayment(
            payment_id=r[0],
            status=r[1],
            amount=r[2],
            currency=r[3].strip() if r[3] else None,
            amount_refunded=r[4],
            in_window=bool(r[5]),
        )
        for r in rows
    ]


def save_run(conn: psycopg.Connection[Any], run: Run, outcome: Outcome) -> int:
    """Store the run and each difference in one transaction; returns the run id."""
    with conn.transaction():
        row = conn.execute(
            _RUN,
            {
                "endpoint": run.endpoint,
                "provider": run.provider,
                "format": run.report_format,
                "name": run.report_name,
                "sha256": run.report_sha256,
                "start": run.window_from,
                "stop": run.window_to,
                "rows": run.report_rows,
                "report_payments": outcome.report_payments,
                "paypipe_payments": outcome.paypipe_payments,
                "matched": outcome.matched,
                "differences": len(outcome.differences),
                "started": run.started_at,
            },
        ).fetchone()
        assert row is not None
        run_id = int(row[0])
        with conn.cursor() as cur:
            cur.executemany(
                _ITEM,
                [
                    (
                        run_id,
                        n,
                        d.kind,
                        run.provider,
                        d.payment_id,
                        d.report_value,
                        d.paypipe_value,
                        d.detail,
                    )
                    for n, d in enumerate(outcome.differences, start=1)
                ],
            )
    logger.info("Stored reconciliation run %d of %s", run_id, run.endpoint)
    return run_id


def record_metrics(endpoint: str, counts: dict[str, int], finished: float) -> None:
    """Set the gauges for every kind, zeros included, so alerts see a clean run too."""
    for kind in KINDS:
        DIFFERENCES.labels(endpoint, kind).set(counts.get(kind, 0))
    LAST_RUN.labels(endpoint).set(finished)


def write_metrics_file(path: Path, metrics: Sequence[Gauge] = (DIFFERENCES, LAST_RUN)) -> None:
    """The gauges in Prometheus text format for node-exporter's textfile collector (atomic)."""
    registry = CollectorRegistry()
    for metric in metrics:
        registry.register(metric)
    write_to_textfile(str(path), registry)
