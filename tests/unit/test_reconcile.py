"""The pure comparison: each kind of difference found alone, and nothing on a match."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sinks.reconcile import KINDS, PaypipePayment, ReportRow, compare, summarize


def charge(pid: str, amount: int = 1000, currency: str = "USD", **kw: object) -> ReportRow:
    return ReportRow(pid, "payment", amount, currency, **kw)  # type: ignore[arg-type]


def refund(pid: str, amount: int, currency: str = "USD") -> ReportRow:
    return ReportRow(pid, "refund", amount, currency)


def ours(pid: str, amount: int = 1000, currency: str = "USD", **kw: object) -> PaypipePayment:
    fields = {"status": "succeeded", "amount_refunded": None, **kw}
    return PaypipePayment(pid, amount=amount, currency=currency, **fields)  # type: ignore[arg-type]


def kinds(rows: list[ReportRow], payments: list[PaypipePayment]) -> list[tuple[str, str]]:
    return [(d.kind, d.payment_id) for d in compare(rows, payments).differences]


def test_a_matching_report_has_no_difference() -> None:
    rows = [charge("pi_1"), charge("pi_2", 500), refund("pi_2", 200)]
    payments = [ours("pi_1"), ours("pi_2", 500, amount_refunded=200)]
    outcome = compare(rows, payments)
    assert outcome.differences == []
    assert (outcome.report_payments, outcome.paypipe_payments, outcome.matched) == (2, 2, 2)
    assert outcome.counts == dict.fromkeys(KINDS, 0)


def test_a_payment_only_in_the_report_is_missing_in_paypipe() -> None:
    assert kinds([charge("pi_1"), charge("pi_2")], [ours("pi_1")]) == [
        ("missing_in_paypipe", "pi_2")
    ]


def test_a_succeeded_payment_only_in_paypipe_is_missing_in_the_report() -> None:
    assert kinds([charge("pi_1")], [ours("pi_1"), ours("pi_2")]) == [("missing_in_report", "pi_2")]


def test_payments_that_moved_no_money_or_lie_outside_the_window_need_no_report_row() -> None:
    payments = [
        ours("pi_1"),
        ours("pi_failed", status="failed"),
        ours("pi_auth", status="authorized"),
        ours("pi_old", in_window=False),
    ]
    assert kinds([charge("pi_1")], payments) == []


def test_a_different_amount_is_an_amount_mismatch() -> None:
    outcome = compare([charge("pi_1", 1000)], [ours("pi_1", 1099)])
    [difference] = outcome.differences
    assert (difference.kind, difference.report_value, difference.paypipe_value) == (
        "amount_mismatch",
        "1000 USD",
        "1099 USD",
    )


def test_a_different_currency_is_only_a_currency_mismatch() -> None:
    rows = [charge("pi_1", 1000, "EUR"), refund("pi_1", 300, "EUR")]
    assert kinds(rows, [ours("pi_1", 1099, "USD")]) == [("currency_mismatch", "pi_1")]


def test_a_different_status_is_a_status_mismatch() -> None:
    assert kinds([charge("pi_1")], [ours("pi_1", status="failed")]) == [("status_mismatch", "pi_1")]
    assert kinds([charge("pi_2", status="authorized")], [ours("pi_2")]) == [
        ("status_mismatch", "pi_2")
    ]


def test_a_different_refunded_total_is_a_refund_mismatch() -> None:
    assert kinds([charge("pi_1"), refund("pi_1", 300)], [ours("pi_1")]) == [
        ("refund_mismatch", "pi_1")
    ]
    assert kinds([charge("pi_2")], [ours("pi_2", amount_refunded=100)]) == [
        ("refund_mismatch", "pi_2")
    ]


def test_refunds_sum_and_failed_refunds_subtract() -> None:
    rows = [
        charge("pi_1"),
        refund("pi_1", 300),
        refund("pi_1", 200),
        ReportRow("pi_1", "refund_reversal", 200, "USD"),
    ]
    assert summarize(rows)["pi_1"].amount_refunded == 300


def test_a_partial_capture_reversal_lowers_the_amount() -> None:
    rows = [charge("pi_1", 1000), ReportRow("pi_1", "capture_reversal", 400, "USD")]
    assert summarize(rows)["pi_1"].amount == 600


def test_a_later_charge_failure_makes_the_status_failed() -> None:
    early = datetime(2026, 1, 1, tzinfo=UTC)
    late = datetime(2026, 1, 2, tzinfo=UTC)
    rows = [
        ReportRow("pi_1", "payment_failure", 1000, "USD", occurred_at=late),
        charge("pi_1", occurred_at=early),
    ]
    assert summarize(rows)["pi_1"].status == "failed"


def test_refund_rows_alone_compare_only_the_refunded_total() -> None:
    """A payment charged before the window: the report holds only its refund."""
    assert kinds([refund("pi_1", 300)], [ours("pi_1", 9999, status="failed")]) == [
        ("refund_mismatch", "pi_1")
    ]


def test_a_generic_row_may_state_the_cumulative_refunded_total() -> None:
    rows = [ReportRow("pi_1", "payment", 1000, "USD", amount_refunded=250)]
    assert kinds(rows, [ours("pi_1", amount_refunded=250)]) == []


def test_several_differences_of_one_payment_are_each_reported() -> None:
    rows = [charge("pi_1", 1000), refund("pi_1", 100)]
    found = kinds(rows, [ours("pi_1", 1500, status="canceled")])
    assert found == [
        ("amount_mismatch", "pi_1"),
        ("status_mismatch", "pi_1"),
        ("refund_mismatch", "pi_1"),
    ]


def test_an_unknown_row_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown report row kind"):
        ReportRow("pi_1", "fee", 10, "USD")


def test_a_report_that_lists_no_refunds_says_nothing_about_them() -> None:
    rows = [charge("pi_1")]
    assert kinds(rows, [ours("pi_1", amount_refunded=300)]) == [("refund_mismatch", "pi_1")]
    assert compare(rows, [ours("pi_1", amount_refunded=300)], lists_refunds=False).differences == []
