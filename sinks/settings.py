"""Sink settings: built once at start-up, frozen, passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from schemas.config import Common, load_common


@dataclass(frozen=True, slots=True)
class SinkSettings:
    common: Common
    app_id: str
    partitions: int
    batch_size: int
    batch_seconds: float
    metrics_host: str
    metrics_port: int
    stream_buffer: int
    session_timeout_seconds: float
    max_poll_records: int

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> SinkSettings:
        env = os.environ if environ is None else environ
        common = load_common(env)
        section = common.section("sink")
        return cls(
            common=common,
            app_id=env.get("PAYPIPE_SINK_ID", f"{common.topic_prefix}-sink"),
            partitions=int(
                env.get("PAYPIPE_PARTITIONS", common.section("processor").get("partitions", 4))
            ),
            batch_size=int(section.get("batch_size", 2000)),
            batch_seconds=float(section.get("batch_seconds", 0.2)),
            metrics_host=env.get("METRICS_HOST", "127.0.0.1"),
            metrics_port=int(env.get("SINK_METRICS_PORT", "6067")),
            stream_buffer=int(section.get("stream_buffer", 20_000)),
            session_timeout_seconds=float(section.get("session_timeout_seconds", 15.0)),
            max_poll_records=int(section.get("max_poll_records", 5_000)),
        )
