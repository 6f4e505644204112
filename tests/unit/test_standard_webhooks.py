"""Standard Webhooks: the spec's vector, each failure mode, normalization to `other`."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.errors import PayloadInvalid, SignatureInvalid, SignatureMissing
from schemas.providers import standard_webhooks as sw
from tests.support.samples import (
    META,
    dumps,
    endpoint,
    headers_for,
    json_values,
    one,
    only_pipeline_errors,
)

# standard-webhooks tests/test_webhooks.py::test_sign_function
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
NEAR_MISS = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="

ENDPOINT = endpoint("standard-webhooks", SECRET)


def headers(
    signature: str = SIGNATURE, msg_id: str = MSG_ID, ts: object = TIMESTAMP
) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


def test_official_vector_signs_and_verifies() -> None:
    assert sw.sign(BODY, SECRET, MSG_ID, TIMESTAMP) == SIGNATURE
    sw.verify(BODY, headers(), ENDPOINT, now=TIMESTAMP)


def test_near_miss_of_the_vector_is_signature_invalid() -> None:
    with pytest.raises(SignatureInvalid):
        sw.verify(BODY, headers(NEAR_MISS), ENDPOINT, now=TIMESTAMP)


def test_secret_without_padding_or_prefix_is_the_same_key() -> None:
    unpadded = endpoint("standard-webhooks", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    sw.verify(BODY, headers(), unpadded, now=TIMESTAMP)


def test_any_of_several_space_separated_signatures_may_match() -> None:
    sw.verify(BODY, headers(f"v1a,ZWQyNTUxOQ== {NEAR_MISS} {SIGNATURE}"), ENDPOINT, TIMESTAMP)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_each_missing_header_is_signature_missing(missing: str) -> None:
    given_headers = headers()
    del given_headers[missing]
    with pytest.raises(SignatureMissing):
        sw.verify(BODY, given_headers, ENDPOINT, now=TIMESTAMP)


def test_non_integer_timestamp_is_signature_missing() -> None:
    with pytest.raises(SignatureMissing):
        sw.verify(BODY, headers(ts="2021-02-25T15:02:10Z"), ENDPOINT, now=TIMESTAMP)


def test_signature_without_v1_entry_is_signature_missing() -> None:
    with pytest.raises(SignatureMissing):
        sw.verify(BODY, headers("v2,abc v1a,def"), ENDPOINT, now=TIMESTAMP)


def test_wrong_secret_is_signature_invalid() -> None:
    other = endpoint("standard-webhooks", "whsec_ZGV2LXN0YW5kYXJkLXdlYmhvb2tzLXNlY3JldA==")
    with pytest.raises(SignatureInvalid):
        sw.verify(BODY, headers(), other, now=TIMESTAMP)


def test_second_secret_of_a_rotation_passes() -> None:
    rotating = endpoint(
        "standard-webhooks", "whsec_ZGV2LXN0YW5kYXJkLXdlYmhvb2tzLXNlY3JldA==", SECRET
    )
    sw.verify(BODY, headers(), rotating, now=TIMESTAMP)


def test_secret_that_is_not_base64_is_skipped_not_fatal() -> None:
    rotating = endpoint("standard-webhooks", "whsec_not*base64!", SECRET)
    sw.verify(BODY, headers(), rotating, now=TIMESTAMP)


def test_too_old_is_signature_invalid() -> None:
    with pytest.raises(SignatureInvalid, match="older"):
        sw.verify(BODY, headers(), ENDPOINT, now=TIMESTAMP + 301)


def test_too_far_in_the_future_is_signature_invalid() -> None:
    with pytest.raises(SignatureInvalid, match="future"):
        sw.verify(BODY, headers(), ENDPOINT, now=TIMESTAMP - 301)


def test_tampered_body_is_signature_invalid() -> None:
    with pytest.raises(SignatureInvalid):
        sw.verify(BODY + b" ", headers(), ENDPOINT, now=TIMESTAMP)


def test_other_message_id_is_signature_invalid() -> None:
    with pytest.raises(SignatureInvalid):
        sw.verify(BODY, headers(msg_id="msg_other"), ENDPOINT, now=TIMESTAMP)


def test_event_id_is_the_webhook_id_header() -> None:
    assert sw.event_id(BODY, headers()) == MSG_ID
    assert sw.event_id(BODY, {}) is None


PAYLOAD = {
    "type": "invoice.paid",
    "timestamp": "2024-05-01T11:59:58.5+02:00",
    "data": {"invoice_id": "in_123", "amount": 1099},
}


def test_normalize_is_other_with_the_payload_type_and_time() -> None:
    event = one(sw.normalize(dumps(PAYLOAD), META, headers=headers()))
    assert (event.type, event.provider_event_type, event.payment_id) == (
        "other",
        "invoice.paid",
        None,
    )
    assert (event.provider_event_id, event.provider) == (MSG_ID, "standard-webhooks")
    assert event.occurred_at == "2024-05-01T09:59:58.500000Z"
    assert event.amount is None and event.currency is None


def test_normalize_falls_back_to_the_webhook_timestamp() -> None:
    body = dumps({"type": "invoice.paid", "timestamp": "yesterday", "data": {}})
    assert (
        one(sw.normalize(body, META, headers=headers())).occurred_at
        == "2021-02-25T15:02:10.000000Z"
    )


def test_normalize_without_headers_keys_by_body_hash_and_receipt_time() -> None:
    body = dumps({"type": "invoice.paid", "data": {}})
    event = one(sw.normalize(body, META))
    assert event.provider_event_id.startswith("sha256:")
    assert one(sw.normalize(body, META)).provider_event_id == event.provider_event_id
    assert event.occurred_at == META.received_at


@pytest.mark.parametrize("body", [b"[]", b"{}", b'{"type": 5}', b"not json"])
def test_payload_without_type_is_payload_invalid(body: bytes) -> None:
    with pytest.raises(PayloadInvalid):
        sw.normalize(body, META)


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=200) | json_values.map(dumps),
    given_headers=headers_for(sw.signature_headers),
)
def test_arbitrary_input_raises_only_pipeline_errors(
    body: bytes, given_headers: dict[str, str]
) -> None:
    only_pipeline_errors(
        lambda: sw.verify(body, given_headers, ENDPOINT, now=TIMESTAMP),
        lambda: sw.normalize(body, META, headers=given_headers),
        lambda: sw.event_id(body, given_headers),
    )
