"""Square: the SDK's vectors, each failure mode, every mapping row of the contract."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.errors import (
    AmountNotExact,
    PayloadInvalid,
    SignatureInvalid,
    SignatureMissing,
)
from schemas.providers import square
from tests.support.samples import (
    META,
    endpoint,
    headers_for,
    one,
    only_pipeline_errors,
    shaped,
    square_dispute,
    square_event,
    square_payment,
    square_refund,
)

# square-python-sdk tests/integration/test_webhooks_helper.py
KEY = "Ibxx_5AKakO-3qeNVR61Dw"
URL = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"
BODY = (
    b'{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification",'
    b'"event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z",'
    b'"data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}'
)
SIGNATURE = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="

ENDPOINT = endpoint("square", KEY, notification_url=URL)
HEADER = "x-square-hmacsha256-signature"


def test_official_vector_signs_and_verifies() -> None:
    assert square.sign(BODY, KEY, URL) == SIGNATURE
    square.verify(BODY, {HEADER: SIGNATURE}, ENDPOINT, now=0)


def test_second_sdk_vector() -> None:
    body = b'{"data":{"type":"webhooks","id":">id<"}}'
    expected = "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U="
    assert square.sign(body, "signature-key", "https://webhook.site/webhooks") == expected


def test_missing_header_is_signature_missing() -> None:
    with pytest.raises(SignatureMissing):
        square.verify(BODY, {}, ENDPOINT, now=0)


@pytest.mark.parametrize("value", ["not base64!", "c2hvcnQ=", SIGNATURE[:-4]])
def test_malformed_header_is_signature_missing(value: str) -> None:
    with pytest.raises(SignatureMissing):
        square.verify(BODY, {HEADER: value}, ENDPOINT, now=0)


def test_wrong_key_is_signature_invalid() -> None:
    with pytest.raises(SignatureInvalid):
        square.verify(
            BODY, {HEADER: SIGNATURE}, endpoint("square", "other", notification_url=URL), 0
        )


def test_second_key_of_a_rotation_passes() -> None:
    rotating = endpoint("square", "new-key", KEY, notification_url=URL)
    square.verify(BODY, {HEADER: SIGNATURE}, rotating, now=0)


def test_other_notification_url_is_signature_invalid() -> None:
    elsewhere = endpoint("square", KEY, notification_url=URL + "/")
    with pytest.raises(SignatureInvalid):
        square.verify(BODY, {HEADER: SIGNATURE}, elsewhere, now=0)


def test_endpoint_without_notification_url_is_signature_invalid() -> None:
    with pytest.raises(SignatureInvalid):
        square.verify(BODY, {HEADER: SIGNATURE}, endpoint("square", KEY), now=0)


def test_tampered_body_is_signature_invalid() -> None:
    with pytest.raises(SignatureInvalid):
        square.verify(BODY.replace(b"MLEF", b"MLEG"), {HEADER: SIGNATURE}, ENDPOINT, now=0)


def test_no_timestamp_is_signed_so_any_time_passes() -> None:
    # Documented: Square signs no time; dedupe on event_id is the replay protection.
    square.verify(BODY, {HEADER: SIGNATURE}, ENDPOINT, now=4_000_000_000)


def test_event_id_is_the_body_event_id() -> None:
    assert square.event_id(BODY, {}) == "ac3ac95b-f97d-458c-a6e6-18981597e05f"
    assert square.event_id(b"[]", {}) is None


def test_test_notification_is_other() -> None:
    event = one(square.normalize(BODY, META))
    assert (event.type, event.payment_id, event.account) == ("other", None, "MLEFBHHSJGVHD")
    assert event.occurred_at == "2022-07-13T20:30:59.037339Z"


@pytest.mark.parametrize("event_type", ["payment.created", "payment.updated"])
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("APPROVED", "payment.authorized"),
        ("COMPLETED", "payment.succeeded"),
        ("FAILED", "payment.failed"),
        ("CANCELED", "payment.canceled"),
        ("PENDING", "payment.created"),
    ],
)
def test_payment_events_by_status(event_type: str, status: str, expected: str) -> None:
    body = square_event(event_type, "payment", square_payment(status))
    event = one(square.normalize(body, META))
    assert (event.type, event.payment_id) == (expected, "KkAkhdMsgzn59SM8A89WgKwekxLZY")
    assert (event.amount, event.currency, event.amount_refunded) == (1099, "USD", 100)
    assert event.status == status.lower()
    assert event.provider_event_id == "13b867cf-db3d-4b1c-90b6-2f32a9d78124"


@pytest.mark.parametrize("event_type", ["refund.created", "refund.updated"])
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("PENDING", "refund.created"),
        ("COMPLETED", "refund.succeeded"),
        ("FAILED", "refund.failed"),
        ("REJECTED", "refund.failed"),
    ],
)
def test_refund_events_by_status(event_type: str, status: str, expected: str) -> None:
    event = one(square.normalize(square_event(event_type, "refund", square_refund(status)), META))
    assert (event.type, event.payment_id) == (expected, "KkAkhdMsgzn59SM8A89WgKwekxLZY")
    assert (event.amount, event.amount_refunded) == (100, None)


def test_dispute_created_is_opened() -> None:
    body = square_event("dispute.created", "dispute", square_dispute("EVIDENCE_REQUIRED"))
    event = one(square.normalize(body, META))
    assert (event.type, event.payment_id, event.amount) == (
        "dispute.opened",
        "KkAkhdMsgzn59SM8A89WgKwekxLZY",
        1099,
    )


@pytest.mark.parametrize(
    ("state", "expected"),
    [("WON", "dispute.won"), ("LOST", "dispute.lost"), ("PROCESSING", "dispute.updated")],
)
def test_dispute_state_changes(state: str, expected: str) -> None:
    body = square_event("dispute.state.changed", "dispute", square_dispute(state))
    assert one(square.normalize(body, META)).type == expected


def test_jpy_amounts_are_already_minor_units() -> None:
    body = square_event("payment.updated", "payment", square_payment("COMPLETED", 500, "JPY"))
    assert one(square.normalize(body, META)).amount == 500


def test_amount_that_is_not_an_integer_is_not_exact() -> None:
    payment = square_payment("COMPLETED")
    payment["amount_money"] = {"amount": "10.99", "currency": "USD"}
    with pytest.raises(AmountNotExact):
        square.normalize(square_event("payment.updated", "payment", payment), META)


def test_event_without_created_at_is_payload_invalid() -> None:
    with pytest.raises(PayloadInvalid):
        square.normalize(b'{"event_id":"e","type":"payment.created","data":{}}', META)


TEMPLATE = {
    "merchant_id": "M",
    "type": "payment.updated",
    "event_id": "e",
    "created_at": "2024-05-01T11:59:58Z",
    "data": {"type": "payment", "id": "p", "object": {"payment": square_payment("COMPLETED")}},
}


def wrapped(event_type: str, family: str) -> st.SearchStrategy[bytes]:
    """Events around a fuzzed resource of `family`, keeping the envelope valid."""
    resource = square_payment("COMPLETED") if family == "payment" else square_refund("COMPLETED")
    if family == "dispute":
        resource = square_dispute("WON")
    return shaped(resource).map(
        lambda b: square_event(event_type, family, {"id": "x", **json.loads(b)})
    )


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=200)
    | shaped(TEMPLATE)
    | wrapped("payment.updated", "payment")
    | wrapped("refund.updated", "refund")
    | wrapped("dispute.state.changed", "dispute"),
    given_headers=headers_for(square.signature_headers),
)
def test_arbitrary_input_raises_only_pipeline_errors(
    body: bytes, given_headers: dict[str, str]
) -> None:
    only_pipeline_errors(
        lambda: square.verify(body, given_headers, ENDPOINT, now=0),
        lambda: square.normalize(body, META),
        lambda: square.event_id(body, given_headers),
    )
