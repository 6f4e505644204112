"""Topic names, all under one configurable prefix (`PAYPIPE_TOPIC_PREFIX`, default `payments`)."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_PREFIX = "payments"

# Delays of the retry tiers in seconds: exponential, so a provider outage of hours is ridden out
# before anything reaches the dead-letter topic.
DEFAULT_RETRY_DELAYS: tuple[int, ...] = (5, 30, 120, 600, 3600)


@dataclass(frozen=True, slots=True)
class Topics:
    prefix: str = DEFAULT_PREFIX

    @classmethod
    def from_env(cls) -> Topics:
        return cls(os.environ.get("PAYPIPE_TOPIC_PREFIX", DEFAULT_PREFIX))

    @property
    def raw(self) -> str:
        return f"{self.prefix}.raw"

    @property
    def normalized(self) -> str:
        return f"{self.prefix}.normalized"

    @property
    def rejected(self) -> str:
        return f"{self.prefix}.rejected"

    @property
    def dlq(self) -> str:
        return f"{self.prefix}.dlq"

    def retry(self, delay_seconds: int) -> str:
        """The retry tier topic named by its delay, e.g. `payments.retry.30s`."""
        return f"{self.prefix}.retry.{delay_seconds}s"
