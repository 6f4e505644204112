"""Report parsers: Stripe itemized balance change, PayPal activity download, generic CSV."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sinks.reconcile import ReportRow
from sinks.report_formats import ReportFormatError, parse, parse_mapping

STRIPE = """balance_transaction_id,created_utc,created,available_on_utc,currency,gross,fee,net,reporting_category,source_id,description,customer_facing_amount,customer_facing_currency,charge_id,payment_intent_id
txn_1,2026-01-05 10:00:00,2026-01-05 10:00:00,2026-01-07 00:00:00,usd,10.99,0.62,10.37,charge,ch_1,,10.99,usd,ch_1,pi_1
txn_2,2026-01-06 11:00:00,2026-01-06 11:00:00,2026-01-08 00:00:00,usd,-4.00,0.00,-4.00,refund,re_1,,4.00,usd,ch_1,pi_1
txn_3,2026-01-06 12:00:00,2026-01-06 12:00:00,2026-01-08 00:00:00,usd,-0.62,0.00,-0.62,fee,,Billing,,,,
txn_4,2026-01-06 13:00:00,2026-01-06 13:00:00,2026-01-08 00:00:00,usd,1000,0,1000,charge,ch_2,,1000,jpy,ch_2,
txn_5,2026-01-07 13:00:00,2026-01-07 13:00:00,2026-01-09 00:00:00,usd,-1000.00,0,-1000.00,payout,po_1,,,,,
txn_6,2026-01-07 14:00:00,2026-01-07 14:00:00,2026-01-09 00:00:00,usd,-10.99,15.00,-25.99,dispute,dp_1,,10.99,usd,ch_1,pi_1
"""

PAYPAL = """\ufeff"Date","Time","TimeZone","Name","Type","Status","Currency","Gross","Fee","Net","From Email Address","To Email Address","Transaction ID","Reference Txn ID","Balance Impact"
"01/05/2026","02:00:00","PST","Buyer","Express Checkout Payment","Completed","USD","1,234.56","-36.10","1,198.46","b@example.com","s@example.com","5O190127TN364715T","","Credit"
"01/06/2026","03:00:00","PST","Buyer","Payment Refund","Completed","USD","-34.56","1.00","-33.56","s@example.com","b@example.com","1JU08902781691411","5O190127TN364715T","Debit"
"01/06/2026","04:00:00","PST","","General Currency Conversion","Completed","USD","-10.00","0.00","-10.00","","","CC1","","Debit"
"01/07/2026","05:00:00","PST","Shop","Express Checkout Payment","Completed","USD","-20.00","0.00","-20.00","s@example.com","shop@example.com","OUT1","","Debit"
"01/07/2026","06:00:00","PST","Buyer","Express Checkout Payment","Pending","JPY","1,000","0","1,000","b@example.com","s@example.com","8PT597110X687430LKGECYHFA","","Memo"
"01/08/2026","06:00:00","PST","Buyer","Chargeback","Completed","USD","-1,234.56","0.00","-1,234.56","","","CB1","5O190127TN364715T","Debit"
"""


def test_stripe_rows_become_payment_movements_in_minor_units() -> None:
    rows = parse("stripe", STRIPE)
    assert rows == [
        ReportRow(
            "pi_1", "payment", 1099, "USD", None, datetime(2026, 1, 5, 10, tzinfo=UTC), "txn_1"
        ),
        ReportRow(
            "pi_1", "refund", 400, "USD", None, datetime(2026, 1, 6, 11, tzinfo=UTC), "txn_2"
        ),
        # No PaymentIntent: the charge id; the customer-facing amount is the presentment one.
        ReportRow(
            "ch_2", "payment", 1000, "JPY", None, datetime(2026, 1, 6, 13, tzinfo=UTC), "txn_4"
        ),
        ReportRow(
            "pi_1", "dispute", 1099, "USD", None, datetime(2026, 1, 7, 14, tzinfo=UTC), "txn_6"
        ),
    ]


def test_stripe_without_payment_columns_is_refused() -> None:
    text = "balance_transaction_id,currency,gross,reporting_category,source_id\ntxn_1,usd,1.00,charge,ch_1\n"
    with pytest.raises(ReportFormatError, match="payment_intent_id or charge_id"):
        parse("stripe", text)


def test_stripe_missing_required_columns_are_named() -> None:
    with pytest.raises(ReportFormatError, match="gross"):
        parse("stripe", "balance_transaction_id,currency,reporting_category,charge_id\n")


def test_stripe_amount_finer_than_the_currency_is_refused_not_rounded() -> None:
    text = "balance_transaction_id,currency,gross,reporting_category,charge_id\ntxn_1,usd,1.001,charge,ch_1\n"
    with pytest.raises(ReportFormatError, match="Row 2: the amount is not exact"):
        parse("stripe", text)


def test_paypal_rows_become_payment_movements() -> None:
    rows = parse("paypal", PAYPAL)
    assert [(r.payment_id, r.kind, r.amount, r.currency, r.status) for r in rows] == [
        ("5O190127TN364715T", "payment", 123456, "USD", "succeeded"),
        ("5O190127TN364715T", "refund", 3456, "USD", None),
        ("8PT597110X687430LKGECYHFA", "payment", 1000, "JPY", "authorized"),
        ("5O190127TN364715T", "dispute", 123456, "USD", None),
    ]
    # 02:00 PST is 10:00 UTC.
    assert rows[0].occurred_at == datetime(2026, 1, 5, 10, tzinfo=UTC)


def test_paypal_missing_reference_column_is_refused() -> None:
    text = '"Date","Type","Status","Currency","Gross","Transaction ID"\n'
    with pytest.raises(ReportFormatError, match="referencetxnid"):
        parse("paypal", text)


def test_paypal_unknown_time_zone_is_refused() -> None:
    text = PAYPAL.replace('"PST"', '"XYZ"', 1)
    with pytest.raises(ReportFormatError, match="time zone"):
        parse("paypal", text)


def test_generic_report_with_a_mapping() -> None:
    text = "Order,Total,Cur,State,Back,When\nA-1,10.99,eur,Paid,1.00,2026-01-05T10:00:00Z\nA-2,5,JPY,failed,,\n"
    mapping = parse_mapping(
        [
            "payment_id=Order,amount=Total",
            "currency=Cur",
            "status=State",
            "amount_refunded=Back",
            "occurred_at=When",
        ]
    )
    rows = parse("generic", text, mapping)
    assert rows == [
        ReportRow(
            "A-1",
            "payment",
            1099,
            "EUR",
            "succeeded",
            datetime(2026, 1, 5, 10, tzinfo=UTC),
            "",
            100,
        ),
        ReportRow("A-2", "payment", 5, "JPY", "failed", None, "", None),
    ]


def test_generic_minor_units_need_no_currency() -> None:
    rows = parse("generic", "id,cents\np1,1099\n", {"payment_id": "id", "amount": "cents"}, True)
    assert rows == [ReportRow("p1", "payment", 1099, None, None)]


def test_generic_major_units_without_currency_are_refused() -> None:
    with pytest.raises(ReportFormatError, match="currency"):
        parse("generic", "id,total\np1,10.99\n", {"payment_id": "id", "amount": "total"})


def test_generic_needs_a_mapping() -> None:
    with pytest.raises(ReportFormatError, match="mapping"):
        parse("generic", "id\np1\n")


def test_mapping_names_unknown_fields_and_requires_payment_id() -> None:
    with pytest.raises(ReportFormatError, match="Unknown mapping field"):
        parse_mapping(["colour=Red"])
    with pytest.raises(ReportFormatError, match="payment_id"):
        parse_mapping(["amount=Total"])
    with pytest.raises(ReportFormatError, match="field=Column"):
        parse_mapping(["payment_id"])


def test_a_mapped_column_missing_from_the_file_is_named() -> None:
    with pytest.raises(ReportFormatError, match="Order"):
        parse("generic", "id\np1\n", {"payment_id": "Order"})


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ReportFormatError, match="Unknown report format"):
        parse("square", "")
