"""Adyen: the library's vectors, every item of a batch verified, every mapping row."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.errors import (
    AmountNotExact,
    PayloadInvalid,
    SignatureInvalid,
    SignatureMissing,
)
from schemas.providers import adyen
from tests.support.samples import (
    ADYEN_KEY,
    ADYEN_SLASH_KEY,
    META,
    VECTORS,
    adyen_body,
    adyen_item,
    check,
    dumps,
    endpoint,
    headers_for,
    one,
    only_pipeline_errors,
    shaped,
)

ENDPOINT = endpoint("adyen", ADYEN_KEY)
# Adyen python library test/UtilTest.py
VECTOR_ITEM = {
    "pspReference": "7914073381342284",
    "merchantReference": "TestPayment-1407325143704",
    "merchantAccountCode": "TestMerchant",
    "amount": {"currency": "EUR", "value": 1130},
    "eventCode": "AUTHORISATION",
    "success": "true",
}
VECTOR_SIGNATURE = "coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0="
SLASH_FILES = ["backslash", "colon", "forwardslash", "mixed"]


def vector_item(kind: str) -> dict[str, Any]:
    item: dict[str, Any] = json.loads((VECTORS / f"adyen_{kind}_notification.json").read_bytes())
    return item


def signed_vector_body() -> bytes:
    item = {**VECTOR_ITEM, "additionalData": {"hmacSignature": VECTOR_SIGNATURE}}
    return adyen_body(item, key=None)


def test_official_item_vector() -> None:
    assert adyen.signing_string(VECTOR_ITEM) == (
        "7914073381342284::TestMerchant:TestPayment-1407325143704:1130:EUR:AUTHORISATION:true"
    )
    assert adyen.sign_item(VECTOR_ITEM, ADYEN_KEY) == VECTOR_SIGNATURE
    adyen.verify(signed_vector_body(), {}, ENDPOINT, now=0)


@pytest.mark.parametrize("kind", SLASH_FILES)
def test_official_slash_and_colon_vectors_need_no_escaping(kind: str) -> None:
    item = vector_item(kind)
    assert adyen.sign_item(item, ADYEN_SLASH_KEY) == item["additionalData"]["hmacSignature"]
    adyen.verify(adyen_body(item, key=None), {}, endpoint("adyen", ADYEN_SLASH_KEY), now=0)


def test_all_four_slash_vectors_in_one_batch_verify() -> None:
    body = adyen_body(*(vector_item(k) for k in SLASH_FILES), key=None)
    adyen.verify(body, {}, endpoint("adyen", ADYEN_SLASH_KEY), now=0)
    events = check(adyen.normalize(body, META))
    assert [e.provider_event_id for e in events] == [
        f"{vector_item(k)['pspReference']}:AUTHORISATION" for k in SLASH_FILES
    ]
    assert events[0].occurred_at == "2023-01-09T15:27:29.000000Z"


def test_official_header_style_payload_vector() -> None:
    body = (VECTORS / "adyen_payload_merchant_created.txt").read_bytes()
    assert adyen.sign_payload(body, ADYEN_KEY) == "fX74xUdztFmaXAn3IusMFFUBUSkLmDQUK0tm8xL6ZTU="


def test_no_signature_headers_and_the_accepted_answer() -> None:
    assert adyen.signature_headers == ()
    assert adyen.ACCEPTED_RESPONSE == (200, "[accepted]")


# --- failure modes -----------------------------------------------------------------------------


def test_item_without_hmac_signature_is_signature_missing() -> None:
    with pytest.raises(SignatureMissing):
        adyen.verify(adyen_body(adyen_item("AUTHORISATION"), key=None), {}, ENDPOINT, now=0)


@pytest.mark.parametrize(
    "body", [b"not json", b"{}", b'{"notificationItems": []}', b'{"notificationItems": [1]}']
)
def test_body_that_is_not_a_notification_is_signature_missing(body: bytes) -> None:
    with pytest.raises(SignatureMissing):
        adyen.verify(body, {}, ENDPOINT, now=0)


def test_wrong_key_is_signature_invalid() -> None:
    with pytest.raises(SignatureInvalid):
        adyen.verify(signed_vector_body(), {}, endpoint("adyen", ADYEN_SLASH_KEY), now=0)


def test_second_key_of_a_rotation_passes() -> None:
    adyen.verify(signed_vector_body(), {}, endpoint("adyen", ADYEN_SLASH_KEY, ADYEN_KEY), now=0)


def test_key_that_is_not_hex_is_skipped_not_fatal() -> None:
    adyen.verify(signed_vector_body(), {}, endpoint("adyen", "not-hex", ADYEN_KEY), now=0)


def test_tampered_amount_is_signature_invalid() -> None:
    body = signed_vector_body().replace(b"1130", b"1131")
    with pytest.raises(SignatureInvalid):
        adyen.verify(body, {}, ENDPOINT, now=0)


def test_one_bad_item_rejects_the_whole_batch() -> None:
    good = adyen_item("AUTHORISATION", psp="1111")
    forged = {
        **adyen_item("REFUND", psp="2222", original="1111"),
        "additionalData": {"hmacSignature": VECTOR_SIGNATURE},
    }
    with pytest.raises(SignatureInvalid):
        adyen.verify(adyen_body(good, forged), {}, ENDPOINT, now=0)


def test_unsigned_item_after_a_signed_one_is_signature_missing() -> None:
    signed = json.loads(adyen_body(adyen_item("AUTHORISATION")))
    signed["notificationItems"].append(
        {"NotificationRequestItem": adyen_item("CAPTURE", original="x")}
    )
    with pytest.raises(SignatureMissing):
        adyen.verify(dumps(signed), {}, ENDPOINT, now=0)


def test_items_may_be_signed_with_different_active_keys() -> None:
    body = json.loads(adyen_body(adyen_item("AUTHORISATION", psp="1")))
    other = json.loads(
        adyen_body(adyen_item("CAPTURE", psp="2", original="1"), key=ADYEN_SLASH_KEY)
    )
    body["notificationItems"] += other["notificationItems"]
    adyen.verify(dumps(body), {}, endpoint("adyen", ADYEN_KEY, ADYEN_SLASH_KEY), now=0)


# --- event id and mapping ----------------------------------------------------------------------


def test_event_id_for_one_item_and_for_a_batch() -> None:
    assert adyen.event_id(signed_vector_body(), {}) == "7914073381342284:AUTHORISATION"
    batch = adyen_body(
        adyen_item("AUTHORISATION", psp="1"), adyen_item("CAPTURE", psp="2", original="1")
    )
    assert adyen.event_id(batch, {}) is None
    assert adyen.event_id(b"nonsense", {}) is None


@pytest.mark.parametrize(
    ("code", "success", "original", "expected"),
    [
        ("AUTHORISATION", "true", None, "payment.authorized"),
        ("AUTHORISATION", "false", None, "payment.failed"),
        ("CAPTURE", "true", "8816178952380553", "payment.succeeded"),
        ("CANCELLATION", "true", "8816178952380553", "payment.canceled"),
        ("REFUND", "true", "8816178952380553", "refund.succeeded"),
        ("REFUND", "false", "8816178952380553", "refund.failed"),
        ("NOTIFICATION_OF_CHARGEBACK", "true", "8816178952380553", "dispute.opened"),
        ("CHARGEBACK", "true", "8816178952380553", "dispute.lost"),
        ("CHARGEBACK_REVERSED", "true", "8816178952380553", "dispute.won"),
        ("REPORT_AVAILABLE", "true", None, "other"),
    ],
)
def test_mapping(code: str, success: str, original: str | None, expected: str) -> None:
    psp = "8816178952380553" if original is None else "9915555555555555"
    body = adyen_body(adyen_item(code, success, psp=psp, original=original), live="true")
    event = one(adyen.normalize(body, META))
    assert (event.type, event.provider_event_type) == (expected, code)
    assert (
        event.payment_id == "8816178952380553"
    )  # the payment: originalReference for modifications
    assert event.provider_event_id == f"{psp}:{code}"
    assert (event.amount, event.currency, event.account) == (1130, "EUR", "PaypipeTestECOM")
    assert event.occurred_at == "2024-05-01T11:59:58.000000Z"
    assert event.livemode is True


@pytest.mark.parametrize("code", ["CAPTURE", "CANCELLATION"])
def test_failed_modification_leaves_the_payment_alone(code: str) -> None:
    body = adyen_body(adyen_item(code, "false", psp="2", original="1"))
    assert one(adyen.normalize(body, META)).type == "other"


def test_each_item_of_a_batch_is_its_own_event() -> None:
    body = adyen_body(
        adyen_item("AUTHORISATION", psp="1"),
        adyen_item("CAPTURE", psp="2", original="1"),
        adyen_item("REFUND", psp="3", original="1", value=500),
    )
    events = check(adyen.normalize(body, META))
    assert [(e.type, e.payment_id, e.amount) for e in events] == [
        ("payment.authorized", "1", 1130),
        ("payment.succeeded", "1", 1130),
        ("refund.succeeded", "1", 500),
    ]
    assert all(e.livemode is False for e in events)


@pytest.mark.parametrize(("currency", "value"), [("JPY", 1000), ("KWD", 5125), ("EUR", 1)])
def test_amounts_are_iso_minor_units_as_sent(currency: str, value: int) -> None:
    event = one(
        adyen.normalize(
            adyen_body(adyen_item("AUTHORISATION", value=value, currency=currency)), META
        )
    )
    assert (event.amount, event.currency) == (value, currency)


def test_item_without_amount_has_no_amount() -> None:
    event = one(adyen.normalize(adyen_body(adyen_item("REPORT_AVAILABLE", value=None)), META))
    assert (event.amount, event.currency) == (None, None)


def test_float_amount_is_not_exact() -> None:
    item = adyen_item("AUTHORISATION")
    item["amount"]["value"] = 11.3
    with pytest.raises(AmountNotExact):
        adyen.normalize(adyen_body(item), META)


def test_item_without_event_date_is_payload_invalid() -> None:
    item = adyen_item("AUTHORISATION")
    del item["eventDate"]
    with pytest.raises(PayloadInvalid):
        adyen.normalize(adyen_body(item), META)


ITEM_TEMPLATE = adyen_item("REFUND", original="1")
ENVELOPE_TEMPLATE = json.loads(adyen_body(ITEM_TEMPLATE))


def signed_if_possible(item_json: bytes) -> bytes:
    """A one-item notification around a fuzzed item, signed when it has somewhere to sign."""
    item = json.loads(item_json)
    extra = item.get("additionalData")
    if isinstance(extra, dict):
        extra["hmacSignature"] = adyen.sign_item(item, ADYEN_KEY)
    return dumps({"live": "false", "notificationItems": [{"NotificationRequestItem": item}]})


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=200)
    | shaped(ITEM_TEMPLATE).map(signed_if_possible)
    | shaped(ENVELOPE_TEMPLATE),
    given_headers=headers_for(("content-type",)),
)
def test_arbitrary_input_raises_only_pipeline_errors(
    body: bytes, given_headers: dict[str, str]
) -> None:
    only_pipeline_errors(
        lambda: adyen.verify(body, given_headers, ENDPOINT, now=0),
        lambda: adyen.normalize(body, META),
        lambda: adyen.event_id(body, given_headers),
    )
