"""Reconciliation: a provider's report against paypipe's `payments`, every difference classified.

Pure: report rows (parsed by `sinks.report_formats`) and payment rows in, differences out.
A report lists money movements (a charge, each refund, a dispute withdrawal…); they are summed
per payment into what the provider says the payment is, then compared field by field:

- `missing_in_paypipe`: the report has a payment paypipe never heard of (a webhook never got).
- `missing_in_report`: paypipe has a succeeded payment in the window that the report lacks.
  Only succeeded payments move money, so only they must appear in a balance report.
- `currency_mismatch`: both sides name a currency and they differ. Amounts in different
  currencies cannot be compared, so a currency mismatch is the only difference reported for it.
- `amount_mismatch`: the captured amount differs (minor units).
- `status_mismatch`: the provider's status, in paypipe's vocabulary, differs.
- `refund_mismatch`: the refunded total differs (paypipe's `amount_refunded`, null as 0).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

# Rows without a time sort first, in file order.
_DAWN = datetime.min.replace(tzinfo=UTC)

KINDS = (
    "missing_in_paypipe",
    "missing_in_report",
    "amount_mismatch",
    "currency_mismatch",
    "status_mismatch",
    "refund_mismatch",
)

# What a report row does to its payment.
ROW_KINDS = (
    "payment",  # a capture or charge: adds to the amount, sets the status
    "capture_reversal",  # the uncaptured part of a partial capture: lowers the amount
    "payment_failure",  # a settled payment failed afterwards (Stripe charge_failure)
    "refund",  # adds to the refunded total
    "refund_reversal",  # a refund that failed: lowers the refunded total
    "dispute",
    "dispute_reversal",
)


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One money movement of a provider report, in exact minor units (never negative)."""

    payment_id: str
    kind: str
    amount: int | None
    currency: str | None
    status: str | None = None
    occurred_at: datetime | None = None
    reference: str = ""
    # Generic reports may state the cumulative refunded total of the payment on its row.
    amount_refunded: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in ROW_KINDS:
            raise ValueError(f"unknown report row kind {self.kind!r}")


@dataclass(frozen=True, slots=True)
class ReportedPayment:
    """What the report says about one payment; None where the report says nothing."""

    payment_id: str
    amount: int | None
    currency: str | None
    status: str | None
    amount_refunded: int | None
    rows: int


@dataclass(frozen=True, slots=True)
class PaypipePayment:
    """A row of `payments`; `in_window` when one of its events lies in the reconciled window."""

    payment_id: str
    status: str | None
    amount: int | None
    currency: str | None
    amount_refunded: int | None
    in_window: bool = True


@dataclass(frozen=True, slots=True)
class Difference:
    kind: str
    payment_id: str
    report_value: str | None
    paypipe_value: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class Outcome:
    differences: list[Difference]
    report_payments: int
    paypipe_payments: int
    matched: int
    counts: dict[str, int] = field(default_factory=dict)


def summarize(rows: Iterable[ReportRow], lists_refunds: bool = True) -> dict[str, ReportedPayment]:
    """The report's rows summed per payment, in the order payments first appear.

    `lists_refunds`: the report has a row for every refund (provider reports do), so a settled
    payment without one was not refunded. A report that does not (a generic CSV mapped without
    refund rows or a refunded column) says nothing about refunds.
    """
    grouped: dict[str, list[ReportRow]] = {}
    for row in rows:
        grouped.setdefault(row.payment_id, []).append(row)
    return {pid: _summarize(pid, items, lists_refunds) for pid, items in grouped.items()}


