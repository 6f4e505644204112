"""PayPal: the SDK vectors against the sandbox certificate, each failure mode of the header,
certificate and URL checks, the dev certificate, and every mapping row of the contract.

The sandbox certificate's DigiCert issuer chain is not available offline, so the tests that use
PayPal's own vectors trust the sandbox certificate itself as the root (pinning). The chain-walk
itself is tested with a generated root → intermediate → leaf hierarchy.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import zlib
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.config import Endpoint
from schemas.errors import (
    AmountNotExact,
    CertFetchFailed,
    PayloadInvalid,
    SignatureInvalid,
    SignatureMissing,
)
from schemas.normalized import parse_rfc3339
from schemas.providers import paypal
from schemas.providers.paypal_certs import CachedFetch, UrlPolicy
from tests.support.samples import (
    META,
    VECTORS,
    endpoint,
    header_text,
    headers_for,
    one,
    only_pipeline_errors,
    paypal_authorization,
    paypal_capture,
    paypal_dispute,
    paypal_event,
    paypal_refund,
    shaped,
)

SANDBOX_PEM = (VECTORS / "paypal_sandbox_cert_2015.pem").read_bytes()
SANDBOX_URL = (
    "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77"
)
V1 = {
    "body": (VECTORS / "paypal_v1_2015_body.json").read_bytes(),
    "crc": 2771810304,
    "webhook_id": "4JH86294D6297924G",
    "headers": {
        "paypal-transmission-id": "dfb3be50-fd74-11e4-8bf3-77339302725b",
        "paypal-transmission-time": "2015-05-18T15:45:13Z",
        "paypal-transmission-sig": "thy4/U002quzxFavHPwbfJGcc46E8rc5jzgyeafWm5mICTBdY/8rl7WJpn8JA0GKA+oDTPsSruqusw+XXg5RLAP7ip53Euh9Xu3UbUhQFX7UgwzE2FeYoY6lyRMiiiQLzy9BvHfIzNIVhPad4KnC339dr6y2l+mN8ALgI4GCdIh3/SoJO5wE64Bh/ueWtt8EVuvsvXfda2Le5a2TrOI9vLEzsm9GS79hAR/5oLexNz8UiZr045Mr5ObroH4w4oNfmkTaDk9Rj0G19uvISs5QzgmBpauKr7Nw++JI0pr/v5mFctQkoWJSGfBGzPRXawrvIIVHQ9Wer48GR2g9ZiApWg==",
        "paypal-cert-url": SANDBOX_URL,
        "paypal-auth-algo": "SHA256withRSA",
    },
}
V2 = {
    "body": (VECTORS / "paypal_v2_2016_body.json").read_bytes(),
    "crc": 4280182022,
    "webhook_id": "3TR748995U920805P",
    "headers": {
        "paypal-transmission-id": "103e3700-8b0c-11e6-8695-6b62a8a99ac4",
        "paypal-transmission-time": "2016-10-05T14:57:40Z",
        "paypal-transmission-sig": "t8hlRk64rpEImZMKqgtp5dlWaT1W8ed/mf8Msos341QInVn3BMQubjAhM/cKiSJtW07VwJvSX7X4+YUmHBrm5BQ+CEkClke4Yf4ouhCK6GWsfs0J8cKkmjI0XxfJpPLgjROEWY3MXorwCtbvrEo5vrRI2+TyLkquBKAlM95LbNWG43lxMu0LHzsSRUBDdt5IP1b2CKqbcEJKGrC78iw+fJEQGagkJAiv3Qvpw8F/8q7FCQAZ3c81mzTvP4ZH3Xk2/nNznEA7eMi3u1EjSpTmLfAb423ytX37Ts0QpmPNgxJe8wnMB/+fvt4xjYH6KNe+bIcYU30hUIe9O8c9UFwKuQ==",
        "paypal-cert-url": SANDBOX_URL,
        "paypal-auth-algo": "SHA256withRSA",
    },
}
NOW = 1_714_564_800.0  # 2024-05-01T12:00:00Z, for the generated certificates


class Fixed:
    """A CertificateSource that always answers the same PEM, and counts the calls."""

    def __init__(self, pem: bytes) -> None:
        self.pem, self.calls = pem, 0

    def get(self, url: str, endpoint: Endpoint) -> bytes:
        self.calls += 1
        return self.pem


def at(vector: dict[str, Any]) -> float:
    return parse_rfc3339(vector["headers"]["paypal-transmission-time"]).timestamp()


def sandbox_trust() -> paypal.Trust:
    """Trusts the sandbox certificate itself as a root: its DigiCert chain is not available."""
    return paypal.Trust(
        certificates=Fixed(SANDBOX_PEM), roots=tuple(x509.load_pem_x509_certificates(SANDBOX_PEM))
    )


def pp_endpoint(webhook_id: str | None = "WH-DEV-1", tolerance: int = 300) -> Endpoint:
    return endpoint("paypal", webhook_id=webhook_id, tolerance_seconds=tolerance)


# --- generated certificates --------------------------------------------------------------------


@cache
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_cert(
    subject: str,
    key: Any,
    issuer: tuple[x509.Certificate, Any] | None = None,
    ca: bool = False,
    org: str = "PayPal, Inc.",
    start: float = NOW - 86400,
    days: int = 30,
) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, subject),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        ]
    )
    issuer_name, issuer_key = (issuer[0].subject, issuer[1]) if issuer else (name, key)
    begin = dt.datetime.fromtimestamp(start, dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(begin)
        .not_valid_after(begin + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if ca:
        usage = x509.KeyUsage(
            digital_signature=False,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        )
        builder = builder.add_extension(usage, critical=True)
    else:
        san = x509.SubjectAlternativeName([x509.DNSName(subject.split(" ")[0])])
        builder = builder.add_extension(san, critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


@cache
def hierarchy() -> tuple[x509.Certificate, x509.Certificate, x509.Certificate]:
    """root CA → intermediate CA → PayPal-named leaf, the leaf keyed with rsa_key()."""
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    mid_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = make_cert("Test Root CA", root_key, ca=True, days=3650, org="Test CA")
    mid = make_cert(
        "Test Intermediate CA", mid_key, (root, root_key), ca=True, days=3650, org="Test CA"
    )
    leaf = make_cert("messageverificationcerts.paypal.com", rsa_key(), (mid, mid_key))
    return root, mid, leaf


def key_pem() -> bytes:
    return rsa_key().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def signed(
    body: bytes, *, when: float = NOW, webhook_id: str = "WH-DEV-1", url: str = SANDBOX_URL
) -> dict[str, str]:
    sent = dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "paypal-transmission-id": "8a9f5c10-07a6-11ef-9262-0242ac120002",
        "paypal-transmission-time": sent,
        "paypal-transmission-sig": paypal.sign(
            body,
            key_pem=key_pem(),
            webhook_id=webhook_id,
            transmission_id="8a9f5c10-07a6-11ef-9262-0242ac120002",
            transmission_time=sent,
        ),
        "paypal-cert-url": url,
        "paypal-auth-algo": "SHA256withRSA",
    }


def chain_trust(chain: bytes, *roots: x509.Certificate) -> paypal.Trust:
    return paypal.Trust(certificates=Fixed(chain), roots=roots)


BODY = paypal_event("PAYMENT.CAPTURE.COMPLETED", "capture", paypal_capture("COMPLETED"))


# --- official vectors --------------------------------------------------------------------------


@pytest.mark.parametrize("vector", [V1, V2], ids=["v1-2015", "v2-2016"])
def test_official_vector_crc_and_signed_message(vector: dict[str, Any]) -> None:
    assert zlib.crc32(vector["body"]) & 0xFFFFFFFF == vector["crc"]
    headers = vector["headers"]
    message = paypal.signed_message(
        headers["paypal-transmission-id"],
        headers["paypal-transmission-time"],
        vector["webhook_id"],
        vector["body"],
    )
    assert message.decode().endswith(f"|{vector['webhook_id']}|{vector['crc']}")


@pytest.mark.parametrize("vector", [V1, V2], ids=["v1-2015", "v2-2016"])
def test_official_vector_verifies_as_of_its_transmission_time(vector: dict[str, Any]) -> None:
    # Production rules (https cert URL shape, paypal.com name) but the sandbox cert pinned as root.
    paypal.verify(
        vector["body"],
        vector["headers"],
        pp_endpoint(vector["webhook_id"]),
        at(vector),
        trust=sandbox_trust(),
    )


def test_official_vector_verifies_through_the_url_policy() -> None:
    fetched: list[str] = []
    source = UrlPolicy(fetch=lambda url: fetched.append(url) or SANDBOX_PEM)
    trust = paypal.Trust(certificates=source, roots=sandbox_trust().roots)
    paypal.verify(V1["body"], V1["headers"], pp_endpoint(V1["webhook_id"]), at(V1), trust=trust)
    assert fetched == [SANDBOX_URL]


def test_official_vector_with_one_extra_byte_fails() -> None:
    with pytest.raises(SignatureInvalid, match="signature"):
        paypal.verify(
            V1["body"] + b" ",
            V1["headers"],
            pp_endpoint(V1["webhook_id"]),
            at(V1),
            trust=sandbox_trust(),
        )


def test_official_vector_is_rejected_as_of_now_as_too_old() -> None:
    with pytest.raises(SignatureInvalid, match="tolerance"):
        paypal.verify(
            V1["body"], V1["headers"], pp_endpoint(V1["webhook_id"]), NOW, trust=sandbox_trust()
        )


def test_official_vector_is_rejected_as_of_now_because_the_certificate_expired() -> None:
    # With the time window opened wide, only the certificate's expiry (checked at now) refuses it.
    wide = pp_endpoint(V1["webhook_id"], tolerance=10**10)
    with pytest.raises(SignatureInvalid, match="valid now"):
        paypal.verify(V1["body"], V1["headers"], wide, NOW, trust=sandbox_trust())


def test_sha1_auth_algo_is_refused() -> None:
    headers = {**V1["headers"], "paypal-auth-algo": "SHA1withRSA"}
    with pytest.raises(SignatureInvalid, match="algorithm"):
        paypal.verify(
            V1["body"], headers, pp_endpoint(V1["webhook_id"]), at(V1), trust=sandbox_trust()
        )


def test_other_webhook_id_is_signature_invalid() -> None:
    with pytest.raises(SignatureInvalid, match="signature"):
        paypal.verify(
            V1["body"], V1["headers"], pp_endpoint("OTHERWEBHOOK"), at(V1), trust=sandbox_trust()
        )


# --- header failure modes (generated chain) ----------------------------------------------------


def full_chain_trust() -> paypal.Trust:
    root, mid, leaf = hierarchy()
    return chain_trust(pem(leaf, mid), root)


def test_generated_chain_verifies() -> None:
    paypal.verify(BODY, signed(BODY), pp_endpoint(), NOW, trust=full_chain_trust())


@pytest.mark.parametrize("missing", paypal.signature_headers)
def test_each_missing_header_is_signature_missing(missing: str) -> None:
    headers = signed(BODY)
    del headers[missing]
    with pytest.raises(SignatureMissing):
        paypal.verify(BODY, headers, pp_endpoint(), NOW, trust=full_chain_trust())


def test_transmission_time_that_is_not_rfc3339_is_signature_missing() -> None:
    headers = {**signed(BODY), "paypal-transmission-time": "yesterday"}
    with pytest.raises(SignatureMissing):
        paypal.verify(BODY, headers, pp_endpoint(), NOW, trust=full_chain_trust())


def test_signature_that_is_not_base64_is_signature_missing() -> None:
    headers = {**signed(BODY), "paypal-transmission-sig": "not base64!"}
    with pytest.raises(SignatureMissing):
        paypal.verify(BODY, headers, pp_endpoint(), NOW, trust=full_chain_trust())


def test_too_old_is_signature_invalid() -> None:
    with pytest.raises(SignatureInvalid, match="tolerance"):
        paypal.verify(
            BODY, signed(BODY, when=NOW - 301), pp_endpoint(), NOW, trust=full_chain_trust()
        )


def test_too_far_in_the_future_is_signature_invalid() -> None:
    with pytest.raises(SignatureInvalid, match="tolerance"):
        paypal.verify(
            BODY, signed(BODY, when=NOW + 301), pp_endpoint(), NOW, trust=full_chain_trust()
        )


def test_tampered_body_is_signature_invalid() -> None:
    with pytest.raises(SignatureInvalid, match="signature"):
        paypal.verify(BODY + b"\n", signed(BODY), pp_endpoint(), NOW, trust=full_chain_trust())


def test_endpoint_without_webhook_id_is_signature_invalid() -> None:
    with pytest.raises(SignatureInvalid, match="webhook_id"):
        paypal.verify(BODY, signed(BODY), pp_endpoint(None), NOW, trust=full_chain_trust())


# --- certificate failure modes -----------------------------------------------------------------


def test_missing_intermediate_does_not_chain() -> None:
    root, _, leaf = hierarchy()
    with pytest.raises(SignatureInvalid, match="chain"):
        paypal.verify(BODY, signed(BODY), pp_endpoint(), NOW, trust=chain_trust(pem(leaf), root))


def test_untrusted_root_does_not_chain() -> None:
    _, mid, leaf = hierarchy()
    stranger = make_cert(
        "Other Root", rsa.generate_private_key(public_exponent=65537, key_size=2048), ca=True
    )
    with pytest.raises(SignatureInvalid, match="chain"):
        paypal.verify(
            BODY, signed(BODY), pp_endpoint(), NOW, trust=chain_trust(pem(leaf, mid), stranger)
        )


def test_no_configured_root_is_signature_invalid() -> None:
    _, mid, leaf = hierarchy()
    with pytest.raises(SignatureInvalid, match="root"):
        paypal.verify(BODY, signed(BODY), pp_endpoint(), NOW, trust=chain_trust(pem(leaf, mid)))


def test_certificate_not_naming_paypal_is_signature_invalid() -> None:
    leaf = make_cert("webhooks.example.com", rsa_key(), org="Example Corp")
    with pytest.raises(SignatureInvalid, match="name PayPal"):
        paypal.verify(BODY, signed(BODY), pp_endpoint(), NOW, trust=chain_trust(pem(leaf), leaf))


def test_production_needs_a_paypal_com_name_not_just_the_word() -> None:
    leaf = make_cert("paypal-lookalike.example.com", rsa_key(), org="Paypal Fans LLC")
    trust = chain_trust(pem(leaf), leaf)
    with pytest.raises(SignatureInvalid, match="name PayPal"):
        paypal.verify(BODY, signed(BODY), pp_endpoint(), NOW, trust=trust)
    relaxed = paypal.Trust(trust.certificates, trust.roots, require_paypal_domain=False)
    paypal.verify(BODY, signed(BODY), pp_endpoint(), NOW, trust=relaxed)


def test_certificate_not_yet_valid_at_transmission_is_signature_invalid() -> None:
    leaf = make_cert("messageverificationcerts.paypal.com", rsa_key(), start=NOW + 60)
    with pytest.raises(SignatureInvalid, match="transmission time"):
        paypal.verify(BODY, signed(BODY), pp_endpoint(), NOW, trust=chain_trust(pem(leaf), leaf))


def test_certificate_that_is_not_pem_is_signature_invalid() -> None:
    with pytest.raises(SignatureInvalid, match="parsed"):
        paypal.verify(BODY, signed(BODY), pp_endpoint(), NOW, trust=chain_trust(b"garbage"))


def test_certificate_with_an_ec_key_is_signature_invalid() -> None:
    leaf = make_cert("messageverificationcerts.paypal.com", ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(SignatureInvalid, match="RSA"):
        paypal.verify(BODY, signed(BODY), pp_endpoint(), NOW, trust=chain_trust(pem(leaf), leaf))


def test_certificate_fetch_failure_is_transient() -> None:
    def unreachable(url: str) -> bytes:
        raise CertFetchFailed("The PayPal certificate could not be fetched.")

    trust = paypal.Trust(certificates=UrlPolicy(fetch=unreachable), roots=hierarchy()[:1])
    with pytest.raises(CertFetchFailed):
        paypal.verify(BODY, signed(BODY), pp_endpoint(), NOW, trust=trust)


def test_installed_trust_is_the_default() -> None:
    paypal.install(full_chain_trust())
    try:
        paypal.verify(BODY, signed(BODY), pp_endpoint(), NOW)
    finally:
        paypal.install(None)


# --- the URL policy ----------------------------------------------------------------------------


def policy(dev_dir: Path | None = None) -> tuple[UrlPolicy, list[str]]:
    fetched: list[str] = []
    return UrlPolicy(fetch=lambda url: fetched.append(url) or b"pem", dev_dir=dev_dir), fetched


HOSTS = endpoint("paypal", webhook_id="W", cert_hosts=("api.paypal.com", "127.0.0.1"))


@pytest.mark.parametrize(
    "url",
    [
        "https://api.paypal.com/v1/notifications/certs/CERT-1",
        "https://API.PayPal.com:443/v1/notifications/certs/CERT-1",
    ],
)
def test_allowed_https_urls_are_fetched_as_rebuilt(url: str) -> None:
    source, fetched = policy()
    assert source.get(url, HOSTS) == b"pem"
    assert fetched == ["https://api.paypal.com/v1/notifications/certs/CERT-1"]


@pytest.mark.parametrize(
    "url",
    [
        "http://api.paypal.com/v1/notifications/certs/CERT-1",
        "https://evil.example.com/v1/notifications/certs/CERT-1",
        "https://api.paypal.com.evil.example.com/v1/notifications/certs/CERT-1",
        "https://user:pw@api.paypal.com/v1/notifications/certs/CERT-1",
        "https://api.paypal.com@evil.example.com/v1/notifications/certs/CERT-1",
        "https://api.paypal.com:8443/v1/notifications/certs/CERT-1",
        "https://127.0.0.1/v1/notifications/certs/CERT-1",
        "https://[::1]/v1/notifications/certs/CERT-1",
        "https://api.paypal.com/v1/oauth2/token",
        "https://[api.paypal.com/v1/notifications/certs/CERT-1",
        "https://api.paypal.com:notaport/v1/notifications/certs/CERT-1",
        "https://api.paypal.com/v1/notifications/certs/CERT 1",
        "gopher://api.paypal.com/v1/notifications/certs/CERT-1",
        "file:///etc/passwd",
        "",
    ],
)
def test_disallowed_urls_are_refused_without_a_request(url: str) -> None:
    source, fetched = policy()
    with pytest.raises(SignatureInvalid):
        source.get(url, HOSTS)
    assert fetched == []


def test_dev_mode_reads_file_urls_under_the_dev_dir_only(tmp_path: Path) -> None:
    cert = paypal.write_dev_certificate(tmp_path / "paypal")
    (tmp_path.parent / "outside.pem").write_bytes(b"x")
    source, fetched = policy(dev_dir=tmp_path)
    assert source.get(cert.as_uri(), HOSTS) == cert.read_bytes()
    for url in [
        (tmp_path.parent / "outside.pem").as_uri(),
        (tmp_path / "paypal" / ".." / ".." / "outside.pem").as_uri(),
        f"file://otherhost{cert}",
    ]:
        with pytest.raises(SignatureInvalid):
            source.get(url, HOSTS)
    with pytest.raises(CertFetchFailed):
        source.get((tmp_path / "missing.pem").as_uri(), HOSTS)
    assert fetched == []


# --- the cache ---------------------------------------------------------------------------------


def counting_fetch() -> tuple[Callable[[str], bytes], list[str]]:
    calls: list[str] = []

    def fetch(url: str) -> bytes:
        calls.append(url)
        return url.encode()

    return fetch, calls


def test_cache_keeps_entries_for_the_ttl_then_refetches() -> None:
    fetch, calls = counting_fetch()
    clock = [0.0]
    cached = CachedFetch(fetch, ttl_seconds=60, clock=lambda: clock[0])
    assert cached("a") == cached("a") == b"a"
    clock[0] = 61
    cached("a")
    assert calls == ["a", "a"]


def test_cache_is_bounded_and_evicts_the_least_recently_used() -> None:
    fetch, calls = counting_fetch()
    cached = CachedFetch(fetch, max_entries=2, clock=lambda: 0.0)
    cached("a"), cached("b"), cached("a"), cached("c"), cached("a"), cached("b")
    assert calls == ["a", "b", "c", "b"]


def test_cache_never_keeps_longer_than_a_day() -> None:
    with pytest.raises(ValueError):
        CachedFetch(counting_fetch()[0], ttl_seconds=86401)


def test_cache_does_not_keep_failures() -> None:
    attempts: list[str] = []

    def flaky(url: str) -> bytes:
        attempts.append(url)
        if len(attempts) == 1:
            raise CertFetchFailed("The PayPal certificate could not be fetched.")
        return b"pem"

    cached = CachedFetch(flaky, clock=lambda: 0.0)
    with pytest.raises(CertFetchFailed):
        cached("a")
    assert cached("a") == b"pem"


# --- dev certificate and signing ---------------------------------------------------------------


def test_dev_certificate_is_idempotent_and_named_paypal_dev(tmp_path: Path) -> None:
    cert_path = paypal.write_dev_certificate(tmp_path)
    first = (cert_path.read_bytes(), (tmp_path / "key.pem").read_bytes())
    assert paypal.write_dev_certificate(tmp_path) == cert_path
    assert (cert_path.read_bytes(), (tmp_path / "key.pem").read_bytes()) == first
    cert = x509.load_pem_x509_certificate(first[0])
    common = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert "PayPal dev" in str(common)
    assert (tmp_path / "key.pem").stat().st_mode & 0o077 == 0


def test_dev_headers_verify_in_dev_mode_only(tmp_path: Path) -> None:
    now = time.time()
    headers = paypal.dev_headers(BODY, cert_dir=tmp_path / "paypal", webhook_id="DEV-1", now=now)
    assert headers["paypal-cert-url"].startswith("file://")
    dev = pp_endpoint("DEV-1")
    paypal.verify(BODY, headers, dev, now, trust=paypal.dev_trust(tmp_path))
    with pytest.raises(SignatureInvalid, match="dev mode"):
        paypal.verify(BODY, headers, dev, now, trust=paypal.Trust(UrlPolicy(fetch=bytes), ()))
    with pytest.raises(SignatureInvalid, match="signature"):
        paypal.verify(BODY + b" ", headers, dev, now, trust=paypal.dev_trust(tmp_path))


def test_dev_mode_does_not_trust_another_self_signed_certificate(tmp_path: Path) -> None:
    paypal.write_dev_certificate(tmp_path / "paypal")
    other = tmp_path / "other"
    now = time.time()
    headers = paypal.dev_headers(BODY, cert_dir=other, webhook_id="DEV-1", now=now)
    with pytest.raises(SignatureInvalid, match="chain"):
        paypal.verify(BODY, headers, pp_endpoint("DEV-1"), now, trust=paypal.dev_trust(tmp_path))


# --- event id and mapping ----------------------------------------------------------------------


def test_event_id_is_the_body_id_then_the_transmission_id() -> None:
    assert paypal.event_id(V1["body"], V1["headers"]) == "WH-0G2756385H040842W-5Y612302CV158622M"
    assert paypal.event_id(b"{}", V1["headers"]) == "dfb3be50-fd74-11e4-8bf3-77339302725b"
    assert paypal.event_id(b"nope", {}) is None


@pytest.mark.parametrize(
    ("vector", "payment_id", "amount"),
    [(V1, "4EU7004268015634R", 2000), (V2, "8RS6210148826604N", 601)],
    ids=["v1-2015", "v2-2016"],
)
def test_official_legacy_sale_events_normalize(
    vector: dict[str, Any], payment_id: str, amount: int
) -> None:
    event = one(paypal.normalize(vector["body"], META))
    assert (event.type, event.payment_id, event.amount, event.currency) == (
        "payment.succeeded",
        payment_id,
        amount,
        "USD",
    )
    assert event.provider_event_id == json.loads(vector["body"])["id"]
    assert event.status == "completed"


def test_authorization_created_is_authorized_on_the_authorization_id() -> None:
    body = paypal_event("PAYMENT.AUTHORIZATION.CREATED", "authorization", paypal_authorization())
    event = one(paypal.normalize(body, META))
    assert (event.type, event.payment_id, event.amount, event.currency) == (
        "payment.authorized",
        "0VF52814937998046",
        1000,
        "JPY",
    )


@pytest.mark.parametrize(
    ("event_type", "status", "expected"),
    [
        ("PAYMENT.CAPTURE.COMPLETED", "COMPLETED", "payment.succeeded"),
        ("PAYMENT.CAPTURE.DENIED", "DECLINED", "payment.failed"),
        ("PAYMENT.CAPTURE.DECLINED", "DECLINED", "payment.failed"),
        ("PAYMENT.CAPTURE.PENDING", "PENDING", "other"),
    ],
)
def test_capture_events(event_type: str, status: str, expected: str) -> None:
    event = one(paypal.normalize(paypal_event(event_type, "capture", paypal_capture(status)), META))
    assert (event.type, event.payment_id, event.amount) == (expected, "2GG279541U471931P", 1099)
    assert (event.status, event.account) == (status.lower(), "7KNGBPH2U58GQ")
    assert event.occurred_at == "2024-05-01T11:59:58.123000Z"


def test_capture_refunded_points_at_the_capture_from_the_up_link() -> None:
    event = one(
        paypal.normalize(paypal_event("PAYMENT.CAPTURE.REFUNDED", "refund", paypal_refund()), META)
    )
    assert (event.type, event.payment_id) == ("refund.succeeded", "2GG279541U471931P")
    assert (event.amount, event.amount_refunded) == (100, 300)


def test_refund_without_up_link_has_no_payment_id() -> None:
    resource = paypal_refund(total_refunded=None)
    resource["links"] = resource["links"][:1]
    event = one(
        paypal.normalize(paypal_event("PAYMENT.CAPTURE.REFUNDED", "refund", resource), META)
    )
    assert (event.payment_id, event.amount_refunded) == (None, None)


def test_dispute_created_is_opened_on_the_seller_transaction() -> None:
    body = paypal_event("CUSTOMER.DISPUTE.CREATED", "dispute", paypal_dispute("OPEN"))
    event = one(paypal.normalize(body, META))
    assert (event.type, event.payment_id, event.amount, event.status) == (
        "dispute.opened",
        "2GG279541U471931P",
        1099,
        "open",
    )


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        ("RESOLVED_SELLER_FAVOUR", "dispute.won"),
        ("CANCELED_BY_BUYER", "dispute.won"),
        ("RESOLVED_BUYER_FAVOUR", "dispute.lost"),
        ("RESOLVED_WITH_PAYOUT", "dispute.lost"),
        (None, "dispute.lost"),
    ],
)
def test_dispute_resolved_by_outcome(outcome: str | None, expected: str) -> None:
    body = paypal_event("CUSTOMER.DISPUTE.RESOLVED", "dispute", paypal_dispute("RESOLVED", outcome))
    assert one(paypal.normalize(body, META)).type == expected


def test_dispute_updated_and_unknown_events() -> None:
    updated = paypal_event("CUSTOMER.DISPUTE.UPDATED", "dispute", paypal_dispute("UNDER_REVIEW"))
    order = paypal_event("CHECKOUT.ORDER.APPROVED", "checkout-order", {"id": "5O190127TN364715T"})
    assert one(paypal.normalize(updated, META)).type == "dispute.updated"
    assert (
        one(paypal.normalize(order, META)).type,
        one(paypal.normalize(order, META)).payment_id,
    ) == ("other", None)


@pytest.mark.parametrize(
    ("currency", "value", "minor"),
    [
        ("HUF", "100", 10000),
        ("TWD", "30", 3000),
        ("JPY", "1000", 1000),
        ("KWD", "5.125", 5125),
        ("USD", "10.5", 1050),
    ],
)
def test_paypal_decimal_amounts(currency: str, value: str, minor: int) -> None:
    body = paypal_event(
        "PAYMENT.CAPTURE.COMPLETED", "capture", paypal_capture("COMPLETED", value, currency)
    )
    event = one(paypal.normalize(body, META))
    assert (event.amount, event.currency) == (minor, currency)


@pytest.mark.parametrize("value", ["10.999", "1e5", " 10.00", "1_000", "NaN", 10.99, 1099])
def test_amounts_that_are_not_exact_plain_decimals_are_refused(value: Any) -> None:
    capture = paypal_capture("COMPLETED")
    capture["amount"]["value"] = value
    with pytest.raises(AmountNotExact):
        paypal.normalize(paypal_event("PAYMENT.CAPTURE.COMPLETED", "capture", capture), META)


def test_event_without_create_time_is_payload_invalid() -> None:
    with pytest.raises(PayloadInvalid):
        paypal.normalize(
            b'{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{}}', META
        )


# --- robustness --------------------------------------------------------------------------------

FUZZ_TRUST = paypal.Trust(
    certificates=UrlPolicy(
        fetch=lambda url: b"not a certificate", dev_dir=Path("/nonexistent-paypipe")
    ),
    roots=tuple(x509.load_pem_x509_certificates(SANDBOX_PEM)),
)


def mutated_headers() -> st.SearchStrategy[dict[str, str]]:
    """The vector's headers with some values replaced or dropped."""
    return st.fixed_dictionaries(
        {}, optional={k: st.just(v) | header_text for k, v in V1["headers"].items()}
    )


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=200) | st.just(V1["body"]) | shaped(json.loads(BODY)),
    given_headers=headers_for(paypal.signature_headers) | mutated_headers(),
    now=st.sampled_from([at(V1), NOW]) | st.floats(allow_nan=False),
)
def test_arbitrary_input_raises_only_pipeline_errors(
    body: bytes, given_headers: dict[str, str], now: float
) -> None:
    only_pipeline_errors(
        lambda: paypal.verify(
            body, given_headers, pp_endpoint(V1["webhook_id"]), now, trust=FUZZ_TRUST
        ),
        lambda: paypal.normalize(body, META),
        lambda: paypal.event_id(body, given_headers),
    )


@settings(max_examples=200, deadline=None)
@given(resource=shaped(paypal_refund()) | shaped(paypal_dispute("RESOLVED", "X")))
def test_arbitrary_resources_raise_only_pipeline_errors(resource: bytes) -> None:
    only_pipeline_errors(
        *(
            lambda kind=kind: paypal.normalize(paypal_event(kind, "x", json.loads(resource)), META)
            for kind in ("PAYMENT.CAPTURE.REFUNDED", "CUSTOMER.DISPUTE.RESOLVED")
        )
    )


@pytest.fixture(autouse=True)
def _no_installed_trust_leaks() -> Iterator[None]:
    yield
    paypal.install(None)
