"""Token buckets per endpoint and per source: 429 with an honest Retry-After, bounded memory."""

from __future__ import annotations

from ingress.limits import Limits, RateLimiter


def test_a_source_over_its_rate_waits_and_others_pass() -> None:
    limiter = RateLimiter(Limits(endpoint_rate=0, endpoint_burst=0, source_rate=2, source_burst=2))
    assert [limiter.check("stripe", "10.0.0.1", 0.0) for _ in range(3)] == [0, 0, 1]
    assert limiter.check("stripe", "10.0.0.2", 0.0) == 0
    assert limiter.check("stripe", "10.0.0.1", 0.5) == 0  # half a second refills one token at 2/s


def test_an_endpoint_over_its_rate_is_limited_whatever_the_source() -> None:
    limiter = RateLimiter(Limits(endpoint_rate=1, endpoint_burst=1, source_rate=0, source_burst=0))
    assert limiter.check("stripe", "a", 0.0) == 0
    assert limiter.check("stripe", "b", 0.0) == 1
    assert limiter.check("paypal", "b", 0.0) == 0  # endpoints have their own buckets


def test_retry_after_counts_whole_seconds_until_a_token() -> None:
    limiter = RateLimiter(
        Limits(endpoint_rate=0.1, endpoint_burst=1, source_rate=0, source_burst=0)
    )
    limiter.check("e", "s", 0.0)
    assert limiter.check("e", "s", 0.0) == 10


def test_limits_off_never_limit() -> None:
    limiter = RateLimiter(Limits(0, 0, 0, 0))
    assert all(limiter.check("e", "s", 0.0) == 0 for _ in range(10_000))


def test_source_buckets_are_bounded() -> None:
    limiter = RateLimiter(Limits(0, 0, source_rate=1, source_burst=1, max_sources=100))
    for n in range(10_000):
        limiter.check("e", f"10.0.{n // 256}.{n % 256}", 0.0)
    assert len(limiter._sources) == 100
