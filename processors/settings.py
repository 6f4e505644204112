"""Processor settings: built once at start-up, frozen, passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from schemas.config import Common, load_common
from schemas.topics import DEFAULT_RETRY_DELAYS


@dataclass(frozen=True, slots=True)
class ProcessorSettings:
    common: Common
    app_id: str
    partitions: int
    store: str
    data_dir: Path
    dedupe_window_seconds: int
    retry_delays: tuple[int, ...]
    batch_size: int
    batch_seconds: float
    metrics_host: str
    metrics_port: int
    max_poll_interval_seconds: float
    stream_buffer: int
    session_timeout_seconds: float
    max_poll_records: int
    producer_linger_seconds: float

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> ProcessorSettings:
        env = os.environ if environ is None else environ
        common = load_common(env)
        section = common.section("processor")
        delays = tuple(int(d) for d in section.get("retry_delays_seconds", DEFAULT_RETRY_DELAYS))
        if not delays or any(d <= 0 for d in delays) or list(delays) != sorted(delays):
            raise ValueError("processor.retry_delays_seconds must be positive and growing")
        return cls(
            common=common,
            app_id=env.get("PAYPIPE_PROCESSOR_ID", f"{common.topic_prefix}-processor"),
            partitions=int(env.get("PAYPIPE_PARTITIONS", section.get("partitions", 4))),
            store=env.get("PAYPIPE_PROCESSOR_STORE", str(section.get("store", "rocksdb://"))),
            data_dir=Path(env.get("PAYPIPE_PROCESSOR_DATA", ".local/processor-data")).resolve(),
            dedupe_window_seconds=int(section.get("dedupe_window_seconds", 3 * 24 * 3600)),
            retry_delays=delays,
            batch_size=int(section.get("batch_size", 500)),
            batch_seconds=float(section.get("batch_seconds", 0.01)),
            metrics_host=env.get("METRICS_HOST", "127.0.0.1"),
            metrics_port=int(env.get("PROCESSOR_METRICS_PORT", "6066")),
            max_poll_interval_seconds=float(section.get("max_poll_interval_seconds", 1000.0)),
            stream_buffer=int(section.get("stream_buffer", 20_000)),
            session_timeout_seconds=float(section.get("session_timeout_seconds", 15.0)),
            max_poll_records=int(section.get("max_poll_records", 5_000)),
            producer_linger_seconds=float(section.get("producer_linger_seconds", 0.005)),
        )
