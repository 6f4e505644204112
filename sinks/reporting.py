"""`paypipe report`: totals from the reporting views, as a table, CSV or JSON.

The numbers come from the SQL views of migration 0002 (`report_hourly`, `report_daily`), so
what the command prints is what an analyst querying the views sees. Volumes are integer minor
units of the row's currency in CSV and JSON; the table shows them in major units, exactly.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from schemas.money import exponent
from schemas.normalized import rfc3339

COLUMNS = (
    "bucket",
    "provider",
    "currency",
    "payments_succeeded",
    "succeeded_volume",
    "refunds",
    "refunded_volume",
    "failures",
    "failure_rate",
    "disputes_opened",
    "disputes_won",
    "disputes_lost",
)
_MONEY = frozenset({"succeeded_volume", "refunded_volume"})
_VIEWS = {"hour": "report_hourly", "day": "report_daily"}
OUTPUTS = ("table", "csv", "json")


def query_report(
    conn: psycopg.Connection[Any],
    interval: str,
    start: datetime | None = None,
    stop: datetime | None = None,
    provider: str | None = None,
    currency: str | None = None,
) -> list[dict[str, Any]]:
    """Rows of the hourly or daily view, oldest first, filtered as asked."""
    view = _VIEWS[interval]
    query = sql.SQL("""
        SELECT {columns} FROM {view}
        WHERE (%(start)s::timestamptz IS NULL OR bucket >= %(start)s)
          AND (%(stop)s::timestamptz IS NULL OR bucket < %(stop)s)
          AND (%(provider)s::text IS NULL OR provider = %(provider)s)
          AND (%(currency)s::text IS NULL OR currency = %(currency)s)
        ORDER BY bucket, provider, currency NULLS LAST
    """).format(columns=sql.SQL(", ").join(map(sql.Identifier, COLUMNS)), view=sql.Identifier(view))
    params = {"start": start, "stop": stop, "provider": provider, "currency": currency}
    rows = conn.execute(query, params).fetchall()
    return [_row(dict(zip(COLUMNS, r, strict=True))) for r in rows]


def _row(row: dict[str, Any]) -> dict[str, Any]:
    row["bucket"] = rfc3339(row["bucket"])
    row["currency"] = row["currency"].strip() if row["currency"] else None
    rate = row["failure_rate"]
    row["failure_rate"] = str(rate) if rate is not None else None
    return row


def major(amount: int | None, currency: str | None) -> str:
    """Minor units shown in major units, exactly: 1099 USD → `10.99`, 500 JPY → `500`."""
    if amount is None:
        return ""
    places = exponent(currency) if currency else 2
    return f"{Decimal(amount).scaleb(-places):.{places}f}"


def render(rows: Sequence[dict[str, Any]], columns: Sequence[str], output: str) -> str:
    """Rows as `table` (money in major units), `csv` or `json` (money in minor units)."""
    if output == "json":
        return json.dumps([{c: r.get(c) for c in columns} for r in rows], indent=2) + "\n"
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([["" if r.get(c) is None else r.get(c) for c in columns] for r in rows])
        return buffer.getvalue()
    cells = [
        [major(r.get(c), r.get("currency")) if c in _MONEY else _text(r.get(c)) for c in columns]
        for r in rows
    ]
    return table(columns, cells)


def table(headers: Sequence[str], cells: Sequence[Sequence[str]]) -> str:
    """A plain text table: numbers to the right, words to the left."""
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    numeric = [all(_numeric(row[i]) for row in cells) and bool(cells) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if right else v.ljust(w)
            for v, w, right in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in cells)]) + "\n"


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _numeric(value: str) -> bool:
    return value == "" or value.lstrip("-").replace(".", "", 1).isdigit()
