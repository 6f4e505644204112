"""Provider reports as `ReportRow`s: Stripe, PayPal, or any CSV with a column mapping.

- `stripe`: the "Balance change from activity — itemized" report (report types
  `balance_change_from_activity.itemized.N`, Dashboard → Reports → Balance → download itemized).
  Needs `balance_transaction_id`, `currency`, `gross`, `reporting_category` and `payment_intent_id`
  or `charge_id`; reads `created_utc` (else `created`), `customer_facing_amount` and
  `customer_facing_currency` when present (the presentment amount that webhooks carry).
- `paypal`: the Activity download (Activity → Statements → Activity download, CSV): `Date`,
  `Time`, `TimeZone`, `Type`, `Status`, `Currency`, `Gross`, `Transaction ID`, `Reference Txn ID`.
  Refunds and chargebacks point at their capture through `Reference Txn ID`.
- `generic`: any CSV; `mapping` names the column of each field (see `FIELDS`).

Money in these reports is decimal major units ("10.99"); it becomes exact minor units with
`schemas.money.decimal_to_minor`, never through a float. Rows that move no payment's money
(fees, payouts, transfers, currency conversions) are left out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schemas.errors import AmountNotExact
from schemas.money import decimal_to_minor, normalize_currency
from schemas.normalized import parse_rfc3339
from sinks.reconcile import ROW_KINDS, ReportRow

FORMATS = ("stripe", "paypal", "generic")
FIELDS = (
    "payment_id",
    "amount",
    "currency",
    "status",
    "amount_refunded",
    "occurred_at",
    "kind",
    "reference",
)


class ReportFormatError(ValueError):
    """The report cannot be read as the named format; the message says which row and why."""


# Stripe reporting categories that touch a payment (docs.stripe.com/reports/reporting-categories).
_STRIPE_CATEGORIES = {
    "charge": "payment",
    "charge_failure": "payment_failure",
    "partial_capture_reversal": "capture_reversal",
    "refund": "refund",
    "refund_failure": "refund_reversal",
    "dispute": "dispute",
    "dispute_reversal": "dispute_reversal",
}

# Provider and generic statuses in paypipe's lifecycle vocabulary. A refunded or reversed
# capture still was captured: refunds and disputes are compared on their own rows.
STATUS_WORDS = {
    **dict.fromkeys(
        [
            "succeeded",
            "completed",
            "cleared",
            "captured",
            "paid",
            "settled",
            "success",
            "processed",
            "refunded",
            "partially refunded",
            "partially-refunded",
            "reversed",
            "canceled-reversal",
        ],
        "succeeded",
    ),
    **dict.fromkeys(
        ["authorized", "authorised", "pending", "held", "uncleared", "placed", "in-progress"],
        "authorized",
    ),
    **dict.fromkeys(["failed", "denied", "declined", "refused", "error"], "failed"),
    **dict.fromkeys(["canceled", "cancelled", "voided", "expired"], "canceled"),
    "created": "created",
}

_GENERIC_KINDS = {
    **{k: k for k in ROW_KINDS},
    **dict.fromkeys(["charge", "capture", "sale", "payment"], "payment"),
    **dict.fromkeys(["chargeback"], "dispute"),
}

# Abbreviations PayPal prints in its TimeZone column; IANA names work too.
_ZONES = {
    "UTC": 0,
    "GMT": 0,
    "PST": -8,
    "PDT": -7,
    "MST": -7,
    "MDT": -6,
    "CST": -6,
    "CDT": -5,
    "EST": -5,
    "EDT": -4,
    "BST": 1,
    "CET": 1,
    "CEST": 2,
}


def parse(
    fmt: str, text: str, mapping: Mapping[str, str] | None = None, minor_units: bool = False
) -> list[ReportRow]:
    """The payment rows of a report in format `fmt`, or ReportFormatError."""
    if fmt == "stripe":
        return parse_stripe(text)
    if fmt == "paypal":
        return parse_paypal(text)
    if fmt == "generic":
        if not mapping:
            raise ReportFormatError("A generic report needs a column mapping (--map).")
        return parse_generic(text, mapping, minor_units)
    raise ReportFormatError(f"Unknown report format {fmt!r}; use one of {', '.join(FORMATS)}.")


def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    """`field=Column` items (each may hold several, comma-separated) as a field → column dict."""
    mapping: dict[str, str] = {}
    for item in items:
        for part in item.split(","):
            key, sep, column = part.partition("=")
            key = key.strip()
            if not sep or not column.strip():
                raise ReportFormatError(f"A mapping item must read field=Column, not {part!r}.")
            if key not in FIELDS:
                raise ReportFormatError(
                    f"Unknown mapping field {key!r}; fields: {', '.join(FIELDS)}."
                )
            mapping[key] = column.strip()
    if "payment_id" not in mapping:
        raise ReportFormatError("The mapping must name the payment_id column.")
    return mapping


def _rows(
    text: str, key: Callable[[str], str]
) -> tuple[set[str], list[tuple[int, dict[str, str]]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [key(name) for name in (reader.fieldnames or [])]
    rows = []
    for number, raw in enumerate(reader, start=2):
        rows.append((number, {key(k): (v or "").strip() for k, v in raw.items() if k is not None}))
    return set(header), rows


def _require(header: set[str], needed: Iterable[str], fmt: str) -> None:
    missing = [name for name in needed if name not in header]
    if missing:
        raise ReportFormatError(f"The {fmt} report lacks the columns: {', '.join(missing)}.")


def _minor(value: str, currency: str, number: int, decimal_comma: bool = False) -> int:
    text = value.replace(" ", "")
    text = text.replace(".", "").replace(",", ".") if decimal_comma else text.replace(",", "")
    try:
        return abs(decimal_to_minor(text, currency))
    except AmountNotExact as exc:
        raise ReportFormatError(f"Row {number}: the amount is not exact in {currency}.") from exc


def _currency(value: str, number: int) -> str:
    try:
        return normalize_currency(value)
    except AmountNotExact as exc:
        raise ReportFormatError(f"Row {number}: the currency is not an ISO 4217 code.") from exc


def _moment(value: str, number: int) -> datetime | None:
    """RFC 3339, `YYYY-MM-DD HH:MM:SS` (UTC) or epoch seconds."""
    if not value:
        return None
    try:
        if value.isdigit():
            return datetime.fromtimestamp(int(value), UTC)
        return parse_rfc3339(value.replace(" ", "T", 1))
    except ValueError as exc:
        raise ReportFormatError(f"Row {number}: the time {value!r} is not understood.") from exc


def _zone(name: str, number: int) -> timezone | ZoneInfo:
    if name.upper() in _ZONES:
        return timezone(timedelta(hours=_ZONES[name.upper()]))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ReportFormatError(f"Row {number}: the time zone {name!r} is unknown.") from exc


def status_word(value: str) -> str | None:
    """A report's status in paypipe's vocabulary; unknown words stay as they are, lower case."""
    word = value.strip().lower()
    return STATUS_WORDS.get(word, word) if word else None


def parse_stripe(text: str) -> list[ReportRow]:
    header, rows = _rows(text, lambda k: k.strip().lower())
    _require(
        header, ("balance_transaction_id", "currency", "gross", "reporting_category"), "Stripe"
    )
    if not header & {"payment_intent_id", "charge_id"}:
        raise ReportFormatError(
            "The Stripe report needs a payment_intent_id or charge_id column; "
            "add them to the report's columns."
        )
    out = []
    for number, row in rows:
        kind = _STRIPE_CATEGORIES.get(row["reporting_category"].lower())
        if kind is None:
            continue
        payment_id = row.get("payment_intent_id") or row.get("charge_id")
        if not payment_id:
            raise ReportFormatError(f"Row {number}: a {kind} row names no payment or charge.")
        facing = row.get("customer_facing_currency", "")
        if facing and row.get("customer_facing_amount"):
            currency, value = _currency(facing, number), row["customer_facing_amount"]
        else:
            currency, value = _currency(row["currency"], number), row["gross"]
        decimal_comma = "," in value and "." not in value
        out.append(
            ReportRow(
                payment_id=payment_id,
                kind=kind,
                amount=_minor(value, currency, number, decimal_comma),
                currency=currency,
                status=None,
                occurred_at=_moment(row.get("created_utc") or row.get("created", ""), number),
                reference=row["balance_transaction_id"],
            )
        )
    return out


def _paypal_kind(kind: str, gross_negative: bool) -> str | None:
    word = kind.lower()
    if "fee" in word or "authorization" in word or "void" in word:
        return None
    if "refund" in word:
        return "refund" if gross_negative else None  # a positive refund is one we received
    if "chargeback" in word or "payment reversal" in word:
        return "dispute_reversal" if "reversal" in word and "chargeback" in word else "dispute"
    if "payment" in word and not gross_negative:
        return "payment"
    return None  # payments sent, conversions, withdrawals, holds: no payment of ours


def parse_paypal(text: str) -> list[ReportRow]:
    header, rows = _rows(text, lambda k: k.strip().lower().replace(" ", ""))
    needed = ("date", "type", "status", "currency", "gross", "transactionid", "referencetxnid")
    _require(header, needed, "PayPal")
    out = []
    for number, row in rows:
        gross = row["gross"]
        kind = _paypal_kind(row["type"], gross.startswith("-"))
        if kind is None:
            continue
        payment_id = row["transactionid"] if kind == "payment" else row["referencetxnid"]
        if not payment_id:
            raise ReportFormatError(f"Row {number}: a {kind} row names no capture.")
        currency = _currency(row["currency"], number)
        out.append(
            ReportRow(
                payment_id=payment_id,
                kind=kind,
                amount=_minor(gross, currency, number),
                currency=currency,
                status=status_word(row["status"]) if kind == "payment" else None,
                occurred_at=_paypal_moment(row, number),
                reference=row["transactionid"],
            )
        )
    return out


def _paypal_moment(row: Mapping[str, str], number: int) -> datetime | None:
    date = row["date"]
    for layout in ("%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y"):
        try:
            day = datetime.strptime(date, layout)
            break
        except ValueError:
            continue
    else:
        raise ReportFormatError(f"Row {number}: the date {date!r} is not understood.")
    clock = row.get("time") or "00:00:00"
    try:
        hours, minutes, seconds = (int(p) for p in clock.split(":"))
    except ValueError as exc:
        raise ReportFormatError(f"Row {number}: the time {clock!r} is not understood.") from exc
    local = day.replace(hour=hours, minute=minutes, second=seconds)
    zone = row.get("timezone") or "UTC"
    return local.replace(tzinfo=_zone(zone, number)).astimezone(UTC)


def parse_generic(text: str, mapping: Mapping[str, str], minor_units: bool) -> list[ReportRow]:
    header, rows = _rows(text, lambda k: k.strip())
    _require(header, mapping.values(), "generic")
    if "amount" in mapping and "currency" not in mapping and not minor_units:
        raise ReportFormatError("Amounts in major units need a currency column in the mapping.")
    out = []
    for number, row in rows:
        field = {name: row[column] for name, column in mapping.items()}
        if not field["payment_id"]:
            raise ReportFormatError(f"Row {number}: the payment id is empty.")
        currency = _currency(field["currency"], number) if field.get("currency") else None
        kind = _GENERIC_KINDS.get((field.get("kind") or "payment").lower())
        if kind is None:
            raise ReportFormatError(
                f"Row {number}: unknown kind; use one of {', '.join(_GENERIC_KINDS)}."
            )
        out.append(
            ReportRow(
                payment_id=field["payment_id"],
                kind=kind,
                amount=_generic_amount(field.get("amount", ""), currency, minor_units, number),
                currency=currency,
                status=status_word(field.get("status", "")),
                occurred_at=_moment(field.get("occurred_at", ""), number),
                reference=field.get("reference", ""),
                amount_refunded=_generic_amount(
                    field.get("amount_refunded", ""), currency, minor_units, number
                ),
            )
        )
    return out


def _generic_amount(value: str, currency: str | None, minor_units: bool, number: int) -> int | None:
    if not value:
        return None
    if minor_units:
        try:
            return abs(int(value))
        except ValueError as exc:
            raise ReportFormatError(f"Row {number}: the amount is not whole minor units.") from exc
    if currency is None:
        raise ReportFormatError(f"Row {number}: an amount in major units needs a currency.")
    return _minor(value, currency, number)
