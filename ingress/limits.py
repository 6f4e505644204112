"""Abuse limits at the edge: token buckets per endpoint and per source address.

A request over a limit is answered 429 with the seconds until a token is free as Retry-After.
Per-source buckets are kept for at most `max_sources` addresses (least recently seen dropped
first), so a flood from many addresses cannot grow memory without bound.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(slots=True)
class TokenBucket:
    rate: float  # tokens per second
    burst: float  # bucket size
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """0 when a token was taken; else the seconds until one is free."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass(frozen=True, slots=True)
class Limits:
    endpoint_rate: float  # requests/s per endpoint; 0 turns the limit off
    endpoint_burst: float
    source_rate: float  # requests/s per source address; 0 turns the limit off
    source_burst: float
    max_sources: int = 10_000


class RateLimiter:
    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._endpoints: dict[str, TokenBucket] = {}
        self._sources: OrderedDict[str, TokenBucket] = OrderedDict()

    def check(self, endpoint: str, source: str, now: float) -> int:
        """0 when the request may pass; else the Retry-After seconds (at least 1)."""
        limits = self._limits
        waits = []
        if limits.source_rate > 0:
            bucket = self._sources.get(source)
            if bucket is None:
                bucket = TokenBucket(
                    limits.source_rate, limits.source_burst, limits.source_burst, now
                )
                self._sources[source] = bucket
                if len(self._sources) > limits.max_sources:
                    self._sources.popitem(last=False)
            else:
                self._sources.move_to_end(source)
            waits.append(bucket.take(now))
        if limits.endpoint_rate > 0 and not any(waits):
            bucket = self._endpoints.setdefault(
                endpoint,
                TokenBucket(
                    limits.endpoint_rate, limits.endpoint_burst, limits.endpoint_burst, now
                ),
            )
            waits.append(bucket.take(now))
        wait = max(waits, default=0.0)
        return max(1, math.ceil(wait)) if wait > 0 else 0
