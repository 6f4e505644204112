"""Backfill's pure parts, and the guarantee that no HTTP request can mark itself backfilled."""

from __future__ import annotations

from ingress.backfill import RateLimit, backfill_headers, page_params
from ingress.backfill_cli import epoch
from ingress.webhooks import raw_headers
from schemas import headers as h
from schemas.config import Endpoint, Secret

STRIPE = Endpoint(name="stripe", provider="stripe", secrets=(Secret("whsec_x"),))


def test_ingress_raw_headers_never_carry_the_backfilled_mark() -> None:
    """Even a request that sends the header itself: ingress copies only signature headers."""
    sent = {"stripe-signature": "t=1,v1=ab", h.BACKFILLED: "true", "paypipe-backfilled": "true"}
    names = [name for name, _ in raw_headers(STRIPE, "r1", "2026-01-01T00:00:00Z", "evt_1", sent)]
    assert h.BACKFILLED not in names
    assert h.http_header("stripe-signature") in names


def test_backfilled_headers_are_ingress_headers_plus_the_mark() -> None:
    from datetime import UTC, datetime

    found = h.to_dict(backfill_headers(STRIPE, "evt_1", datetime(2026, 1, 1, tzinfo=UTC)))
    assert found[h.BACKFILLED] == "true"
    assert found[h.ENDPOINT] == "stripe"
    assert found[h.PROVIDER] == "stripe"
    assert found[h.EVENT_ID] == "evt_1"
    assert found[h.RECEIVED_AT] == "2026-01-01T00:00:00.000000Z"
    assert found[h.REQUEST_ID].startswith("backfill-")
    assert not h.provider_headers(found)  # no signature: verification is skipped by the mark


def test_page_params_follow_stripe_list_pagination() -> None:
    assert page_params(100, 50, None) == {"created[gte]": "100", "limit": "50"}
    assert page_params(100, 50, "evt_9")["starting_after"] == "evt_9"


def test_rate_limit_spaces_calls() -> None:
    now = [10.0]
    limit = RateLimit(4, clock=lambda: now[0])
    assert [limit.delay() for _ in range(3)] == [0.0, 0.25, 0.5]
    now[0] = 20.0  # after a quiet spell the next call goes at once
    assert limit.delay() == 0.0


def test_since_accepts_epoch_rfc3339_and_ages() -> None:
    assert epoch("1767225600") == 1767225600
    assert epoch("2026-01-01T00:00:00Z") == 1767225600
    assert epoch("2h", now=10_000) == 10_000 - 7200
    assert epoch("3d", now=1_000_000) == 1_000_000 - 3 * 86400
