"""Reconciliation from the command line and the reporting views, on a real database."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from schemas.normalized import NormalizedEvent
from sinks.writer import write_batch
from tests.support.events import event
from tests.support.services import ROOT

HEADER = "balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category,source_id,charge_id,payment_intent_id"
WINDOW = ["--from", "2026-01-01", "--to", "2026-02-01"]


def row(txn: str, category: str, gross: str, pid: str, currency: str = "usd") -> str:
    return f"{txn},2026-01-01 00:00:30,{currency},{gross},0.00,{gross},{category},x_{txn},ch_{pid},{pid}"


def stripe_report(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


async def fill(url: str, events: list[NormalizedEvent]) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await write_batch(conn, events)


def paypipe(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PAYPIPE_CONFIG": str(ROOT / "config" / "dev.toml"),
    }
    return subprocess.run(
        [sys.executable, "-m", "schemas.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def db(clean_db: str) -> str:
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("TRUNCATE reconciliation_runs CASCADE")
    return clean_db


# The state of paypipe: what its webhooks said.
PAYPIPE_EVENTS = [
    event(1, "payment.succeeded", "pi_ok", amount=1099),
    event(2, "payment.succeeded", "pi_refunded", amount=5000),
    event(3, "refund.succeeded", "pi_refunded", seconds=10, amount=2000),
    event(4, "payment.succeeded", "pi_not_in_report", amount=700),
    event(5, "payment.succeeded", "pi_amount", amount=1000),
    event(6, "payment.succeeded", "pi_currency", amount=1000),
    event(7, "payment.failed", "pi_status", amount=800),
    event(8, "payment.succeeded", "pi_refund_differs", amount=3000),
    event(9, "payment.failed", "pi_failed_only", amount=100),
    dataclasses.replace(
        event(10, "payment.succeeded", "pi_other_endpoint", amount=100), endpoint="stripe-eu"
    ),
    event(11, "payment.succeeded", "pi_before_window", amount=100, seconds=-86400),
]

MATCHING = [
    row("txn_1", "charge", "10.99", "pi_ok"),
    row("txn_2", "charge", "50.00", "pi_refunded"),
    row("txn_3", "refund", "-20.00", "pi_refunded"),
    row("txn_4", "charge", "7.00", "pi_not_in_report"),
    row("txn_5", "charge", "10.00", "pi_amount"),
    row("txn_6", "charge", "10.00", "pi_currency"),
    row("txn_8", "charge", "30.00", "pi_refund_differs"),
    row("txn_fee", "fee", "-1.00", ""),
    row("txn_payout", "payout", "-100.00", ""),
]

# The same report with one deliberate difference of every kind.
INJECTED = {
    "txn_4": None,  # dropped: paypipe has it, the report not
    "txn_5": row("txn_5", "charge", "10.50", "pi_amount"),
    "txn_6": row("txn_6", "charge", "10.00", "pi_currency", currency="eur"),
    "txn_8": row("txn_8", "charge", "30.00", "pi_refund_differs")
    + "\n"
    + row("txn_9", "refund", "-5.00", "pi_refund_differs"),
}
EXTRA = [
    row("txn_7", "charge", "8.00", "pi_status"),
    row("txn_10", "charge", "12.34", "pi_never_received"),
]
EXPECTED = {
    ("missing_in_report", "pi_not_in_report", None, "700 USD"),
    ("amount_mismatch", "pi_amount", "1050 USD", "1000 USD"),
    ("currency_mismatch", "pi_currency", "EUR", "USD"),
    ("status_mismatch", "pi_status", "succeeded", "failed"),
    ("refund_mismatch", "pi_refund_differs", "500 USD", "0 USD"),
    ("missing_in_paypipe", "pi_never_received", "1234 USD", None),
}


def injected_lines() -> list[str]:
    lines = []
    for line in MATCHING:
        txn = line.split(",", 1)[0]
        if txn in INJECTED:
            replacement = INJECTED[txn]
            if replacement is not None:
                lines.append(replacement)
        else:
            lines.append(line)
    return lines + EXTRA


def items(url: str) -> set[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT kind, payment_id, report_value, paypipe_value FROM reconciliation_items"
        ).fetchall()
    return {tuple(r) for r in rows}


async def test_every_injected_difference_is_found_and_nothing_else(db: str, tmp_path: Path) -> None:
    await fill(db, PAYPIPE_EVENTS)
    report = stripe_report(tmp_path / "stripe.csv", injected_lines())
    export, metrics = tmp_path / "differences.csv", tmp_path / "reconcile.prom"
    done = paypipe(
        db,
        "reconcile",
        "--endpoint",
        "stripe",
        "--report",
        str(report),
        *WINDOW,
        "--csv",
        str(export),
        "--metrics-file",
        str(metrics),
    )
    assert done.returncode == 1, done.stderr
    assert items(db) == EXPECTED
    for kind, pid, _, _ in EXPECTED:
        assert kind in done.stdout and pid in done.stdout

    with export.open(newline="") as f:
        exported = {(r["kind"], r["payment_id"]) for r in csv.DictReader(f)}
    assert exported == {(k, p) for k, p, _, _ in EXPECTED}

    text = metrics.read_text()
    for kind in ("amount_mismatch", "missing_in_paypipe", "refund_mismatch"):
        assert f'paypipe_reconciliation_differences{{endpoint="stripe",kind="{kind}"}} 1.0' in text

    with psycopg.connect(db) as conn:
        run = conn.execute(
            "SELECT endpoint, provider, report_format, differences, report_payments, matched"
            " FROM reconciliation_runs"
        ).fetchone()
    assert run == ("stripe", "stripe", "stripe", 6, 7, 2)


async def test_a_matching_report_finds_nothing_and_exits_zero(db: str, tmp_path: Path) -> None:
    await fill(db, PAYPIPE_EVENTS)
    report = stripe_report(tmp_path / "stripe.csv", MATCHING)
    metrics = tmp_path / "reconcile.prom"
    done = paypipe(
        db,
        "reconcile",
        "--endpoint",
        "stripe",
        "--report",
        str(report),
        *WINDOW,
        "--metrics-file",
        str(metrics),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "differences: none" in done.stdout
    assert items(db) == set()
    assert 'kind="amount_mismatch"} 0.0' in metrics.read_text()
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT differences FROM reconciliation_runs").fetchall() == [(0,)]


async def test_a_generic_report_is_reconciled_through_its_mapping(db: str, tmp_path: Path) -> None:
    await fill(db, PAYPIPE_EVENTS[:3])
    report = tmp_path / "any.csv"
    report.write_text("ref,cents,ccy\npi_ok,1099,USD\npi_refunded,5000,USD\n", encoding="utf-8")
    done = paypipe(
        db,
        "reconcile",
        "--endpoint",
        "stripe",
        "--report",
        str(report),
        "--format",
        "generic",
        "--map",
        "payment_id=ref,amount=cents,currency=ccy",
        "--minor-units",
        "--output",
        "json",
    )
    # The generic report states no refunds: only amounts and currencies are compared.
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == []


def test_an_unreadable_report_exits_two_and_stores_nothing(db: str, tmp_path: Path) -> None:
    report = tmp_path / "bad.csv"
    report.write_text("balance_transaction_id,currency\n", encoding="utf-8")
    done = paypipe(db, "reconcile", "--endpoint", "stripe", "--report", str(report))
    assert done.returncode == 2
    assert "lacks the columns" in done.stderr
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM reconciliation_runs").fetchone() == (0,)


def test_an_unknown_endpoint_exits_two(db: str, tmp_path: Path) -> None:
    report = stripe_report(tmp_path / "stripe.csv", MATCHING)
    done = paypipe(db, "reconcile", "--endpoint", "nope", "--report", str(report))
    assert done.returncode == 2
    assert "No endpoint named 'nope'" in done.stderr


# Reporting: one day of events, counted the way a payments team reads them.
REPORT_EVENTS = [
    # Stripe sends payment_intent.succeeded and charge.succeeded: one payment, counted once.
    event("a1", "payment.succeeded", "pi_a", seconds=0, amount=1000, refunded=0),
    event("a2", "payment.succeeded", "pi_a", seconds=1, amount=1000, refunded=0),
    # charge.refunded carries the charge amount and the cumulative refunded total.
    event("a3", "refund.succeeded", "pi_a", seconds=60, amount=1000, refunded=300),
    event("a4", "refund.succeeded", "pi_a", seconds=120, amount=1000, refunded=500),
    event("a5", "dispute.opened", "pi_a", seconds=180, amount=1000),
    event("a6", "dispute.lost", "pi_a", seconds=240, amount=1000),
    event("b1", "payment.failed", "pi_b", seconds=10, amount=400),
    event("b2", "payment.failed", "pi_b", seconds=20, amount=400),
    event("b3", "payment.succeeded", "pi_b", seconds=30, amount=400),
    # Single refunds without a cumulative figure add up.
    event("b4", "refund.succeeded", "pi_b", seconds=40, amount=100),
    event("b5", "refund.succeeded", "pi_b", seconds=50, amount=50),
    event("c1", "payment.succeeded", "pi_c", seconds=86400 + 5, amount=250),
    event("c2", "dispute.opened", "pi_c", seconds=86400 + 6, amount=250),
    event("c3", "dispute.won", "pi_c", seconds=86400 + 7, amount=250),
    event("d1", "other", None, seconds=5, amount=None),
]


async def test_daily_view_counts_volumes_failures_and_disputes(db: str) -> None:
    await fill(db, REPORT_EVENTS)
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD'), provider, currency,"
            " payments_succeeded, succeeded_volume, refunds, refunded_volume, failures,"
            " failure_rate::text, disputes_opened, disputes_won, disputes_lost"
            " FROM report_daily ORDER BY bucket"
        ).fetchall()
    assert rows == [
        ("2026-01-01", "stripe", "USD", 2, 1400, 4, 650, 2, "0.5000", 1, 0, 1),
        ("2026-01-02", "stripe", "USD", 1, 250, 0, 0, 0, "0.0000", 1, 1, 0),
    ]


async def test_refunded_volume_over_all_time_equals_each_payments_refunded_total(db: str) -> None:
    await fill(db, REPORT_EVENTS)
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT p.payment_id, p.amount_refunded, sum(r.refunded_amount)::bigint"
            " FROM payments p JOIN report_payment_events r USING (provider, payment_id)"
            " GROUP BY 1, 2 ORDER BY 1"
        ).fetchall()
    assert rows == [("pi_a", 500, 500), ("pi_b", 150, 150), ("pi_c", None, 0)]


async def test_hourly_view_splits_the_day(db: str) -> None:
    await fill(db, REPORT_EVENTS)
    with psycopg.connect(db) as conn:
        hours = conn.execute("SELECT count(*) FROM report_hourly").fetchone()
        summary = conn.execute(
            "SELECT status, payments, amount, amount_refunded FROM payments_summary ORDER BY status"
        ).fetchall()
    assert hours == (2,)
    assert summary == [("succeeded", 3, 1650, 650)]


async def test_report_command_prints_json_csv_and_a_table(db: str) -> None:
    await fill(db, REPORT_EVENTS)
    done = paypipe(db, "report", "--output", "json", "--from", "2026-01-01", "--to", "2026-01-02")
    assert done.returncode == 0, done.stderr
    [day] = json.loads(done.stdout)
    assert day["bucket"] == "2026-01-01T00:00:00.000000Z"
    assert (day["succeeded_volume"], day["refunded_volume"], day["failure_rate"]) == (
        1400,
        650,
        "0.5000",
    )

    done = paypipe(db, "report", "--output", "csv", "--interval", "hour")
    lines = list(csv.DictReader(done.stdout.splitlines()))
    assert [r["succeeded_volume"] for r in lines] == ["1400", "250"]

    done = paypipe(db, "report")
    assert done.returncode == 0
    assert "14.00" in done.stdout and "6.50" in done.stdout and "failure_rate" in done.stdout
