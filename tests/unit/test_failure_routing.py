"""Where a failed record goes next, and what it carries."""

from __future__ import annotations

from processors.dead_letter import dead_letter, reject, retry_later
from processors.records import RawRecord
from schemas import headers as h
from schemas.errors import CertFetchFailed, PayloadInvalid, SignatureInvalid
from schemas.topics import Topics

TOPICS = Topics("payments")
DELAYS = (5, 30, 120)


def record(**headers: str) -> RawRecord:
    return RawRecord(
        b"stripe:evt_1",
        b'{"id":"evt_1"}',
        {h.ENDPOINT: "stripe", h.REQUEST_ID: "r1", **headers},
        "payments.raw",
        2,
        41,
    )


def test_transient_failures_climb_the_tiers_then_reach_the_dlq() -> None:
    r = record()
    seen = []
    for _ in range(len(DELAYS) + 1):
        route = retry_later(
            r,
            CertFetchFailed("The certificate could not be fetched."),
            "verify",
            TOPICS,
            DELAYS,
            now=1000.0,
        )
        seen.append(route.topic)
        r = RawRecord(r.key, r.value, h.to_dict(route.headers), route.topic, 0, 0)
    assert seen == [
        "payments.retry.5s",
        "payments.retry.30s",
        "payments.retry.120s",
        "payments.dlq",
    ]
    final = h.to_dict(route.headers)
    assert final[h.ATTEMPTS] == "4"
    assert final[h.SOURCE] == "payments.raw[2]@41"  # the origin survives every hop
    assert h.NOT_BEFORE not in final


def test_retry_waits_the_tier_delay_with_bounded_jitter() -> None:
    route = retry_later(
        record(), CertFetchFailed("x"), "verify", TOPICS, DELAYS, now=1000.0, jitter=0.99
    )
    due = float(h.to_dict(route.headers)[h.NOT_BEFORE])
    assert 1005.0 <= due <= 1006.0


def test_dead_letter_carries_the_contract_context() -> None:
    route = dead_letter(
        record(), PayloadInvalid("The body is not valid JSON."), "verify", TOPICS, now=0.0
    )
    ctx = h.to_dict(route.headers)
    assert route.topic == "payments.dlq"
    assert ctx[h.ERROR_CLASS] == "PayloadInvalid"
    assert ctx[h.ERROR_MESSAGE] == "The body is not valid JSON."
    assert ctx[h.STAGE] == "verify" and ctx[h.ATTEMPTS] == "1"
    assert ctx[h.FIRST_FAILURE_AT] == ctx[h.LAST_FAILURE_AT] == "1970-01-01T00:00:00.000000Z"
    assert ctx[h.REQUEST_ID] == "r1"  # the original headers travel along


def test_first_failure_time_is_kept_across_attempts() -> None:
    first = record(**{h.FIRST_FAILURE_AT: "2026-01-01T00:00:00.000000Z", h.ATTEMPTS: "2"})
    ctx = h.to_dict(dead_letter(first, PayloadInvalid("x"), "verify", TOPICS, now=0.0).headers)
    assert ctx[h.FIRST_FAILURE_AT] == "2026-01-01T00:00:00.000000Z"
    assert ctx[h.ATTEMPTS] == "3"


def test_rejected_records_carry_their_reason() -> None:
    route = reject(
        record(), SignatureInvalid("No Stripe signature matches an active secret."), TOPICS, 0.0
    )
    assert route.topic == "payments.rejected"
    assert h.to_dict(route.headers)[h.REASON] == "No Stripe signature matches an active secret."


def test_unexpected_errors_do_not_leak_their_text() -> None:
    leaky = ValueError("whsec_secret and a card number 4242424242424242")
    ctx = h.to_dict(dead_letter(record(), leaky, "verify", TOPICS, 0.0).headers)
    assert "4242" not in ctx[h.ERROR_MESSAGE] and "whsec" not in ctx[h.ERROR_MESSAGE]
