"""Stripe: the official vectors, each failure mode of the signature, every mapping row."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.errors import AmountNotExact, PipelineError, SignatureInvalid, SignatureMissing
from schemas.providers import stripe
from tests.support.samples import (
    META,
    charge,
    dispute,
    endpoint,
    header_text,
    headers_for,
    one,
    only_pipeline_errors,
    payment_intent,
    refund,
    stripe_event,
)

SECRET = "whsec_test_secret"
# stripe-python's DUMMY_WEBHOOK_PAYLOAD: two-space indent, \n newlines, no trailing newline.
VECTOR_BODY = (
    b'{\n  "id": "evt_test_webhook",\n  "object": "event",\n'
    b'  "data": { "object": { "id": "rdr_123", "object": "terminal.reader" } }\n}'
)
VECTOR_T = 1492774577
VECTOR_V1 = "d21d91b425674689e03346536b8fec6384a8721d43ebe269a1689a3ad22cba9c"
SHORT_BODY = b'{"id":"evt_123","object":"event"}'
SHORT_T = 1700000000
SHORT_V1 = "dd87ab365008cd15388d35ae8467b42bbc97bb9efe68060ed81e123be0e21c6e"

ENDPOINT = endpoint("stripe", SECRET)


def headers(value: str) -> dict[str, str]:
    return {"stripe-signature": value}


# --- official vectors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "timestamp", "v1"),
    [(VECTOR_BODY, VECTOR_T, VECTOR_V1), (SHORT_BODY, SHORT_T, SHORT_V1)],
)
def test_official_vectors_sign_and_verify(body: bytes, timestamp: int, v1: str) -> None:
    assert stripe.sign(body, SECRET, timestamp) == f"t={timestamp},v1={v1}"
    stripe.verify(body, headers(f"t={timestamp},v1={v1}"), ENDPOINT, now=timestamp)


def test_rotation_header_with_several_v1_and_v0_verifies() -> None:
    value = f"t={VECTOR_T},v1={'0' * 64},v1={VECTOR_V1},v0=6ffbb59b2300aae63f272406069a9788"
    stripe.verify(VECTOR_BODY, headers(value), ENDPOINT, now=VECTOR_T)


# --- failure modes -----------------------------------------------------------------------------


def test_missing_header_is_signature_missing() -> None:
    with pytest.raises(SignatureMissing):
        stripe.verify(SHORT_BODY, {}, ENDPOINT, now=SHORT_T)


def test_header_without_timestamp_is_signature_missing() -> None:
    with pytest.raises(SignatureMissing):
        stripe.verify(SHORT_BODY, headers(f"v1={SHORT_V1}"), ENDPOINT, now=SHORT_T)


def test_non_integer_timestamp_is_signature_missing() -> None:
    with pytest.raises(SignatureMissing):
        stripe.verify(SHORT_BODY, headers(f"t=soon,v1={SHORT_V1}"), ENDPOINT, now=SHORT_T)


def test_only_v0_signature_is_signature_missing() -> None:
    with pytest.raises(SignatureMissing):
        stripe.verify(SHORT_BODY, headers(f"t={SHORT_T},v0={SHORT_V1}"), ENDPOINT, now=SHORT_T)


def test_malformed_header_is_signature_missing() -> None:
    with pytest.raises(SignatureMissing):
        stripe.verify(SHORT_BODY, headers("bad_header"), ENDPOINT, now=SHORT_T)


def test_wrong_secret_is_signature_invalid() -> None:
    with pytest.raises(SignatureInvalid):
        stripe.verify(
            SHORT_BODY,
            headers(f"t={SHORT_T},v1={SHORT_V1}"),
            endpoint("stripe", "whsec_other"),
            now=SHORT_T,
        )


def test_second_secret_of_a_rotation_passes() -> None:
    rotating = endpoint("stripe", "whsec_new_one", SECRET)
    stripe.verify(SHORT_BODY, headers(f"t={SHORT_T},v1={SHORT_V1}"), rotating, now=SHORT_T)


def test_too_old_is_signature_invalid() -> None:
    with pytest.raises(SignatureInvalid):
        stripe.verify(SHORT_BODY, headers(f"t={SHORT_T},v1={SHORT_V1}"), ENDPOINT, SHORT_T + 301)


def test_too_far_in_the_future_is_signature_invalid() -> None:
    with pytest.raises(SignatureInvalid):
        stripe.verify(SHORT_BODY, headers(f"t={SHORT_T},v1={SHORT_V1}"), ENDPOINT, SHORT_T - 301)


def test_edge_of_the_tolerance_passes() -> None:
    stripe.verify(SHORT_BODY, headers(f"t={SHORT_T},v1={SHORT_V1}"), ENDPOINT, SHORT_T + 300)


def test_tampered_body_is_signature_invalid() -> None:
    with pytest.raises(SignatureInvalid):
        stripe.verify(SHORT_BODY + b" ", headers(f"t={SHORT_T},v1={SHORT_V1}"), ENDPOINT, SHORT_T)


def test_spaces_in_the_header_are_accepted() -> None:
    # Stripe's SDK refuses "t=…, v1=…"; paypipe is deliberately lenient about whitespace.
    stripe.verify(SHORT_BODY, headers(f" t={SHORT_T} , v1={SHORT_V1} "), ENDPOINT, SHORT_T)


def test_event_id_is_the_body_id() -> None:
    assert stripe.event_id(SHORT_BODY, {}) == "evt_123"
    assert stripe.event_id(b"not json", {}) is None


# --- mapping: every Stripe row of the contract ------------------------------------------------

PI = "pi_3PgcJX2eZvKYlo2C1a2b3c4d"


@pytest.mark.parametrize(
    ("event_type", "status", "expected"),
    [
        ("payment_intent.created", "requires_payment_method", "payment.created"),
        ("payment_intent.amount_capturable_updated", "requires_capture", "payment.authorized"),
        ("payment_intent.succeeded", "succeeded", "payment.succeeded"),
        ("payment_intent.payment_failed", "requires_payment_method", "payment.failed"),
        ("payment_intent.canceled", "canceled", "payment.canceled"),
    ],
)
def test_payment_intent_events(event_type: str, status: str, expected: str) -> None:
    event = one(stripe.normalize(stripe_event(event_type, payment_intent(status)), META))
    assert (event.type, event.payment_id, event.status) == (expected, PI, status)
    assert (event.amount, event.currency, event.provider_event_type) == (2000, "USD", event_type)
    assert event.occurred_at == "2024-05-01T12:00:00.000000Z"
    assert event.livemode is False


def test_charge_refunded_carries_cumulative_amount_refunded() -> None:
    body = stripe_event("charge.refunded", charge(amount_refunded=1500, refunded=False))
    event = one(stripe.normalize(body, META))
    assert (event.type, event.payment_id) == ("refund.succeeded", PI)
    assert (event.amount, event.amount_refunded) == (2000, 1500)


def test_refund_created() -> None:
    event = one(stripe.normalize(stripe_event("refund.created", refund()), META))
    assert (event.type, event.payment_id, event.amount) == ("refund.created", PI, 500)
    assert event.amount_refunded is None


def test_dispute_created_and_updated() -> None:
    opened = one(
        stripe.normalize(stripe_event("charge.dispute.created", dispute("needs_response")), META)
    )
    updated = one(
        stripe.normalize(stripe_event("charge.dispute.updated", dispute("under_review")), META)
    )
    assert (opened.type, opened.payment_id) == ("dispute.opened", PI)
    assert (updated.type, updated.payment_id) == ("dispute.updated", PI)


@pytest.mark.parametrize(
    ("status", "expected"),
    [("won", "dispute.won"), ("warning_closed", "dispute.won"), ("lost", "dispute.lost")],
)
def test_dispute_closed_by_status(status: str, expected: str) -> None:
    event = one(stripe.normalize(stripe_event("charge.dispute.closed", dispute(status)), META))
    assert (event.type, event.status, event.payment_id) == (expected, status, PI)


def test_charge_without_payment_intent_uses_the_charge_id() -> None:
    body = stripe_event("charge.refunded", charge(intent=None, amount_refunded=2000))
    assert one(stripe.normalize(body, META)).payment_id == "ch_3PgcJX2eZvKYlo2C1xyz"


def test_connected_account_is_kept() -> None:
    body = stripe_event("payment_intent.succeeded", payment_intent("succeeded"), account="acct_1")
    assert one(stripe.normalize(body, META)).account == "acct_1"


def test_unknown_type_is_other() -> None:
    assert (
        one(stripe.normalize(stripe_event("customer.created", {"id": "cus_1"}), META)).type
        == "other"
    )


@pytest.mark.parametrize(
    ("currency", "amount", "minor"),
    [("jpy", 500, 500), ("mga", 500, 50000), ("isk", 500, 5), ("kwd", 5120, 5120)],
)
def test_amounts_follow_iso_not_stripe(currency: str, amount: int, minor: int) -> None:
    body = stripe_event("payment_intent.succeeded", payment_intent("succeeded", amount, currency))
    event = one(stripe.normalize(body, META))
    assert (event.amount, event.currency) == (minor, currency.upper())


def test_isk_amount_not_divisible_by_100_is_not_exact() -> None:
    body = stripe_event("payment_intent.succeeded", payment_intent("succeeded", 550, "isk"))
    with pytest.raises(AmountNotExact):
        stripe.normalize(body, META)


# --- robustness --------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=300), given_headers=headers_for(stripe.signature_headers))
def test_arbitrary_input_raises_only_pipeline_errors(
    body: bytes, given_headers: dict[str, str]
) -> None:
    only_pipeline_errors(
        lambda: stripe.verify(body, given_headers, ENDPOINT, now=SHORT_T),
        lambda: stripe.normalize(body, META),
        lambda: stripe.event_id(body, given_headers),
    )


@settings(max_examples=200, deadline=None)
@given(value=header_text)
def test_arbitrary_signature_header_raises_only_pipeline_errors(value: str) -> None:
    with pytest.raises(PipelineError):
        stripe.verify(SHORT_BODY, headers(value), ENDPOINT, now=SHORT_T)


def test_data_that_is_not_an_object_is_payload_invalid() -> None:
    with pytest.raises(PipelineError):
        stripe.normalize(b'{"id":"evt_1","type":"x","created":1,"data":[1]}', META)


def test_created_out_of_range_is_payload_invalid() -> None:
    body = b'{"id":"evt_1","type":"x","created":10000000000000000,"data":{"object":{}}}'
    with pytest.raises(PipelineError):
        stripe.normalize(body, META)
