"""Ingress settings: built once at start-up, frozen, passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ingress.limits import Limits
from schemas.config import Common, load_common


@dataclass(frozen=True, slots=True)
class IngressSettings:
    common: Common
    host: str
    port: int
    max_body_bytes: int
    max_in_flight: int
    send_timeout_seconds: float
    retry_after_seconds: int
    linger_ms: int
    limits: Limits
    body_timeout_seconds: float
    max_header_bytes: int
    source_header: str | None

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> IngressSettings:
        env = os.environ if environ is None else environ
        common = load_common(env)
        section = common.section("ingress")
        return cls(
            common=common,
            host=env.get("INGRESS_HOST", "127.0.0.1"),
            port=int(env.get("INGRESS_PORT", "8080")),
            max_body_bytes=int(section.get("max_body_bytes", 1024 * 1024)),
            max_in_flight=int(section.get("max_in_flight", 10_000)),
            send_timeout_seconds=float(section.get("send_timeout_seconds", 10.0)),
            retry_after_seconds=int(section.get("retry_after_seconds", 5)),
            linger_ms=int(section.get("linger_ms", 2)),
            limits=Limits(
                endpoint_rate=float(section.get("endpoint_rate", 5000)),
                endpoint_burst=float(section.get("endpoint_burst", 10000)),
                source_rate=float(section.get("source_rate", 1000)),
                source_burst=float(section.get("source_burst", 2000)),
                max_sources=int(section.get("max_sources", 10_000)),
            ),
            body_timeout_seconds=float(section.get("body_timeout_seconds", 10.0)),
            max_header_bytes=int(section.get("max_header_bytes", 8190)),
            # Behind a trusted proxy, the header naming the client (e.g. X-Forwarded-For).
            source_header=section.get("source_header") or None,
        )
