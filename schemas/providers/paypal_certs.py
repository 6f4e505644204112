"""PayPal signing certificates: where they may come from, and whether to trust them.

`UrlPolicy` is the only door to the network: it allows `https://<host>/v1/notifications/certs/…`
on the endpoint's `cert_hosts` (no credentials, no port but 443, no IP literals; the request is
rebuilt from the checked parts, and redirects are refused), and in dev mode only, `file://`
paths under the dev directory. Everything else is a SignatureInvalid, never a request (no SSRF).
`CachedFetch` keeps fetched PEM by URL for at most 24 hours, in a bounded LRU. `Trust` bundles a
source with the roots a certificate must chain to; `check_certificate` applies it (the checks are
listed in `schemas.providers.paypal`'s docstring, steps 5 to 7).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store, VerificationError

from schemas.config import Endpoint
from schemas.errors import CertFetchFailed, SignatureInvalid

Fetch = Callable[[str], bytes]

CERT_PATH_PREFIX = "/v1/notifications/certs/"
MAX_PEM_BYTES = 64 * 1024
MAX_TTL_SECONDS = 24 * 3600


class CertificateSource(Protocol):
    """Gives the PEM (leaf first, then any intermediates) that a PAYPAL-CERT-URL names."""

    def get(self, url: str, endpoint: Endpoint) -> bytes:
        """The PEM bytes; SignatureInvalid for a URL that is not allowed, CertFetchFailed when
        an allowed URL cannot be read now."""
        ...


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """A CertificateSource that checks the URL first, then fetches (https) or reads (dev file)."""

    fetch: Fetch
    dev_dir: Path | None = None  # set only in dev mode: file:// under it is allowed

    def get(self, url: str, endpoint: Endpoint) -> bytes:
        if not url.isascii() or not url.isprintable() or " " in url:
            raise SignatureInvalid("The PayPal certificate URL holds characters a URL cannot.")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise SignatureInvalid("The PayPal certificate URL is not a valid URL.") from exc
        scheme = parts.scheme.lower()
        if scheme == "file":
            return self._dev_file(parts.netloc, parts.path)
        if scheme != "https":
            raise SignatureInvalid("The PayPal certificate URL must use https.")
        if parts.username is not None or parts.password is not None:
            raise SignatureInvalid("The PayPal certificate URL must not carry credentials.")
        if port not in (None, 443):
            raise SignatureInvalid("The PayPal certificate URL must use port 443.")
        host = (parts.hostname or "").lower()
        if _is_ip(host):
            raise SignatureInvalid("The PayPal certificate URL must name a host, not an address.")
        if host not in {h.lower() for h in endpoint.cert_hosts}:
            raise SignatureInvalid("The PayPal certificate URL's host is not an allowed cert host.")
        if not parts.path.startswith(CERT_PATH_PREFIX) or "/../" in parts.path:
            raise SignatureInvalid("The PayPal certificate URL's path is not PayPal's cert path.")
        query = f"?{parts.query}" if parts.query else ""
        return self.fetch(f"https://{host}{parts.path}{query}")

    def _dev_file(self, netloc: str, path: str) -> bytes:
        if self.dev_dir is None:
            raise SignatureInvalid("file:// certificate URLs are accepted only in dev mode.")
        if netloc not in ("", "localhost"):
            raise SignatureInvalid("A file:// certificate URL must not name a host.")
        try:
            target = Path(urllib.request.url2pathname(path)).resolve()
        except (OSError, ValueError) as exc:
            raise SignatureInvalid("The file:// certificate URL is not a usable path.") from exc
        if not target.is_relative_to(self.dev_dir.resolve()):
            raise SignatureInvalid("A file:// certificate URL must point under the dev directory.")
        try:
            with target.open("rb") as handle:
                return handle.read(MAX_PEM_BYTES)
        except OSError as exc:
            raise CertFetchFailed("The dev PayPal certificate could not be read.") from exc


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect could lead anywhere; the URL policy was checked for this URL only."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def fetch_https(url: str, timeout: float = 5.0) -> bytes:
    """GET `url` (allowed by UrlPolicy) over verified TLS; CertFetchFailed on any failure."""
    opener = urllib.request.build_opener(
        _NoRedirect, urllib.request.HTTPSHandler(context=ssl.create_default_context())
    )
    try:
        # The scheme is https by construction: UrlPolicy rebuilt the URL from checked parts.
        with opener.open(url, timeout=timeout) as response:
            if response.status != 200:
                raise CertFetchFailed("The PayPal certificate URL did not answer 200.")
            pem: bytes = response.read(MAX_PEM_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise CertFetchFailed("The PayPal certificate could not be fetched.") from exc
    if len(pem) > MAX_PEM_BYTES:
        raise CertFetchFailed("The PayPal certificate response is larger than a certificate.")
    try:
        x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        # A truncated download looks like this too; worth another try later.
        raise CertFetchFailed("The PayPal certificate response is not PEM.") from exc
    return pem


class CachedFetch:
    """Wraps a Fetch with a thread-safe LRU of at most `max_entries` URLs, each kept `ttl_seconds`
    (at most 24 hours, what PayPal's cert responses allow with `max-age=86400`)."""

    def __init__(
        self,
        fetch: Fetch = fetch_https,
        *,
        max_entries: int = 64,
        ttl_seconds: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < ttl_seconds <= MAX_TTL_SECONDS:
            raise ValueError("ttl_seconds must be positive and at most 24 hours")
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._fetch, self._max, self._ttl, self._clock = fetch, max_entries, ttl_seconds, clock
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, url: str) -> bytes:
        now = self._clock()
        with self._lock:
            hit = self._entries.get(url)
            if hit is not None and hit[0] > now:
                self._entries.move_to_end(url)
                return hit[1]
        pem = self._fetch(url)  # outside the lock: one slow fetch must not stall the others
        with self._lock:
            self._entries[url] = (now + self._ttl, pem)
            self._entries.move_to_end(url)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return pem


def system_roots() -> tuple[x509.Certificate, ...]:
    """The platform's CA bundle (OpenSSL's default file, else certifi's), as trust roots."""
    candidates = [ssl.get_default_verify_paths().cafile, os.environ.get("SSL_CERT_FILE")]
    try:
        import certifi

        candidates.append(certifi.where())
    except ImportError:
        pass
    for path in candidates:
        if path and Path(path).is_file():
            try:
                return tuple(x509.load_pem_x509_certificates(Path(path).read_bytes()))
            except ValueError:
                continue
    return ()


@dataclass(frozen=True, slots=True)
class Trust:
    """Where certificates come from and what they must chain to."""

    certificates: CertificateSource
    roots: tuple[x509.Certificate, ...] = ()
    # Dev mode: the certificate at this path is an extra root, re-read when it changes.
    dev_root: Path | None = None
    require_paypal_domain: bool = True


def production_trust(roots: tuple[x509.Certificate, ...] | None = None) -> Trust:
    """https on cert_hosts through a bounded 1-hour cache; the platform's CA bundle as roots."""
    return Trust(
        certificates=UrlPolicy(fetch=CachedFetch()),
        roots=system_roots() if roots is None else roots,
    )


def dev_trust(dev_dir: Path, cert_dir: Path | None = None) -> Trust:
    """Dev mode: `file://` under `dev_dir` is allowed and the dev certificate is its own root."""
    certs = cert_dir if cert_dir is not None else dev_dir / "paypal"
    return Trust(
        certificates=UrlPolicy(fetch=CachedFetch(), dev_dir=dev_dir),
        dev_root=certs / "cert.pem",
        require_paypal_domain=False,
    )


def check_certificate(
    pem: bytes, trust: Trust, sent_at: dt.datetime, now: dt.datetime
) -> rsa.RSAPublicKey:
    """The leaf's RSA key once steps 5 to 7 of `schemas.providers.paypal`'s docstring pass;
    else SignatureInvalid."""
    try:
        certificates = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise SignatureInvalid("The PayPal certificate could not be parsed.") from exc
    leaf, intermediates = certificates[0], certificates[1:]
    if not leaf.not_valid_before_utc <= sent_at <= leaf.not_valid_after_utc:
        raise SignatureInvalid("The PayPal certificate was not valid at the transmission time.")
    try:
        named = _names_paypal(leaf, trust.require_paypal_domain)
    except ValueError as exc:  # cryptography parses names and extensions lazily
        raise SignatureInvalid("The PayPal certificate's names cannot be read.") from exc
    if not named:
        raise SignatureInvalid("The PayPal certificate does not name PayPal.")
    roots = trust.roots + _dev_roots(trust.dev_root)
    if not roots:
        raise SignatureInvalid("No trusted root is configured for PayPal certificates.")
    verifier = (
        PolicyBuilder()
        .store(Store(list(roots)))
        .time(now.replace(tzinfo=None))
        .extension_policies(
            ca_policy=ExtensionPolicy.webpki_defaults_ca(),
            # PayPal's signing certificate is not a TLS client or server: no EKU or SAN demanded.
            ee_policy=ExtensionPolicy.permit_all(),
        )
        .build_client_verifier()
    )
    try:
        verifier.verify(leaf, intermediates)
    except VerificationError as exc:
        raise SignatureInvalid(
            "The PayPal certificate does not chain to a trusted root valid now."
        ) from exc
    try:
        key = leaf.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SignatureInvalid("The PayPal certificate's key cannot be read.") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureInvalid("The PayPal certificate's key is not RSA.")
    return key


def _names_paypal(cert: x509.Certificate, require_domain: bool) -> bool:
    def values(oid: x509.ObjectIdentifier) -> list[str]:
        return [str(a.value).lower() for a in cert.subject.get_attributes_for_oid(oid)]

    common, orgs = values(NameOID.COMMON_NAME), values(NameOID.ORGANIZATION_NAME)
    if not any("paypal" in v for v in common + orgs):
        return False
    if not require_domain:
        return True
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        dns = [d.lower() for d in sans.value.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        dns = []
    return any(n == "paypal.com" or n.endswith(".paypal.com") for n in common + dns)


def _dev_roots(path: Path | None) -> tuple[x509.Certificate, ...]:
    if path is None:
        return ()
    try:
        stat = path.stat()
    except OSError:
        return ()
    return _load_roots(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _load_roots(path: Path, mtime_ns: int, size: int) -> tuple[x509.Certificate, ...]:
    try:
        return tuple(x509.load_pem_x509_certificates(path.read_bytes()))
    except (OSError, ValueError):
        return ()


def write_dev_certificate(directory: Path) -> Path:
    """Create a dev RSA key and a self-signed certificate named "PayPal dev" at
    `directory/key.pem` and `directory/cert.pem` unless both exist; returns the certificate path.

    For development and tests only: it makes paypipe verify PayPal-style signatures offline.
    """
    directory.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = directory / "key.pem", directory / "cert.pem"
    if key_path.is_file() and cert_path.is_file():
        return cert_path
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "PayPal dev webhook signer (paypipe)"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PayPal dev (paypipe, not PayPal)"),
        ]
    )
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_atomically(key_path, key_pem, mode=0o600)
    _write_atomically(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return cert_path


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)
