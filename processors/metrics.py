"""Processor metrics: stable names, units in the name."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter(
    "paypipe_processor_events", "Records handled, by stage and outcome.", ["stage", "outcome"]
)
VERIFY_SECONDS = Histogram(
    "paypipe_processor_verify_seconds",
    "Time to verify and normalize one record.",
    ["provider"],
    buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1),
)
DUPLICATES = Counter("paypipe_processor_duplicates", "Records dropped as duplicates.", ["provider"])
RETRIES = Counter("paypipe_processor_retries", "Records sent to a retry tier.", ["tier"])
DEAD_LETTERS = Counter(
    "paypipe_processor_dead_letters", "Records sent to the DLQ.", ["stage", "error_class"]
)
REJECTED = Counter(
    "paypipe_processor_rejected", "Records whose signature failed.", ["provider", "reason"]
)
LAG = Gauge("paypipe_processor_consumer_lag", "Records not yet consumed.", ["topic", "partition"])