def _summarize(payment_id: str, rows: list[ReportRow], lists_refunds: bool) -> ReportedPayment:
    ordered = sorted(enumerate(rows), key=lambda p: (p[1].occurred_at or _DAWN, p[0]))
    captures = [r for _, r in ordered if r.kind in ("payment", "capture_reversal")]
    amount: int | None = None
    if any(r.kind == "payment" and r.amount is not None for r in captures):
        amount = sum(
            (r.amount or 0) * (-1 if r.kind == "capture_reversal" else 1) for r in captures
        )
    status: str | None = None
    for _, row in ordered:
        if row.kind == "payment":
            status = row.status or "succeeded"
        elif row.kind == "payment_failure":
            status = "failed"
    currency = next((r.currency for r in captures if r.currency), None) or next(
        (r.currency for _, r in ordered if r.currency), None
    )
    refunds = [r for _, r in ordered if r.kind in ("refund", "refund_reversal")]
    stated = [r.amount_refunded for _, r in ordered if r.amount_refunded is not None]
    refunded: int | None = None
    if refunds or stated:
        summed = sum((r.amount or 0) * (-1 if r.kind == "refund_reversal" else 1) for r in refunds)
        refunded = max([summed, *stated])
    elif amount is not None and lists_refunds:
        refunded = 0  # a settled payment with no refund row: nothing was refunded
    return ReportedPayment(payment_id, amount, currency, status, refunded, len(rows))


def compare(
    rows: Iterable[ReportRow], paypipe: Iterable[PaypipePayment], lists_refunds: bool = True
) -> Outcome:
    """Every difference between the report and paypipe's payments, in a stable order."""
    reported = summarize(rows, lists_refunds)
    known: Mapping[str, PaypipePayment] = {p.payment_id: p for p in paypipe}
    differences: list[Difference] = []
    matched = 0
    for pid, theirs in reported.items():
        ours = known.get(pid)
        if ours is None:
            differences.append(
                Difference(
                    "missing_in_paypipe",
                    pid,
                    _money(theirs.amount, theirs.currency),
                    None,
                    "The report has this payment; paypipe has no event for it.",
                )
            )
            continue
        found = _fields(theirs, ours)
        differences.extend(found)
        matched += not found
    for pid, ours in known.items():
        if pid not in reported and ours.in_window and ours.status == "succeeded":
            differences.append(
                Difference(
                    "missing_in_report",
                    pid,
                    None,
                    _money(ours.amount, ours.currency),
                    "paypipe has this succeeded payment; the report does not list it.",
                )
            )
    counts = dict.fromkeys(KINDS, 0)
    for difference in differences:
        counts[difference.kind] += 1
    window = sum(1 for p in known.values() if p.in_window)
    return Outcome(differences, len(reported), window, matched, counts)


def _fields(theirs: ReportedPayment, ours: PaypipePayment) -> list[Difference]:
    pid = theirs.payment_id
    if theirs.currency and ours.currency and theirs.currency != ours.currency:
        return [
            Difference(
                "currency_mismatch",
                pid,
                theirs.currency,
                ours.currency,
                "The report and paypipe name different currencies.",
            )
        ]
    currency = ours.currency or theirs.currency
    found = []
    if theirs.amount is not None and theirs.amount != ours.amount:
        found.append(
            Difference(
                "amount_mismatch",
                pid,
                _money(theirs.amount, currency),
                _money(ours.amount, currency),
                "The captured amounts differ.",
            )
        )
    if theirs.status is not None and theirs.status != ours.status:
        found.append(
            Difference(
                "status_mismatch",
                pid,
                theirs.status,
                ours.status,
                "The report and paypipe disagree on the payment's status.",
            )
        )
    if theirs.amount_refunded is not None and theirs.amount_refunded != (ours.amount_refunded or 0):
        found.append(
            Difference(
                "refund_mismatch",
                pid,
                _money(theirs.amount_refunded, currency),
                _money(ours.amount_refunded or 0, currency),
                "The refunded totals differ.",
            )
        )
    return found


def _money(amount: int | None, currency: str | None) -> str | None:
    """Minor units and currency as a value column shows them: `1099 USD`."""
    if amount is None:
        return None
    return f"{amount} {currency}" if currency else str(amount)
